"""Chart helpers: a chart with no data says so instead of failing the notebook."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bedrock_finops import plots  # noqa: E402


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.bar(pd.Series(dtype=float), title="t", xlabel="app", ylabel="USD"),
        lambda: plots.line(pd.DataFrame(), title="t", xlabel="day", ylabel="USD"),
        lambda: plots.before_after(
            pd.Series(dtype=float), pd.Series(dtype=float), title="t", xlabel="app"
        ),
    ],
)
def test_an_empty_chart_says_there_is_nothing_to_show(draw):
    ax = draw()
    assert [t.get_text() for t in ax.texts] == [plots.NOTHING_TO_SHOW]
    assert ax.get_title() == "t"
    plt.close("all")


def test_a_chart_with_data_has_its_bars():
    ax = plots.bar(pd.Series({"a": 2.0, "b": 3.0}), title="t", xlabel="app", ylabel="USD")
    assert [round(p.get_height(), 6) for p in ax.patches] == [2.0, 3.0] and not ax.texts
    plt.close("all")
