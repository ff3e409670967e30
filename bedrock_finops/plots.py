"""Chart helpers on one packaged matplotlib style: every chart has a title, units and labels."""

from __future__ import annotations

import textwrap
from importlib import resources
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import Formatter

from bedrock_finops import amounts, top_groups

STYLE = resources.files("bedrock_finops.data").joinpath("bedrock_finops.mplstyle")
MISSING_NAMED = 5  # unpriced categories a note under a chart names before "and M more"
NOTE_WIDTH = 90  # characters per line of a note under a chart
OTHER_COLOR = "dimgray"  # the bar or line summing the groups past the top
FEW_DAYS = 3  # a chart over at most this many days ticks and labels each day, in full
FEW_POINTS = 3  # lines of at most this many points mark them (one point draws no line)


def use_style() -> None:
    """Apply the packaged style to every chart drawn after this call."""
    plt.style.use(str(STYLE))


MOST_DECIMALS = 8  # a dollar axis' ticks get at most this many decimals to tell them apart
SLANT_AFTER_CHARS = 4  # a vertical bar chart slants its category labels when one is longer


class UsdFormatter(Formatter):
    """Dollars ($1.2k, $3.4M, $0.50), each axis' ticks labelled apart (:func:`usd_tick_labels`)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return _usd_short(x)

    def format_ticks(self, values: Any) -> list[str]:
        return usd_tick_labels(list(values))


def usd_axis(ax: Axes, axis: str = "y") -> None:
    """Format an axis in dollars ($1.2k, $3.4M)."""
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(UsdFormatter())


def usd_tick_labels(values: list[float]) -> list[str]:
    """Dollar labels for an axis' ticks, all with one precision: the fewest decimals that give
    every tick exactly and tell each apart ("$0", "$5", "$10"; "$0", "$0.50", "$1.00"; "$2k",
    "$4k"; "$0.25M"), as a reader compares the ticks with each other. A single label chose its
    own before, so one axis read "$0.00", "$5.00", "$10", and a run of one request ($0.00023)
    had every tick at "$0.00". Zero is "$0"; money below $1k takes 0 or at least 2 decimals."""
    top = max((abs(v) for v in values), default=0.0)
    for scale, suffix, choices in _usd_scales(top):
        for decimals in choices:
            scaled = [v / scale for v in values]
            if not all(abs(x - round(x, decimals)) <= 1e-9 * max(1.0, abs(x)) for x in scaled):
                continue
            labels = [_usd_label(x, decimals, suffix) for x in scaled]
            if len(set(labels)) == len(labels):
                return labels
    return [_usd_short(v) for v in values]


def _usd_scales(top: float) -> list[tuple[float, str, tuple[int, ...]]]:
    """The (divisor, suffix, decimals to try) an axis reaching ``top`` may be labelled in,
    the shortest first; plain dollars always, their decimals up to ``MOST_DECIMALS``."""
    scales = [(1e6, "M", (0, 1, 2))] if top >= 1e6 else []
    scales += [(1e3, "k", (0, 1, 2))] if top >= 1e3 else []
    return [*scales, (1.0, "", (0, *range(2, MOST_DECIMALS + 1)))]


def _usd_label(x: float, decimals: int, suffix: str) -> str:
    """``$5``, ``-$5`` (the sign before the dollar, as ``amounts.usd`` writes it), ``$0``."""
    return "$0" if x == 0 else f"{'-' if x < 0 else ''}${abs(x):,.{decimals}f}{suffix}"


def _usd_short(v: float) -> str:
    """One label on its own: ``$1.2M``, ``$3.4k``, ``-$25``, ``$0.50``, ``$0.00023``."""
    sign = "-" if v < 0 else ""
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{sign}${abs(v) / div:,.1f}{suffix}"
    return f"{sign}${abs(v):,.0f}" if abs(v) >= 10 else amounts.usd(v)


def _styled_axes(ax: Axes | None) -> Axes:
    """The packaged style applied, and the axes to draw on (a new figure when none is given)."""
    use_style()
    if ax is None:
        _, ax = plt.subplots()
    return ax


NOTHING_TO_SHOW = "nothing to show for this run"


def _nothing_to_show(ax: Axes, title: str, xlabel: str, ylabel: str, left_out: str = "") -> Axes:
    """An empty chart that says so (a run without, say, batch-eligible traffic), not an error;
    ``left_out`` names what had no value (every model unpriced), under the axes."""
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xticks=[], yticks=[])
    ax.text(0.5, 0.5, NOTHING_TO_SHOW, transform=ax.transAxes, ha="center", va="center")
    _notes_under(ax, [left_out])
    return ax


def bar(
    data: pd.Series | pd.DataFrame,
    *,
    title: str,
    category_label: str,
    value_label: str,
    usd: bool = True,
    horizontal: bool = False,
    stacked: bool = False,
    top_n: int | None = None,
    noun: str = "category",
    rank_by: pd.Series | None = None,
    sum_rest: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Bar chart of a Series (one bar each) or DataFrame (grouped or stacked bars).

    Labels name the categories (the index) and the values, so they land on the right axes
    whichever way the bars run (``horizontal`` puts the categories on the y axis).

    With ``top_n``, only the ``top_n`` largest categories (by ``rank_by``, their spend, when
    given; else by the value, a row's total) are drawn, in their own order: the others are
    summed as one grey ``other (K <noun>s)`` bar when their values add up (``sum_rest``), or
    left out and counted when they do not (a score); a note under the chart says so."""
    ax = _styled_axes(ax)
    xlabel, ylabel = (value_label, category_label) if horizontal else (category_label, value_label)
    notes = []
    if top_n is not None:
        by = "spend" if usd or rank_by is not None else "value"
        notes.append(top_groups.cut_note(len(data), top_n, noun, summed=sum_rest, by=by))
        data = (
            top_groups.sum_rest(data, top_n, noun, rank_by)
            if sum_rest
            else top_groups.leave_out(data, top_n, rank_by)
        )
    blank = data.isna() if isinstance(data, pd.Series) else data.isna().all(axis=1)
    missing = [str(name) for name in data.index[blank]]
    data = data[~blank]
    if data.empty:
        return _nothing_to_show(ax, title, xlabel, ylabel, _missing_note(missing, usd))
    kind = "barh" if horizontal else "bar"
    data.plot(kind=kind, stacked=stacked, ax=ax, legend=isinstance(data, pd.DataFrame))
    _grey_other_bars(ax, data)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    # what the cut left out, and the categories not drawn (an empty bar would read as $0)
    _notes_under(ax, [*notes, _missing_note(missing, usd)])
    if usd:
        usd_axis(ax, "x" if horizontal else "y")
        dollars_from_zero(ax, data, "x" if horizontal else "y")
    if horizontal:
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
    else:
        slant = max((len(str(name)) for name in data.index), default=0) > SLANT_AFTER_CHARS
        ax.tick_params(axis="x", labelrotation=30 if slant else 0)  # slanted, long names clear
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right" if slant else "center")
    return ax


