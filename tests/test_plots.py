"""Chart helpers: a chart with no data says so instead of failing the notebook."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bedrock_finops import plots  # noqa: E402


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.bar(
            pd.Series(dtype=float), title="t", category_label="app", value_label="USD"
        ),
        lambda: plots.line(pd.DataFrame(), title="t", xlabel="day", ylabel="USD"),
        lambda: plots.before_after(
            pd.Series(dtype=float), pd.Series(dtype=float), title="t", category_label="app"
        ),
    ],
)
def test_an_empty_chart_says_there_is_nothing_to_show(draw):
    ax = draw()
    assert [t.get_text() for t in ax.texts] == [plots.NOTHING_TO_SHOW]
    assert ax.get_title() == "t"
    plt.close("all")


def test_a_chart_with_data_has_its_bars():
    ax = plots.bar(
        pd.Series({"a": 2.0, "b": 3.0}), title="t", category_label="app", value_label="USD"
    )
    assert [round(p.get_height(), 6) for p in ax.patches] == [2.0, 3.0] and not ax.texts
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("app", "USD")
    plt.close("all")


def test_horizontal_bars_put_the_categories_on_the_y_axis():
    ax = plots.bar(
        pd.Series({"a": 2.0, "b": 3.0}),
        title="t",
        category_label="app",
        value_label="USD over the period",
        horizontal=True,
    )
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("USD over the period", "app")
    assert [round(p.get_width(), 6) for p in ax.patches] == [2.0, 3.0]
    plt.close("all")


def test_an_unpriced_category_is_named_not_drawn_as_zero():
    data = pd.Series({"anthropic.claude-sonnet-4": 343.63, "(unknown) ai21.jamba": float("nan")})
    ax = plots.bar(data, title="t", category_label="model", value_label="USD", horizontal=True)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["anthropic.claude-sonnet-4"]
    assert [t.get_text() for t in ax.texts] == ["unpriced, not drawn: (unknown) ai21.jamba"]
    plt.close("all")


def test_an_unpriced_line_is_named_not_drawn_and_an_unknown_day_is_a_gap():
    """A column with no value (an app with no priced request) is left out and named; a day
    whose cost is unknown is a gap in its line, not a point at $0."""
    nan = float("nan")
    data = pd.DataFrame(
        {"support": [1.0, nan, 3.0], "eval": [nan, nan, nan]},
        index=pd.to_datetime(["2026-10-01", "2026-10-02", "2026-10-03"], utc=True),
    )
    ax = plots.line(data, title="t", xlabel="day", ylabel="USD per day")
    assert [line.get_label() for line in ax.get_lines()] == ["support"]
    y = np.ma.filled(np.ma.asarray(ax.get_lines()[0].get_ydata(), dtype=float), np.nan)
    assert (y[0], y[2]) == (1.0, 3.0) and np.isnan(y[1])  # masked or NaN: not drawn
    assert [t.get_text() for t in ax.texts] == ["unpriced, not drawn: eval"]
    plt.close("all")


def test_before_after_names_an_unpriced_category_and_zeroes_a_one_sided_one():
    """'eval' has no value on either side (unpriced): named, not drawn as two $0 bars; 'new'
    is only after the change, so its current bar is $0."""
    nan = float("nan")
    before = pd.Series({"chat": 10.0, "eval": nan})
    after = pd.Series({"chat": 4.0, "eval": nan, "new": 1.0})
    ax = plots.before_after(before, after, title="t", category_label="app")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["chat", "new"]
    assert [round(p.get_height(), 6) for p in ax.patches] == [10.0, 0.0, 4.0, 1.0]
    assert [t.get_text() for t in ax.texts] == ["unpriced, not drawn: eval"]
    plt.close("all")
