"""The commands of SPEC.md: parse arguments, call the rest, print, choose exit codes.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration.
No logic lives here beyond reading options and formatting what comes back.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

# Lazy packages: `monitor --help` imports none of the configuration, storage, logging,
# fetching, parsing or web stacks; each command imports what it uses (pinned by
# tests/test_cli_imports.py).
from monitor import storage
from monitor.cli_common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    Group,
    collector_paused,
    common_options,
    echo,
    fail,
    flush_stdout,
    open_engine,
    parse_since,
    read_config,
    show_version,
    stdout_is_tty,
    utf8_stdout,
)
from monitor.errors import MonitorError, StorageError, TermError

if TYPE_CHECKING:
    from monitor.config import Config


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=show_version,
    help="Show the version and exit.",
)
def main() -> None:
    """Watch news feeds for topics and raise alerts (see README.md)."""


@main.command()
@common_options
def check(config_path: Path) -> None:
    """Validate the configuration: a summary, or every problem as FILE:LINE: message."""
    from monitor.config import summarize_config

    config = read_config(config_path, delivers=False, warn=True, channels=True)
    for channel in config.take_channels() or ():  # built to check them; nothing runs them
        channel.close()
    echo(summarize_config(config, config_path))


@main.command()
@common_options
@click.option("--feed", "feeds", multiple=True, help="Poll only this feed (repeatable).")
@click.option(
    "--catch-up",
    is_flag=True,
    help="Store and mark everything current as seen without raising alerts.",
)
def poll(config_path: Path, feeds: tuple[str, ...], catch_up: bool) -> None:
    """One pass over every enabled feed, then exit."""
    with collector_paused():
        app, config = _start_poll(config_path, feeds, catch_up)
        # What is there now (modules, the configuration, the app) lives as long as the
        # process: the collections of the pass need not walk it (they walked the
        # start's objects ~100 times, ~30 ms of an unchanged poll's ~1 s).
        gc.freeze()
    try:
        app.sync_feeds()
        outcomes = app.poll(names=list(feeds) or None)
        app.deliver(due_only=False)
        wanted = list(feeds) or [f.name for f in config.feeds if f.enabled]
        skipped = _skipped(app.db, set(wanted) - {o.feed for o in outcomes})
    except StorageError as exc:
        fail(str(exc))
    finally:
        app.close()
        gc.unfreeze()  # for a caller in the same process (tests)
    from monitor.render import poll_report

    for line in poll_report(outcomes, skipped, catch_up=catch_up):
        echo(line)
    from monitor.teardown import mark_finished

    mark_finished()  # all it opened is closed: the process may end without teardown


def _start_poll(config_path: Path, feeds: tuple[str, ...], catch_up: bool) -> tuple[Any, Config]:
    from monitor.lean import import_without_rich
    from monitor.log import console_lines

    if not console_lines():
        # JSON lines (cron, a pipe, a timer's journal): as `monitor run`, without rich,
        # which only shows tracebacks on a terminal (~0.1 s of a 304-only pass's start).
        # httpx only for a webhook: the fetcher imports it (as lean) only for unusual URLs,
        # redirects and TLS, so an unchanged poll of plain http URLs goes without.
        import_without_rich(("structlog",))
    config = read_config(config_path)
    if not console_lines() and any(channel.webhook for channel in config.notify):
        import_without_rich(("httpx",))
    known = {f.name: f for f in config.feeds}
    for name in feeds:
        if name not in known:
            fail(f"no feed named {name!r} in {config_path}", EXIT_USAGE)
        if not known[name].enabled:
            fail(
                f"feed {name!r} is disabled in {config_path} (enabled: false): not polled",
                EXIT_USAGE,
            )
    return _build(config, catch_up=catch_up, direct=True), config


def _skipped(db: Any, names: set[str]) -> list[tuple[str, str]]:
    """Why enabled feeds a pass left out were not polled.

    A pass claims every enabled feed that is not gone; the one other thing that keeps
    a feed out is a lease held by another process (a running daemon polling it now).
    """
    found = []
    for name in sorted(names):
        state = storage.load_feed_state(db.engine, name)
        if state is not None and state.status == "gone":
            reason = (
                f"gone ({state.last_error or 'HTTP 410'}); polling stopped until its URL changes"
            )
        else:
            reason = "being polled by another worker (a running daemon?); try again later"
        found.append((name, reason))
    return found


def _build(config: Config, **kwargs: Any) -> Any:
    from monitor.service import build_app

    try:
        return build_app(config, **kwargs)
    except StorageError as exc:
        fail(str(exc))
    except (TermError, ValueError) as exc:
        fail(f"invalid configuration: {exc}", EXIT_USAGE)


@main.command()
@common_options
def run(config_path: Path) -> None:
    """The daemon: poll every feed on its schedule until SIGTERM/SIGINT."""
    from monitor.lean import import_without_rich
    from monitor.log import console_lines
    from monitor.service.heap import limit_arenas

    limit_arenas()  # before any thread allocates
    if not console_lines():
        import_without_rich()  # before the service imports structlog and httpx
    from monitor.service import run_daemon

    config = read_config(config_path)
    sys.exit(run_daemon(config, config_path))


@main.command()
@common_options
@click.option("--listen", default=None, help="HOST:PORT to serve on [default: http.listen].")
def web(config_path: Path, listen: str | None) -> None:
    """Serve the read-only web console from the database (no polling)."""

    from monitor.alerts.naming import channel_labels
    from monitor.service.health import parse_listen
    from monitor.web import Console, WebServer, create_app, is_loopback

    config = read_config(config_path, delivers=False)
    address = listen or (config.http.listen if isinstance(config.http.listen, str) else None)
    address = address or "127.0.0.1:9464"
    try:
        host, _ = parse_listen(address)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from None
    if not is_loopback(host) and not config.http.token:
        fail(f"{address} is not a loopback address: set http.token first", EXIT_USAGE)
    engine = open_engine(config)
    console = Console(
        engine=engine,
        topics=tuple(config.topics),
        channels=channel_labels(config.notify),
    )
    server = WebServer(address, create_app(console, token=config.http.token))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        server.start()
    except MonitorError as exc:
        engine.dispose()
        fail(str(exc))
    click.echo(f"monitor: serving the console on {server.url}/ (Ctrl-C stops)", err=True)
    try:
        stop.wait()
    finally:
        server.stop()
        engine.dispose()


@main.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--reset",
    "reset",
    multiple=True,
    metavar="NAME",
    help="Forget this feed's errors (a gone one too) and poll it at the next tick.",
)
def feeds(config_path: Path, as_json: bool, reset: tuple[str, ...]) -> None:
    """Status of every feed: last poll, HTTP status, errors, next poll and why, articles."""
    import shutil

    from monitor.render import feed_json, feed_lines, print_feeds_table

    if as_json:
        utf8_stdout()

    config = read_config(config_path, delivers=False)
    unknown = [n for n in reset if n not in {f.name for f in config.feeds}]
    if unknown:
        fail(f"{config_path} has no feed {', '.join(map(repr, unknown))}", EXIT_USAGE)
    engine = open_engine(config)
    try:
        storage.sync_feeds(engine, config.feed_specs(), datetime.now(UTC))
        for name in reset:
            storage.reset_feed(engine, name, datetime.now(UTC))
            click.echo(f"reset {name}: polled at the next tick", err=True)
        # Disabled feeds too (SPEC: every feed), but only those still configured: the
        # database keeps feeds removed from the file as disabled rows, for their articles.
        configured = {f.name for f in config.feeds}
        statuses = [
            st
            for st in storage.list_feed_status(engine, include_disabled=True)
            if st.spec.name in configured
        ]
    finally:
        engine.dispose()
    if as_json:
        for status in statuses:
            echo(feed_json(status))
    elif stdout_is_tty():
        width = shutil.get_terminal_size((100, 24)).columns
        print_feeds_table(statuses, sys.stdout, color=True, now=datetime.now(UTC), width=width)
    else:
        for line in feed_lines(statuses):
            echo(line)


@main.command()
@common_options
@click.option("--since", default=None, help="Articles fetched since: 2h, 3d, or an ISO time.")
@click.option("--topic", "topic_ids", multiple=True, help="Only this topic (repeatable).")
@click.option("--apply", "apply_", is_flag=True, help="Store the added and dropped matches.")
@click.option(
    "--alert",
    "raise_alerts",
    is_flag=True,
    help="With --apply: raise alerts for the added matches (one per story).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per change.")
def replay(
    config_path: Path,
    since: str | None,
    topic_ids: tuple[str, ...],
    apply_: bool,
    raise_alerts: bool,
    as_json: bool,
) -> None:
    """Re-run the current topics over stored articles: what would be added or dropped."""
    from monitor.render import replay_change
    from monitor.service import alert_policy
    from monitor.types import Document

    if raise_alerts and not apply_:
        fail("--alert only makes sense with --apply", EXIT_USAGE)
    config = read_config(config_path)
    unknown = [t for t in topic_ids if t not in {c.id for c in config.topics}]
    if unknown:
        fail(f"no topic {unknown[0]!r} in {config_path}", EXIT_USAGE)
    now = datetime.now(UTC)
    since_at = parse_since(since, now)
    app = _build(config)
    try:
        wanted = set(topic_ids) or set(app.topics.ids)
        added: list[tuple[storage.StoredArticle, Any]] = []
        dropped: list[tuple[storage.StoredArticle, str]] = []
        scanned = 0
        for stored in storage.iter_stored_articles(app.engine, since=since_at):
            scanned += 1
            found = {
                m.topic: m
                for m in app.topics.match(
                    Document.from_article(stored.article, first_seen=stored.fetched_at),
                    topics=wanted,
                )
            }
            for topic, m in found.items():
                if topic not in stored.topics:
                    added.append((stored, m))
            # a match found in the article's page stands: the page is not stored
            for topic in (stored.topics - stored.from_page) & wanted:
                if topic not in found:
                    dropped.append((stored, topic))
        for sign, stored, topic, terms in [
            ("+", s, m.topic, [e.term for e in m.evidence]) for s, m in added
        ] + [("-", s, t, []) for s, t in dropped]:
            echo(replay_change(sign, stored.article, topic, terms, as_json=as_json))
        alerts = []
        if apply_ and (added or dropped):
            policy = alert_policy(
                config, app.pipeline.compiled_topics, app.channels, raise_alerts=raise_alerts
            )
            policy = replace(policy, max_age=timedelta(days=365 * 100))
            alerts = storage.apply_replay(app.engine, added, dropped, policy, now)
            if alerts:
                app.deliver(due_only=False)
    finally:
        app.close()
    verb = "" if apply_ else "would be "
    summary = (
        f"replayed {scanned} articles: {len(added)} matches {verb}added, "
        f"{len(dropped)} {verb}dropped"
        + (f", {len(alerts)} alerts raised" if apply_ else " (--apply stores them)")
    )
    if as_json:
        click.echo(summary, err=True)  # stdout is the JSON lines'
    else:
        echo(summary)


@main.command()
@common_options
@click.option(
    "--no-dead",
    "revive_dead",
    is_flag=True,
    flag_value=False,
    default=True,
    help="Leave dead letters (deliveries given up) and channels disabled by their "
    "receiver (HTTP 410) alone.",
)
def deliver(config_path: Path, revive_dead: bool) -> None:
    """Attempt every undelivered alert now, and report what still fails.

    Exit 0 when nothing is left undelivered, 1 while some channel still fails.
    """
    from monitor.render import delivery_report

    config = read_config(config_path)
    app = _build(config)
    try:
        summary = app.deliverer.flush(app.now, revive_dead=revive_dead)
        channels = list(app.channels)
        left = {
            app.channels[key].name: value
            for key, value in storage.undelivered(
                app.engine, channels, held=app.deliverer.held_channels()
            ).items()
        }
    except StorageError as exc:
        fail(str(exc))
    finally:
        app.close()
    for line in delivery_report(summary, left):
        echo(line)
    if left:
        sys.exit(EXIT_FAILURE)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@common_options
def db_upgrade(config_path: Path) -> None:
    """Apply schema migrations."""
    from monitor.storage.migrate import schema_revision

    config = read_config(config_path)
    url = storage.redacted(config.database)
    try:
        engine = storage.open_database(config.database, migrate=False)
        try:
            before = schema_revision(engine)
        finally:
            engine.dispose()
        engine = storage.open_database(config.database)
        try:
            after = schema_revision(engine)
        finally:
            engine.dispose()
    except StorageError as exc:
        fail(str(exc))
    if before is None:
        echo(f"database {url}: created, schema {after}")
    elif before != after:
        echo(f"database {url}: upgraded from schema {before} to {after}")
    else:
        echo(f"database {url}: already at the newest schema ({after})")


def _add_commands() -> None:
    from monitor.cli_alerts import alerts
    from monitor.cli_match import match

    main.add_command(alerts)
    main.add_command(match)
    _add_mute_commands()


def _add_mute_commands() -> None:
    from monitor.mute_commands import mute, mutes, unmute

    for command in (mute, unmute, mutes):
        main.add_command(command)


_add_commands()


def run_main() -> None:
    """Entry point translating our errors into exit codes."""
    # pydantic looks for plugins (observability hooks) in every installed package's
    # metadata when it builds the first model: importlib.metadata and a scan of
    # site-packages, ~40-70 ms of every command that reads the configuration. The
    # monitor uses none; an operator who wants one sets the variable (empty: all).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        try:
            main(standalone_mode=True)
        except MonitorError as exc:
            fail(str(exc))
    except SystemExit as exc:
        if not exc.code:
            # what is left in stdout's buffer goes out now, where a failure is told
            # in one line and exit 1 (cli_common.output_failed), not at the exit
            flush_stdout()
        # A finished `monitor poll` ends here, without Python's teardown
        # (monitor.teardown); anything else exits as usual.
        from monitor.teardown import end_process

        end_process(exc.code)
        raise


if __name__ == "__main__":  # pragma: no cover
    run_main()
