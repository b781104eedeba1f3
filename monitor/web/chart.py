"""A topic's timeline as a stacked bar chart: pure geometry for an SVG drawn server-side.

Counts per (bucket, outlet) in, a :class:`Chart` out: one :class:`Series` per outlet
(its colour and its bars), the axis ticks, the legend. The template turns it into SVG;
this module does no escaping, no I/O and reads no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.storage.console import TimelineCount

__all__ = ["Bar", "Chart", "Series", "build_chart"]

WIDTH = 900
HEIGHT = 260
LEFT = 40
BOTTOM = 24
TOP = 10
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    bucket: datetime
    count: int


@dataclass(frozen=True, slots=True)
class Series:
    outlet: str
    colour: str
    total: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    series: tuple[Series, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    peak: int
    unit: str


def _floor(when: datetime, unit: str) -> datetime:
    when = when.replace(minute=0, second=0, microsecond=0)
    return when.replace(hour=0) if unit == "day" else when


def build_chart(
    counts: Sequence[TimelineCount], *, since: datetime, until: datetime, unit: str
) -> Chart:
    """Stacked bars from ``since`` to ``until`` per hour or day; outlets stack in the
    order of their totals (largest at the bottom) and keep their colour by that order."""
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    start = _floor(since, unit)
    slots = max(1, int((until - start) / step) + (1 if (until - start) % step else 0))
    plot_w = WIDTH - LEFT - 10
    plot_h = HEIGHT - TOP - BOTTOM
    slot_w = plot_w / slots
    per_bucket: dict[int, int] = {}
    totals: dict[str, int] = {}
    cells: dict[tuple[str, int], int] = {}
    for c in counts:
        index = int((c.bucket - start) / step)
        if not 0 <= index < slots:
            continue
        cells[(c.feed, index)] = cells.get((c.feed, index), 0) + c.count
        per_bucket[index] = per_bucket.get(index, 0) + c.count
        totals[c.feed] = totals.get(c.feed, 0) + c.count
    peak = max(per_bucket.values(), default=0)
    scale = plot_h / peak if peak else 0.0
    outlets = sorted(totals, key=lambda f: (-totals[f], f))
    stacked: dict[int, float] = {}
    series = []
    for number, outlet in enumerate(outlets):
        bars = []
        for index in range(slots):
            count = cells.get((outlet, index), 0)
            if not count:
                continue
            below = stacked.get(index, 0.0)
            height = count * scale
            stacked[index] = below + height
            bars.append(
                Bar(
                    x=round(LEFT + index * slot_w + slot_w * 0.1, 2),
                    y=round(TOP + plot_h - below - height, 2),
                    width=round(max(slot_w * 0.8, 0.5), 2),
                    height=round(height, 2),
                    bucket=start + index * step,
                    count=count,
                )
            )
        series.append(
            Series(
                outlet=outlet,
                colour=PALETTE[number % len(PALETTE)],
                total=totals[outlet],
                bars=tuple(bars),
            )
        )
    label_every = max(1, slots // 8)
    fmt = "%m-%d %H:00" if unit == "hour" else "%Y-%m-%d"
    x_ticks = tuple(
        Tick(position=round(LEFT + i * slot_w, 2), label=(start + i * step).strftime(fmt))
        for i in range(0, slots, label_every)
    )
    y_ticks = tuple(
        Tick(position=round(TOP + plot_h - v * scale, 2), label=str(v))
        for v in sorted({0, peak // 2, peak})
        if peak or v == 0
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        series=tuple(series),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        peak=peak,
        unit=unit,
    )