def _grey_other_bars(ax: Axes, data: pd.Series | pd.DataFrame) -> None:
    """The ``other (K apps)`` bar grey (a Series), or hatched (a frame's, one per column), so
    the sum of many categories does not read as one of them."""
    others = [i for i, name in enumerate(data.index) if top_groups.is_other(name)]
    if not others:
        return
    if isinstance(data, pd.Series):
        for i in others:
            ax.containers[-1].patches[i].set_color(OTHER_COLOR)
        return
    for container in ax.containers[-len(data.columns) :]:
        for i in others:
            container.patches[i].set_hatch("///")


def line(
    data: pd.Series | pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    usd: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Line chart over an index (days, hours).

    A missing value (an unpriced cost) is a gap in its line, never a point at $0; a column
    with no value at all is not drawn and is named under the chart. A column named
    ``other (K apps)`` (``baseline.daily_spend``'s ``top_n``) is drawn grey and dashed, and a
    note under the chart says the lines before it are the largest, it the sum of the rest.
    Days (a datetime index, Arrow-backed or not) are labelled as :func:`_date_axis` says.
    A line of a few points marks each (a line through one point draws nothing)."""
    ax = _styled_axes(ax)
    missing: list[str] = []
    if isinstance(data, pd.DataFrame):
        blank = data.isna().all(axis=0)
        missing = [str(name) for name in data.columns[blank]]
        data = data.loc[:, ~blank]
    if data.empty or data.isna().all(axis=None):
        return _nothing_to_show(ax, title, xlabel, ylabel, _missing_note(missing, usd))
    dates = pd.api.types.is_datetime64_any_dtype(data.index)
    if dates:
        data = data.set_axis(pd.DatetimeIndex(data.index))
    # x_compat: matplotlib's dates, not pandas' own axis of periods (taken for an index
    # whose days follow at a regular step), so the date locator below applies to either
    marker = "o" if len(data) <= FEW_POINTS else None
    data.plot(ax=ax, legend=False, x_compat=dates, marker=marker)
    if dates:
        _date_axis(ax, pd.DatetimeIndex(data.index))
    cut = ""
    if isinstance(data, pd.DataFrame):
        cut = _grey_other_line(ax, data, "spend" if usd else "total")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside: not over the lines
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    _notes_under(ax, [cut, _missing_note(missing, usd)])
    if usd:
        usd_axis(ax)
        dollars_from_zero(ax, data)
        _lines_over_the_axis(ax)
    return ax


def _lines_over_the_axis(ax: Axes) -> None:
    """Lines drawn over the axis lines, whole: on an axis from $0, an app spending a cent a
    day runs along its foot, where the axis line hid it (and the axes cut it in half). The
    limits hold every value, so no line reaches past them."""
    above = max(spine.get_zorder() for spine in ax.spines.values()) + 0.5
    for drawn in ax.get_lines():
        drawn.set(zorder=above, clip_on=False)


def dollars_from_zero(ax: Axes, data: pd.Series | pd.DataFrame, axis: str = "y") -> None:
    """A dollar axis from $0, so a small day-to-day wobble does not read as a big swing (an
    axis fitted to the values made $10 to $12 a day fill the chart). Values below $0 (a saving
    that is negative) keep the axis' own lower end below them, and $0 stays on the axis."""
    low, high = ax.get_xlim() if axis == "x" else ax.get_ylim()
    lowest = float(np.nanmin(data.to_numpy(dtype="float64", na_value=np.nan)))
    (ax.set_xlim if axis == "x" else ax.set_ylim)(0.0 if lowest >= 0 else low, max(high, 0.0))


def _date_axis(ax: Axes, days: pd.DatetimeIndex) -> None:
    """Short date labels that do not overlap: a tick every few days (weeks, months as the
    period grows), labelled by what changes (``Oct``, ``05``, ``09``), the year and month once
    at the axis' end (``2026-Oct``), level under their ticks (pandas slants a date axis'
    labels, which short ones do not need). Full dates at matplotlib's own step ran into each
    other on a month of days: 00_baseline's daily chart had 82 px wide labels 79 px apart.
    A few days (:data:`FEW_DAYS`) are :func:`_each_day`'s."""
    if (days.max() - days.min()).days < FEW_DAYS:
        _each_day(ax, days)
    else:
        locator = mdates.AutoDateLocator(minticks=3)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for label in ax.get_xticklabels():
        label.set(rotation=0, horizontalalignment="center")


def _each_day(ax: Axes, days: pd.DatetimeIndex) -> None:
    """A tick on each day, labelled in full (``2026-10-01``), the axis half a day wider each
    side: matplotlib's own choice for a day or two is years (it widens a single point's limits
    by two years each way: 2024 to 2028) or hours (``03:00``, ``06:00`` between two days)."""
    first, last = days.min().normalize(), days.max().normalize()
    ax.xaxis.set_major_locator(mdates.DayLocator(tz=days.tz))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d", tz=days.tz))
    half_day = pd.Timedelta(hours=12)
    ax.set_xlim(mdates.date2num(first - half_day), mdates.date2num(last + half_day))


def _grey_other_line(ax: Axes, data: pd.DataFrame, largest: str) -> str:
    """The ``other (K apps)`` line grey and dashed (the colours cycle past ten lines), and
    the note saying what it is; "" without one."""
    others = [str(c) for c in data.columns if top_groups.is_other(c)]
    for drawn, name in zip(ax.get_lines()[-len(data.columns) :], data.columns, strict=True):
        if top_groups.is_other(name):
            drawn.set(color=OTHER_COLOR, linestyle="--")
    if not others:
        return ""
    return f"the {len(data.columns) - 1:,} lines of largest {largest}; {others[0]} sums the rest"


def _missing_note(missing: list[str], usd: bool) -> str:
    """The categories a chart leaves out for having no value, a few by name: an empty bar
    or a line at 0 would read as $0 (``unpriced, not drawn: a, b, c, d, e and 145 more``)."""
    if not missing:
        return ""
    what = "unpriced" if usd else "no value"
    return f"{what}, not drawn: {top_groups.named(missing, MISSING_NAMED)}"


def _notes_under(ax: Axes, notes: list[str]) -> None:
    """The notes (what a chart leaves out), one a line and wrapped, under the x axis label
    (wherever long or slanted tick labels put it): a long line would widen the saved image
    to hold it."""
    lines = [textwrap.fill(note, NOTE_WIDTH) for note in notes if note]
    if not lines:
        return
    ax.annotate(
        "\n".join(lines),
        xy=(0, 0),
        xycoords=("axes fraction", ax.xaxis.label),  # x: the axes' left; y: the label's foot
        xytext=(0, -6),
        textcoords="offset points",
        va="top",
        fontsize="small",
        color="dimgray",
    )


def before_after(
    before: pd.Series,
    after: pd.Series,
    *,
    title: str,
    category_label: str,
    value_label: str = "USD over the period",
    top_n: int | None = None,
    noun: str = "category",
    ax: Axes | None = None,
) -> Axes:
    """Side-by-side bars of spend before and after a change, per category.

    A category on one side only is $0 on the other; one with no value on either side (an
    unpriced one) is named, not drawn. With ``top_n``: the ``top_n`` categories of largest
    spend before the change, and one ``other (K <noun>s)`` pair summing the rest."""
    frame = pd.DataFrame({"current": before, "after change": after})
    one_sided = frame.notna().any(axis=1)
    frame[one_sided] = frame[one_sided].fillna(0.0)
    return bar(
        frame,
        title=title,
        category_label=category_label,
        value_label=value_label,
        top_n=top_n,
        noun=noun,
        rank_by=frame["current"] if top_n is not None else None,
        ax=ax,
    )
