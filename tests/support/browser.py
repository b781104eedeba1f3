"""Headless Chromium from Debian's packages, for tests that look at a page as a person
would: the DOM after load (scripts, had any run, would have changed it) and a screenshot.

Tests that use it skip with a reason where /usr/bin/chromium is missing. Every run gets
a fresh profile and Chromium's own background traffic switched off; the pages are on
127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / ".test-artifacts"
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--window-size=1280,1400",
]


def require_chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    return CHROMIUM


def _run(url: str, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="monitor-chromium-")
    try:
        return subprocess.run(
            [str(require_chromium()), *_FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "HOME": profile},
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def dump_dom(url: str) -> str:
    """The page's DOM after load, serialized (what scripts left of it)."""
    done = _run(url, "--dump-dom", "--virtual-time-budget=3000")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(url: str, name: str) -> Path:
    """A PNG of the page, kept under .test-artifacts/ (or $MONITOR_TEST_ARTIFACTS)."""
    folder = Path(os.environ.get("MONITOR_TEST_ARTIFACTS", ARTIFACTS)) / "console"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    path.unlink(missing_ok=True)
    done = _run(url, f"--screenshot={path}", "--virtual-time-budget=3000")
    assert done.returncode == 0 and path.exists(), done.stderr[-2000:]
    return path
