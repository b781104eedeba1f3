"""`monitor` loads no pydantic plugins: pydantic would otherwise read the metadata of every
installed package for them when it builds the first configuration model, in every
command that validates the file (`poll`, `run`, `check` …). An operator who wants one
sets ``PYDANTIC_DISABLE_PLUGINS`` (empty: every plugin), and that is respected."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_monitor


def plugin_on_path(folder: Path) -> Path:
    """A package declaring a pydantic plugin whose import leaves a marker file."""
    marker = folder / "loaded"
    (folder / "probe_plugin.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).touch()\n"
        "class Plugin:\n"
        "    def new_schema_validator(self, *args, **kwargs):\n"
        "        return None, None, None\n"
        "plugin = Plugin()\n",
        "utf-8",
    )
    info = folder / "probe_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nprobe = probe_plugin:plugin\n", "utf-8")
    return marker


def test_check_loads_no_pydantic_plugin_unless_asked(tmp_path, write_config):
    import os

    config = write_config()
    site = tmp_path / "site"
    site.mkdir()
    marker = plugin_on_path(site)
    path = os.pathsep.join([str(Path(__file__).resolve().parents[1]), str(site)])

    quiet = run_monitor("check", "-c", str(config), env={"PYTHONPATH": path}, cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert not marker.exists()

    asked = run_monitor(
        "check",
        "-c",
        str(config),
        env={"PYTHONPATH": path, "PYDANTIC_DISABLE_PLUGINS": ""},
        cwd=tmp_path,
    )
    assert asked.returncode == 0, asked.stderr
    assert marker.exists()
