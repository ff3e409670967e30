"""Chart helpers on one packaged matplotlib style: every chart has a title, units and labels."""

from __future__ import annotations

from importlib import resources

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

STYLE = resources.files("bedrock_finops.data").joinpath("bedrock_finops.mplstyle")


def use_style() -> None:
    """Apply the packaged style to every chart drawn after this call."""
    plt.style.use(str(STYLE))


def usd_axis(ax: Axes, axis: str = "y") -> None:
    """Format an axis in dollars ($1.2k, $3.4M)."""
    fmt = FuncFormatter(lambda v, _pos: _usd_short(v))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _usd_short(v: float) -> str:
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"${v / div:,.1f}{suffix}"
    return f"${v:,.0f}" if abs(v) >= 10 else f"${v:,.2f}"


def _styled_axes(ax: Axes | None) -> Axes:
    """The packaged style applied, and the axes to draw on (a new figure when none is given)."""
    use_style()
    if ax is None:
        _, ax = plt.subplots()
    return ax


NOTHING_TO_SHOW = "nothing to show for this run"


def _nothing_to_show(ax: Axes, title: str, xlabel: str, ylabel: str) -> Axes:
    """An empty chart that says so (a run without, say, batch-eligible traffic), not an error."""
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xticks=[], yticks=[])
    ax.text(0.5, 0.5, NOTHING_TO_SHOW, transform=ax.transAxes, ha="center", va="center")
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
    ax: Axes | None = None,
) -> Axes:
    """Bar chart of a Series (one bar each) or DataFrame (grouped or stacked bars).

    Labels name the categories (the index) and the values, so they land on the right axes
    whichever way the bars run (``horizontal`` puts the categories on the y axis)."""
    ax = _styled_axes(ax)
    xlabel, ylabel = (value_label, category_label) if horizontal else (category_label, value_label)
    blank = data.isna() if isinstance(data, pd.Series) else data.isna().all(axis=1)
    missing = [str(name) for name in data.index[blank]]
    data = data[~blank]
    if data.empty:
        return _nothing_to_show(ax, title, xlabel, ylabel)
    kind = "barh" if horizontal else "bar"
    data.plot(kind=kind, stacked=stacked, ax=ax, legend=isinstance(data, pd.DataFrame))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if missing:  # an empty bar would read as $0: name them instead
        _name_missing(ax, missing, usd, -0.18 if horizontal else -0.35)
    if usd:
        usd_axis(ax, "x" if horizontal else "y")
        if horizontal:
            ax.set_xlim(left=0)
        else:
            ax.set_ylim(bottom=0)
    if horizontal:
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
    else:
        ax.tick_params(axis="x", labelrotation=30)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    return ax


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
    with no value at all is not drawn and is named under the chart."""
    ax = _styled_axes(ax)
    missing: list[str] = []
    if isinstance(data, pd.DataFrame):
        blank = data.isna().all(axis=0)
        missing = [str(name) for name in data.columns[blank]]
        data = data.loc[:, ~blank]
    if data.empty or data.isna().all(axis=None):
        return _nothing_to_show(ax, title, xlabel, ylabel)
    data.plot(ax=ax, legend=isinstance(data, pd.DataFrame))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if missing:
        _name_missing(ax, missing, usd, -0.25)
    if usd:
        usd_axis(ax)
    return ax


def _name_missing(ax: Axes, missing: list[str], usd: bool, y: float) -> None:
    """Name, under the chart, the categories it leaves out for having no value."""
    what = "unpriced" if usd else "no value"
    ax.annotate(
        f"{what}, not drawn: {', '.join(missing)}",
        xy=(0, y),
        xycoords="axes fraction",
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
    ax: Axes | None = None,
) -> Axes:
    """Side-by-side bars of spend before and after a change, per category.

    A category on one side only is $0 on the other; one with no value on either side (an
    unpriced one) is named, not drawn."""
    frame = pd.DataFrame({"current": before, "after change": after})
    one_sided = frame.notna().any(axis=1)
    frame[one_sided] = frame[one_sided].fillna(0.0)
    return bar(frame, title=title, category_label=category_label, value_label=value_label, ax=ax)
