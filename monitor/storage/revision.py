"""The schema revision a database should be at, read from the revision files without
Alembic or SQLAlchemy: what lets a command find the schema current in one query.

:mod:`monitor.storage.migrate` migrates (with Alembic) when it is not; the read path of
:mod:`monitor.storage.reader` opens a current SQLite file without SQLAlchemy.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

SCRIPTS = Path(__file__).with_name("migrations")
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


@functools.cache
def head_revision() -> str | None:
    """The newest revision, from the revision files themselves: the one revision no
    other names as its ``down_revision``. Falls back to Alembic's script machinery
    when a file says something this reading does not understand (a merge, branches)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((SCRIPTS / "versions").glob("*.py")):
        text_ = path.read_text("utf-8")
        found: dict[str, str] = {m[1]: m[2] for m in _REVISION_LINE.finditer(text_)}
        revision, down = found.get("revision", ""), found.get("down_revision", "")
        if not re.fullmatch(r"[\"'][\w-]+[\"']", revision) or not re.fullmatch(
            r"None|[\"'][\w-]+[\"']", down
        ):
            return alembic_head()
        revisions.add(revision[1:-1])
        if down != "None":
            parents.add(down[1:-1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else alembic_head()


def alembic_config() -> AlembicConfig:
    """Alembic's configuration for our revisions (no alembic.ini to find)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return cfg


def alembic_head() -> str | None:
    """Alembic's own answer (imports Alembic): for what :func:`head_revision` cannot read."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
