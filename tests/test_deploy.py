"""deploy/: what an operator installs must be sound before it ships.

The systemd unit goes through ``systemd-analyze verify`` (where the tool exists), the
container files are checked for what `docker compose up` relies on, and the
Dockerfile's health check runs against a real /healthz. ``.ci/postgres.sh`` is tested
in test_postgres_server.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
import yaml

from monitor import storage
from monitor.config.durations import parse_duration
from monitor.config.load import load_config
from monitor.metrics import Metrics
from monitor.web import Console, WebServer, create_app

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "monitor.service"
INSTALLED_BINARY = "/opt/monitor/venv/bin/monitor"


def unit_settings(text: str) -> dict[str, list[str]]:
    """A unit file's [Service]/[Unit]/[Install] keys → every value given (keys repeat)."""
    settings: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def seconds(value: str) -> float:
    """systemd time spans used here: ``30s``, ``5min``, ``1m``."""
    return parse_duration(value.replace("min", "m")).total_seconds()


# --- systemd unit ----------------------------------------------------------------


def test_unit_runs_the_daemon_as_notify_service_with_reload_and_upgrade() -> None:
    unit = unit_settings(UNIT.read_text())
    assert unit["Type"] == ["notify"]
    assert unit["NotifyAccess"] == ["main"]
    assert unit["ExecStartPre"][0].split()[:3] == [INSTALLED_BINARY, "db", "upgrade"]
    assert unit["ExecStart"][0].split()[:2] == [INSTALLED_BINARY, "run"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["User"] == ["monitor"]
    assert unit["DynamicUser"] == ["no"]
    assert unit["StateDirectory"] == ["monitor"]
    assert unit["WorkingDirectory"] == ["/var/lib/monitor"]
    assert unit["EnvironmentFile"] == ["-/etc/monitor/monitor.env"]
    assert unit["Restart"] == ["on-failure"]


def test_unit_keeps_the_code_cache_in_a_directory_systemd_makes_writable() -> None:
    """ProtectSystem=strict and ProtectHome leave the daemon no cache of its own (a home
    under /home is hidden): CacheDirectory= makes /var/cache/monitor, theirs alone."""
    unit = unit_settings(UNIT.read_text())
    assert unit["CacheDirectory"] == ["monitor"]
    assert unit["CacheDirectoryMode"] == ["0700"]
    environment = dict(item.partition("=")[::2] for item in unit["Environment"])
    done = subprocess.run(
        [sys.executable, "-c", "from monitor import source_code_cache as c; print(c.cache_file())"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": "/home/monitor", **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()).parent == Path("/var/cache/monitor")


def test_unit_stop_and_watchdog_times_fit_the_daemon() -> None:
    unit = unit_settings(UNIT.read_text())
    # The daemon's shutdown grace is 20 s; systemd must not SIGKILL it before that.
    assert 25 <= seconds(unit["TimeoutStopSec"][0]) <= 60
    # The watchdog is fed while ticks advance: it must outlast three default ticks.
    assert seconds(unit["WatchdogSec"][0]) > 3 * 30


def test_unit_is_hardened() -> None:
    unit = unit_settings(UNIT.read_text())
    expected = {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    }
    for key, value in expected.items():
        assert unit.get(key) == [value], key
    assert set(unit["ReadWritePaths"][0].split()) == {"/var/lib/monitor", "/var/log/monitor"}
    assert unit["SystemCallFilter"][0] == "@system-service"


def verify_unit(text: str, tmp_path: Path) -> list[str]:
    """``systemd-analyze verify`` on ``text`` as monitor.service: its complaints."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    # The installed binary does not exist here; an existing one keeps verify quiet
    # about that and about nothing else.
    true = shutil.which("true") or "/bin/true"
    path = tmp_path / "monitor.service"
    path.write_text(text.replace(INSTALLED_BINARY, true))
    done = subprocess.run(
        [tool, "verify", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    lines = (done.stdout + done.stderr).splitlines()
    complaints = [line for line in lines if "monitor.service" in line]
    if done.returncode != 0:
        complaints.append(f"exit status {done.returncode}")
    return complaints


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    assert verify_unit(UNIT.read_text(), tmp_path) == []


def test_unit_exposure_is_low(tmp_path: Path) -> None:
    """systemd's own hardening score (0 best, 10 worst) stays where we put it."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    path = tmp_path / "monitor.service"
    path.write_text(UNIT.read_text().replace(INSTALLED_BINARY, shutil.which("true") or "/bin/true"))
    done = subprocess.run(
        [tool, "security", "--offline=yes", "--no-pager", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for monitor.service: (\d+\.\d)", done.stdout)
    if found is None:
        pytest.skip(f"this systemd-analyze cannot score unit files offline: {done.stderr[:200]}")
    assert float(found.group(1)) <= 2.0


def test_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSystem=stirct")
    assert verify_unit(broken, tmp_path)


# --- Dockerfile --------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text()
    logical = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    result = []
    for line in logical.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            result.append((instruction.upper(), args.strip()))
    return result


def instructions(name: str) -> list[str]:
    return [args for instruction, args in dockerfile() if instruction == name]


def env_defaults() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instructions("ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def test_dockerfile_runs_as_non_root_on_a_slim_python() -> None:
    (base,) = instructions("FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base)
    users = instructions("USER")
    assert users, "no USER: the daemon would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert instructions("STOPSIGNAL") == ["SIGTERM"]
    assert "stop -t 30" in (DEPLOY / "Dockerfile").read_text()


def test_dockerfile_configuration_takes_database_and_listen_from_env(tmp_path: Path) -> None:
    """The build's sed over config/monitor.yaml yields a valid configuration."""
    (run,) = [args for args in instructions("RUN") if "sed -i -E" in args]
    expressions = re.findall(r"-e '([^']+)'", run)
    assert len(expressions) == 3
    config = tmp_path / "monitor.yaml"
    shutil.copy(ROOT / "config" / "monitor.yaml", config)
    subprocess.run(
        ["sed", "-i", "-E", *(arg for e in expressions for arg in ("-e", e)), str(config)],
        check=True,
    )
    text = config.read_text()
    assert "database: ${MONITOR_DATABASE_URL}" in text
    assert "  listen: ${MONITOR_HTTP_LISTEN}" in text
    loaded = load_config(config, env=env_defaults())  # as `monitor check` in the build
    assert loaded.database == "sqlite:////var/lib/monitor/monitor.db"
    assert loaded.alert_log.startswith("/var/lib/monitor/")
    assert loaded.http.listen == "127.0.0.1:9464"
    assert loaded.feeds and loaded.topics


def healthcheck_command() -> list[str]:
    (args,) = instructions("HEALTHCHECK")
    command = json.loads(args[args.index("CMD") + 3 :].strip())
    assert isinstance(command, list)
    return [str(part) for part in command]


@pytest.mark.parametrize(("healthy", "exit_zero"), [(True, True), (False, False)])
def test_dockerfile_healthcheck_asks_healthz(
    healthy: bool, exit_zero: bool, tmp_path: Path
) -> None:
    command = healthcheck_command()
    assert command[0] == "python"
    assert env_defaults()["MONITOR_HEALTH_URL"] == "http://127.0.0.1:9464/healthz"

    def check() -> tuple[bool, dict[str, object]]:
        return healthy, {} if healthy else {"reason": "database unreachable"}

    engine = storage.open_database(f"sqlite:///{tmp_path / 'monitor.db'}")
    app = create_app(Console(engine=engine, topics=()), check=check, metrics=Metrics())
    try:
        with WebServer("127.0.0.1:0", app) as server:
            env = {**os.environ, "MONITOR_HEALTH_URL": f"{server.url}/healthz"}
            done = subprocess.run(
                [sys.executable, *command[1:]],
                env=env,
                capture_output=True,
                timeout=30,
                check=False,
            )
    finally:
        engine.dispose()
    assert (done.returncode == 0) is exit_zero


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert "*" in lines
    for source in instructions("COPY"):
        for path in source.split()[:-1]:
            assert f"!{path}" in lines or f"!{path}/" in lines, path


# --- docker-compose.yml ------------------------------------------------------------


def compose() -> dict[str, object]:
    loaded = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_postgres_with_a_volume_and_a_healthcheck() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:(16|17|\$\{POSTGRES_VERSION:-1[67]\})", postgres["image"])
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_compose_monitor_waits_for_a_healthy_postgres() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    monitor = services["monitor"]
    assert monitor["depends_on"]["postgres"]["condition"] == "service_healthy"
    url = monitor["environment"]["MONITOR_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in url
    assert (
        ROOT / monitor["build"]["context"].replace("..", ".") / monitor["build"]["dockerfile"]
    ).exists()
    assert seconds(monitor["stop_grace_period"]) >= 25
    assert monitor["stop_signal"] == "SIGTERM"
    assert "ports" not in monitor, "/metrics would be published to the world"
    volumes = compose()["volumes"]
    assert isinstance(volumes, dict)
    assert set(volumes) >= {"pgdata", "monitor-data"}


def test_env_example_is_key_value_only() -> None:
    for number, line in enumerate((DEPLOY / "monitor.env.example").read_text().splitlines(), 1):
        text = line.lstrip("#").strip() if line.startswith("#") else line.strip()
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S.*", text), f"line {number}: {line}"


def test_readme_commands_match_the_unit() -> None:
    readme = (DEPLOY / "README.md").read_text()
    assert INSTALLED_BINARY in readme
    assert "systemctl reload monitor" in readme
    assert "postrotate" in readme
    assert ".backup" in readme
    assert "pg_dump" in readme


# The texts the process compiled itself while the daemon's modules were imported, as
# the container's user (dataclass methods and string annotations the cache did not
# give it go through compile(..., "<string>", ...)).
_COMPILED_AT_START = """
import sys
import sysconfig
import tempfile
compiled = []

def hook(event, args):
    if event == "compile" and args[1] == "<string>":
        compiled.append(1)

sys.addaudithook(hook)
import monitor.service.daemon, monitor.cli
print(len(compiled))
"""


def test_dockerfile_warms_the_code_cache_for_the_runtime_user(tmp_path: Path) -> None:
    """The image's build runs as root with PYTHONDONTWRITEBYTECODE (no container would
    write the cache): the build's own commands make it, readable by the runtime user."""
    (run,) = [args for args in instructions("RUN") if "walk_packages" in args]
    env_defaults_ = env_defaults()
    cache = env_defaults_["XDG_CACHE_HOME"]
    assert env_defaults_["PYTHONDONTWRITEBYTECODE"] == "1" and cache == "/opt/monitor/cache"
    # the same commands, with the image's paths moved here: the venv's binaries (monitor,
    # python) are this interpreter's, the configuration the build's sed makes
    root = Path(tempfile.mkdtemp(prefix="monitor-image-"))
    try:
        root.chmod(0o755)  # the runtime user passes through, as through /opt
        config = root / "monitor.yaml"
        config.write_text(
            (ROOT / "config" / "monitor.yaml")
            .read_text()
            .replace("database: sqlite:///data/monitor.db", "database: ${MONITOR_DATABASE_URL}")
            .replace("alert_log: data/alerts.jsonl", f"alert_log: {root}/alerts.jsonl")
        )
        command = (
            run.replace("/opt/monitor/cache", str(root / "cache"))
            .replace("/etc/monitor/monitor.yaml", str(config))
            .replace("/tmp/warm.db", str(root / "warm.db"))
        )
        python, path = _runtime_python()
        bin_dir = root / "bin"  # the venv's: python, and monitor
        bin_dir.mkdir()
        (bin_dir / "python").symlink_to(python)
        (bin_dir / "monitor").write_text(f'#!/bin/sh\nexec {python} -m monitor "$@"\n')
        (bin_dir / "monitor").chmod(0o755)
        env = {
            **os.environ,
            **env_defaults_,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "XDG_CACHE_HOME": str(root / "cache"),
            "PYTHONPATH": path,
        }
        env.pop("MONITOR_CODE_CACHE", None)
        subprocess.run(["sh", "-c", command], env=env, check=True, timeout=300)
        (kept,) = (root / "cache" / "monitor").glob("compiled.*.marshal")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o644
        assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o755
        assert not (root / "warm.db").exists()

        def start(cache_home: Path) -> int:
            done = subprocess.run(
                [python, "-c", _COMPILED_AT_START],
                env={**env, "XDG_CACHE_HOME": str(cache_home)},
                preexec_fn=_as_runtime_user,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            return int(done.stdout)

        cold, warm = start(root / "none"), start(root / "cache")
        # (a few are compiled anyway: repeats within a process, SQLAlchemy's own)
        assert warm * 4 < cold, (warm, cold)
        assert not (root / "none").exists()  # PYTHONDONTWRITEBYTECODE, as in the image
        assert (root / "cache" / "monitor").stat().st_mtime == kept.parent.stat().st_mtime
    finally:
        shutil.rmtree(root)


def _runtime_python() -> tuple[str, str]:
    """An interpreter the runtime user may run (this one, else the system's of the same
    version when this one lives where only root may go, as a pyenv under /root), and the
    PYTHONPATH that gives it this checkout and its installed dependencies."""
    path = str(ROOT)

    def runs(python: str, path: str) -> bool:
        try:
            done = subprocess.run(
                [python, "-c", "import monitor.cli"],
                env={**os.environ, "PYTHONPATH": path, "MONITOR_CODE_CACHE": "off"},
                preexec_fn=_as_runtime_user,
                capture_output=True,
                timeout=120,
                check=False,
            )
        except OSError:  # not allowed to run it
            return False
        return done.returncode == 0

    if runs(sys.executable, path):
        return sys.executable, path
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin")
    path = os.pathsep.join(
        [path, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    )
    if system is None or not runs(system, path):
        pytest.skip(f"no {version} the runtime user (uid 10001) may run")
    return system, path


def _as_runtime_user() -> None:
    """The image's USER (uid/gid 10001) when the test runs as root, as the build does."""
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(10001)
        os.setuid(10001)
