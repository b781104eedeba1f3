"""The commands that list stored alerts and mutes read only what they use of the file:
the database, the feeds' names and the topics' ids (:mod:`monitor.config.outline`).

A problem elsewhere (a topic's rule being edited) does not keep an operator from
reading the alerts already stored; `monitor check` still reports it. A problem in what
they do use is reported exactly as every other command reports it.
"""

from __future__ import annotations

import pytest

from monitor.config.outline import load_outline
from monitor.errors import ConfigError


@pytest.fixture
def edited(write_config, cli):
    """A migrated database, then a file whose topic has a mistake (an empty group and
    an unknown key): the state while an operator edits a rule."""
    feeds = [{"name": "wire", "url": "http://127.0.0.1:9/wire.xml"}]
    config = write_config(feeds=feeds, topics=[{"id": "summit", "any": ["Putin"]}])
    assert cli("db", "upgrade", "-c", str(config)).exit_code == 0
    return write_config(
        feeds=feeds, topics=[{"id": "summit", "all": [["Trump"], []], "anyy": ["Putin"]}]
    )


def test_listing_alerts_and_mutes_reads_through_a_problem_it_does_not_use(edited, cli):
    check = cli("check", "-c", str(edited))
    assert check.exit_code == 2 and "topics[0].all[1]: empty group" in check.stderr

    for command in (["alerts", "--limit", "1"], ["alerts", "--json"], ["mutes"]):
        result = cli(*command, "-c", str(edited))
        assert result.exit_code == 0, (command, result.output)
        assert "empty group" not in result.stderr
    # the topic ids still tell a typo from a configured topic
    assert "has no topic" not in cli("alerts", "-c", str(edited), "--topic", "summit").stderr
    muted = cli("mute", "-c", str(edited), "summit", "--for", "1h")
    assert muted.exit_code == 0 and "muted topic summit" in muted.stdout
    assert cli("unmute", "-c", str(edited), "summit").exit_code == 0


@pytest.mark.parametrize(
    ("section", "value"),
    [
        ("database", 5),
        ("database", "not a url"),
        ("feeds", [{"url": "http://127.0.0.1:9/a.xml"}]),  # a feed without a name
        ("topics", [{"id": 7, "any": ["x"]}]),
        ("topics", {"summit": {"any": ["x"]}}),  # a mapping, not a list
    ],
)
def test_a_problem_in_what_they_read_is_reported_as_check_reports_it(
    write_config, cli, section, value
):
    config = write_config(**{section: value})

    check = cli("check", "-c", str(config))
    assert check.exit_code == 2
    for command in (["alerts", "--limit", "1"], ["mutes"], ["unmute", "x"]):
        result = cli(*command, "-c", str(config))
        assert (result.exit_code, result.stderr) == (2, check.stderr), command


def test_the_outline_is_what_the_whole_configuration_says(tmp_path, write_config):
    """Same database URL (normalized), names and ids as :func:`load_config` reads; a
    delivery secret missing from the environment is no problem for it either."""
    from monitor.config import load_config

    config = write_config(
        database=f"sqlite:///{tmp_path}/./m.db",
        feeds=[{"name": "wire", "url": "http://127.0.0.1:9/wire.xml"}],
        notify=[{"webhook": "${HOOK_URL}"}],
    )
    outline = load_outline(config, env={})
    full = load_config(config, env={}, delivers=False)

    assert outline.database == full.database
    assert outline.feed_names == {"wire"}
    assert outline.topic_ids == {t.id for t in full.topics} and outline.topic_ids
    with pytest.raises(ConfigError):
        load_config(config, env={})  # the command that delivers refuses it


def test_reading_problems_are_raised_as_load_config_raises_them(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text("database: ${DB_URL}\nfeeds: [\n", "utf-8")
    from monitor.config import load_config

    with pytest.raises(ConfigError) as outlined:
        load_outline(path, env={})
    with pytest.raises(ConfigError) as loaded:
        load_config(path, env={}, delivers=False)
    assert outlined.value.problems == loaded.value.problems


@pytest.mark.parametrize(
    "database",
    [
        "sqlite:///${DATA_DIR}/m.db",  # a variable not set: not a folder named "${DATA_DIR}"
        "sqlite:///${1DIR}/m.db",  # an invalid reference
    ],
)
def test_a_variable_problem_in_the_database_is_raised_as_load_config_raises_it(
    write_config, cli, database
):
    """The listing commands never open a database the full loader would not name."""
    from monitor.config import load_config

    config = write_config(database=database)
    with pytest.raises(ConfigError) as loaded:
        load_config(config, env={}, delivers=False)
    with pytest.raises(ConfigError) as outlined:
        load_outline(config, env={})
    assert outlined.value.problems == loaded.value.problems
    muted = cli("mute", "-c", str(config), "summit", "--for", "1h")
    assert muted.exit_code == 2 and "DIR" in muted.stderr
    assert not list(config.parent.glob("$*"))  # no database made at the literal path


@pytest.mark.parametrize(
    ("section", "value"),
    [
        ("feeds", [{"name": "the wire", "url": "http://127.0.0.1:9/a.xml"}]),
        ("feeds", [{"name": "w" * 201, "url": "http://127.0.0.1:9/a.xml"}]),
        ("feeds", [{"name": "wire\n", "url": "http://127.0.0.1:9/a.xml"}]),
        ("topics", [{"id": "Summit", "any": ["x"]}]),
        ("topics", [{"id": "summit talks", "any": ["x"]}]),
        ("topics", [{"id": "s" * 101, "any": ["x"]}]),
    ],
)
def test_a_name_or_id_the_configuration_refuses_is_reported_as_check_reports_it(
    write_config, cli, section, value
):
    config = write_config(**{section: value})

    check = cli("check", "-c", str(config))
    assert check.exit_code == 2
    for command in (["alerts", "--limit", "1"], ["mutes"]):
        result = cli(*command, "-c", str(config))
        assert (result.exit_code, result.stderr) == (2, check.stderr), command


def test_the_outline_checks_names_and_ids_as_the_models_do():
    """The outline's patterns and lengths are the configuration models' (written apart
    to spare the listing commands pydantic's import)."""
    from monitor.config import outline
    from monitor.config.schema import FeedConfig
    from monitor.topics.spec import TopicConfig

    def constraints(model: type, field: str) -> set[object]:
        meta = model.model_fields[field].metadata  # type: ignore[attr-defined]
        names = ("pattern", "max_length", "min_length")
        return {(a, getattr(m, a)) for m in meta for a in names if hasattr(m, a)}

    assert constraints(FeedConfig, "name") == {
        ("pattern", outline.FEED_NAME.pattern),
        ("max_length", outline.MAX_FEED_NAME),
        ("min_length", 1),
    }
    assert constraints(TopicConfig, "id") == {
        ("pattern", outline.TOPIC_ID.pattern),
        ("max_length", outline.MAX_TOPIC_ID),
    }
