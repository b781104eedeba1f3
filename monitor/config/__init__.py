"""Configuration: one YAML file → a validated :class:`Config`, or every problem at
``FILE:LINE``.

Public surface: :func:`load_config` (:class:`~monitor.errors.ConfigError` listing the
problems), :func:`default_config_path`, :func:`summarize_config` (what `monitor check`
prints), :class:`Config` and :func:`parse_duration`. It does not build channels or open
the database. Imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
    from monitor.config.durations import parse_duration
    from monitor.config.load import (
        load_config,
        load_config_checked,
        summarize_config,
    )
    from monitor.config.schema import Config, NotifyConfig, SmtpConfig
    from monitor.config.source import default_config_path

_HOMES = {
    "Config": "schema",
    "NotifyConfig": "schema",
    "SmtpConfig": "schema",
    "default_config_path": "source",
    "load_config": "load",
    "load_config_checked": "load",
    "parse_duration": "durations",
    "summarize_config": "load",
}
__all__ = [
    "Config",
    "NotifyConfig",
    "SmtpConfig",
    "default_config_path",
    "load_config",
    "load_config_checked",
    "parse_duration",
    "summarize_config",
]


__getattr__ = lazy_getattr(__name__, _HOMES)
