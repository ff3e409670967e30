"""Chart helpers: a chart with no data says so instead of failing the notebook; a chart cut to
its top_n categories says what it left out and still adds up."""

from __future__ import annotations

import io
import struct
from itertools import combinations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from usage_builders import make_usage  # noqa: E402

from bedrock_finops import baseline, plots  # noqa: E402
from bedrock_finops.pricing import PriceCatalog  # noqa: E402


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


TWENTY_FIVE = pd.Series({f"app-{k:02d}": float(k) for k in range(1, 26)})  # app-k spends $k


def test_a_bar_chart_cut_to_top_n_sums_the_others_as_one_grey_bar():
    """25 apps, app-k at $k, top_n 10: app-16 to app-25 (in the data's order), then 'other
    (15 apps)' at $1 + $2 + ... + $15 = $120, grey, and a note saying so."""
    ax = plots.bar(
        TWENTY_FIVE, title="t", category_label="app", value_label="USD", top_n=10, noun="app"
    )
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [*(f"app-{k:02d}" for k in range(16, 26)), "other (15 apps)"]
    heights = [round(p.get_height(), 6) for p in ax.patches]
    assert heights == [*map(float, range(16, 26)), 120.0] and sum(heights) == 325.0
    assert ax.patches[-1].get_facecolor() == matplotlib.colors.to_rgba(plots.OTHER_COLOR)
    assert [t.get_text() for t in ax.texts] == [
        "top 10 of 25 apps by spend; other (15 apps) sums the rest"
    ]
    plt.close("all")


def test_a_score_chart_cut_to_top_n_leaves_the_others_out_and_counts_them():
    """Scores do not add up: the 10 apps of largest spend (app-25 to app-16), none summed."""
    scores = pd.Series({f"app-{k:02d}": k / 100 for k in range(1, 26)})
    ax = plots.bar(
        scores,
        title="t",
        category_label="app",
        value_label="score",
        usd=False,
        horizontal=True,
        top_n=10,
        noun="app",
        rank_by=TWENTY_FIVE,
        sum_rest=False,
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"app-{k:02d}" for k in range(16, 26)]
    assert [t.get_text() for t in ax.texts] == ["top 10 of 25 apps by spend; 15 not shown"]
    plt.close("all")


def test_before_after_cut_to_top_n_sums_both_sides_of_the_others():
    """Ranked by the spend before: app-25 to app-16; the other pair is $120 now and $60 after
    (every app halves)."""
    ax = plots.before_after(TWENTY_FIVE, TWENTY_FIVE / 2, title="t", category_label="app", top_n=10)
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "other (15 categories)"
    now, after = ax.containers
    assert (now.patches[-1].get_height(), after.patches[-1].get_height()) == (120.0, 60.0)
    assert now.patches[-1].get_hatch() == "///"
    plt.close("all")


def test_the_daily_line_chart_draws_the_top_apps_and_one_grey_dashed_other_line():
    """baseline.daily_spend's cut: 10 lines and 'other (15 apps)', 11 in the legend, the other
    line dashed in a colour of its own (the style cycles ten)."""
    days = pd.to_datetime(["2026-10-01", "2026-10-02"], utc=True)
    data = pd.DataFrame({f"app-{k:02d}": [float(k), 1.0] for k in range(25, 15, -1)}, index=days)
    data["other (15 apps)"] = [120.0, float("nan")]
    ax = plots.line(data, title="t", xlabel="day", ylabel="USD per day")
    drawn = ax.get_lines()
    assert len(drawn) == 11 and len(ax.get_legend().get_texts()) == 11
    assert ax.get_legend().get_texts()[-1].get_text() == "other (15 apps)"
    assert (drawn[-1].get_color(), drawn[-1].get_linestyle()) == (plots.OTHER_COLOR, "--")
    assert len({line.get_color() for line in drawn}) == 11
    y = np.ma.filled(np.ma.asarray(drawn[-1].get_ydata(), dtype=float), np.nan)
    assert y[0] == 120.0 and np.isnan(y[1])
    assert [t.get_text() for t in ax.texts] == [
        "the 10 lines of largest spend; other (15 apps) sums the rest"
    ]
    plt.close("all")


def test_many_unpriced_categories_are_named_five_then_counted_and_keep_the_image_narrow():
    """300 apps, every other one unpriced: the note named all 150 on one line, and the saved
    image (bbox tight, as the notebooks save it) was 11,500 px wide."""
    values = pd.Series(
        {f"app-{k:05d}": (float("nan") if k % 2 else 1.0) for k in range(300)}, dtype=float
    )
    ax = plots.bar(values, title="t", category_label="app", value_label="USD", horizontal=True)
    assert [t.get_text() for t in ax.texts] == [
        "unpriced, not drawn: app-00001, app-00003, app-00005, app-00007, app-00009 and 145 more"
    ]
    png = io.BytesIO()
    ax.figure.savefig(png, format="png", bbox_inches="tight")
    width, _height = struct.unpack(">II", png.getvalue()[16:24])
    assert width < 1000
    plt.close("all")


def test_a_long_note_is_wrapped():
    long_names = pd.Series({"a" * 60: float("nan"), "b" * 60: float("nan"), "c": 1.0})
    ax = plots.bar(long_names, title="t", category_label="app", value_label="USD")
    (note,) = ax.texts
    assert all(len(line) <= plots.NOTE_WIDTH for line in note.get_text().split("\n"))
    assert note.get_text().replace("\n", " ") == f"unpriced, not drawn: {'a' * 60}, {'b' * 60}"
    plt.close("all")


def _overlapping_tick_labels(ax) -> list[tuple[str, str]]:
    """The pairs of x tick labels whose boxes overlap once the figure is drawn (Agg)."""
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
    return [(a, b) for (a, box_a), (b, box_b) in combinations(boxes, 2) if box_a.overlaps(box_b)]


def test_the_daily_chart_of_a_month_has_short_date_labels_that_do_not_overlap():
    """Four apps calling once an hour for 30 days (2026-10-01 to 10-30), drawn as 00_baseline
    draws baseline.daily_spend (its index of days Arrow-backed, the legend beside the lines):
    a tick every four days, the full dates ran into each other ('2026-10-01' to
    '2026-10-29'); each label now says what changes, the month once at the axis' end."""
    apps = ("support-chat", "marketing-writer", "code-assistant", "doc-summarizer")
    usage = make_usage(
        [dict(app=app, model="anthropic.claude-sonnet-4", n=720, output_tokens=500) for app in apps]
    )
    frame = baseline.costed(usage, PriceCatalog.load("current").price(usage))
    daily = baseline.daily_spend(frame, by="app")
    assert len(daily) == 30 and isinstance(daily.index.dtype, pd.ArrowDtype)
    ax = plots.line(daily, title="t", xlabel="day (UTC)", ylabel="USD per day")
    assert _overlapping_tick_labels(ax) == []
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Oct", "05", "09", "13", "17", "21", "25", "29"]
    assert {(t.get_rotation(), t.get_horizontalalignment()) for t in ax.get_xticklabels()} == {
        (0.0, "center")
    }
    assert ax.xaxis.get_offset_text().get_text() == "2026-Oct"
    plt.close("all")


@pytest.mark.parametrize(
    ("days", "first_labels"),
    [(7, ["Oct", "02", "03"]), (90, ["Oct", "Nov", "Dec"]), (400, ["Nov", "2027", "Mar"])],
)
def test_daily_charts_of_a_week_to_a_year_have_date_labels_that_do_not_overlap(days, first_labels):
    """A regular DatetimeIndex, which pandas would draw on an axis of its own (periods), gets
    the same labels: a day, a month or two months apart as the period grows."""
    index = pd.date_range("2026-10-01", periods=days, freq="D", tz="UTC", name="day")
    data = pd.DataFrame({"chat": np.arange(days, dtype=float), "batch": 1.0}, index=index)
    ax = plots.line(data, title="t", xlabel="day (UTC)", ylabel="USD per day")
    assert _overlapping_tick_labels(ax) == []
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == first_labels
    plt.close("all")


@pytest.mark.parametrize(
    ("days", "labels"),
    [
        (1, ["2026-10-01"]),
        (2, ["2026-10-01", "2026-10-02"]),
        (3, ["2026-10-01", "2026-10-02", "2026-10-03"]),
    ],
)
def test_a_daily_chart_of_a_few_days_shows_just_its_days(days, labels):
    """A day or two of logs, a first user's try: one day's axis ran from 2024 to 2028 (matplotlib
    widens the limits of a single point by two years each way) and its lines, one point each,
    drew nothing; two or three days got hourly ticks (03:00, 06:00, ...). Each day is now a
    tick labelled in full, the axis half a day wider each side, and each value a marker."""
    index = pd.date_range("2026-10-01", periods=days, freq="D", tz="UTC", name="day")
    data = pd.DataFrame({"chat": np.arange(days, dtype=float) + 1, "batch": 1.0}, index=index)
    ax = plots.line(data, title="t", xlabel="day (UTC)", ylabel="USD per day")
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
    assert ax.xaxis.get_offset_text().get_text() == ""
    first, last = (matplotlib.dates.num2date(x) for x in ax.get_xlim())
    assert (first.isoformat(), last.isoformat()) == (
        "2026-09-30T12:00:00+00:00",
        (index[-1] + pd.Timedelta(hours=12)).isoformat(),
    )
    assert {line.get_marker() for line in ax.get_lines()} == {"o"}
    assert _overlapping_tick_labels(ax) == []
    plt.close("all")


def test_the_daily_chart_of_one_day_of_a_run_shows_that_day():
    """00_baseline's chart as a one-day run draws it: baseline.daily_spend's Arrow-backed index
    of one day, one line per app."""
    usage = make_usage(
        [
            dict(app=app, model="anthropic.claude-sonnet-4", n=24, output_tokens=500)
            for app in ("support-chat", "doc-summarizer")
        ]
    )
    frame = baseline.costed(usage, PriceCatalog.load("current").price(usage))
    daily = baseline.daily_spend(frame, by="app")
    assert len(daily) == 1
    ax = plots.line(daily, title="t", xlabel="day (UTC)", ylabel="USD per day")
    ax.figure.canvas.draw()
    day = daily.index[0].strftime("%Y-%m-%d")
    assert [t.get_text() for t in ax.get_xticklabels()] == [day]
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [1, 1]
    assert {line.get_marker() for line in ax.get_lines()} == {"o"}
    plt.close("all")


def test_a_dollar_axis_of_a_few_cents_labels_its_ticks_apart():
    """One request on Llama 3.1 70B ($0.00023): every tick of the spend axis read '$0.00'.
    Ticks that cents would label alike get the decimals that tell them apart."""
    ax = plots.bar(
        pd.Series({"entity-extractor": 0.00023}),
        title="t",
        category_label="app",
        value_label="USD over the period",
        horizontal=True,
    )
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["$0", "$0.00005", "$0.00010", "$0.00015", "$0.00020", "$0.00025"]
    plt.close("all")


@pytest.mark.parametrize(
    ("values", "labels"),
    [
        ([0.0, 0.5, 1.0, 1.5], ["$0", "$0.50", "$1.00", "$1.50"]),  # cents tell them apart
        ([10.0, 10.5, 11.0], ["$10.00", "$10.50", "$11.00"]),  # "$10", "$10", "$11" before
        ([0.0, 5.0, 10.0, 15.0], ["$0", "$5", "$10", "$15"]),  # "$0.00", "$5.00", "$10" before
        ([0.0, 2.0, 4.0, 6.0, 8.0], ["$0", "$2", "$4", "$6", "$8"]),  # "$2.00" ... before
        ([0.1, 0.2, 0.30000000000000004], ["$0.10", "$0.20", "$0.30"]),  # a tick's float noise
        ([0.0, 2000.0, 4000.0], ["$0", "$2k", "$4k"]),
        ([0.0, 500.0, 1000.0, 1500.0], ["$0", "$0.5k", "$1.0k", "$1.5k"]),
        ([0.0, 250e3, 500e3, 1e6, 1.25e6], ["$0", "$0.25M", "$0.50M", "$1.00M", "$1.25M"]),
        ([1000.0, 1000.1, 1000.2], ["$1,000.00", "$1,000.10", "$1,000.20"]),
    ],
)
def test_dollar_tick_labels_are_short_and_distinct(values, labels):
    """One precision per axis: the fewest decimals that give every tick exactly."""
    assert plots.usd_tick_labels(values) == labels


@pytest.mark.parametrize(
    ("categories", "rotation", "align"),
    [
        ([str(h) for h in range(24)], 0.0, "center"),
        (["support-chat", "code-assistant"], 30.0, "right"),
    ],
)
def test_a_bar_chart_slants_only_long_category_labels(categories, rotation, align):
    """The hours of a day (0-23) stand level under their bars; they were slanted as app names
    are, which need it not to run into each other."""
    ax = plots.bar(
        pd.Series(1.0, index=categories),
        title="t",
        category_label="hour of day (UTC)",
        value_label="USD over the period",
    )
    ax.figure.canvas.draw()
    assert {(t.get_rotation(), t.get_horizontalalignment()) for t in ax.get_xticklabels()} == {
        (rotation, align)
    }
    plt.close("all")


def test_a_chart_of_only_unpriced_categories_says_so_under_its_empty_axes():
    """Every model unpriced (a first try on models the sheet lacks): the chart has nothing to
    draw, and names what it left out, as a chart with some priced categories does; it said
    only that there was nothing to show, as for a run without traffic."""
    nan = float("nan")
    ax = plots.bar(
        pd.Series({"(unknown) acme.mystery-large": nan, "(unknown) acme.mystery-small": nan}),
        title="t",
        category_label="model",
        value_label="USD",
        horizontal=True,
    )
    assert [t.get_text() for t in ax.texts] == [
        plots.NOTHING_TO_SHOW,
        "unpriced, not drawn: (unknown) acme.mystery-large, (unknown) acme.mystery-small",
    ]
    data = pd.DataFrame(
        {"support": [nan], "eval": [nan]}, index=pd.to_datetime(["2026-10-01"], utc=True)
    )
    ax = plots.line(data, title="t", xlabel="day", ylabel="USD per day")
    assert [t.get_text() for t in ax.texts] == [
        plots.NOTHING_TO_SHOW,
        "unpriced, not drawn: support, eval",
    ]
    plt.close("all")


WOBBLE = pd.DataFrame(
    {"support-chat": [10.0, 12.0, 11.0, 10.5]},
    index=pd.date_range("2026-10-01", periods=4, freq="D", tz="UTC", name="day"),
)


def test_a_daily_dollar_line_starts_at_zero():
    """$10 to $12 a day: fitted to the values, the axis ran from $9.90 to $12.10, and a $2
    wobble filled the chart as if the spend had swung from nothing to all of it."""
    ax = plots.line(WOBBLE, title="t", xlabel="day (UTC)", ylabel="USD per day")
    bottom, top = ax.get_ylim()
    assert bottom == 0 and top >= 12.0
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "$0"
    plt.close("all")


def test_a_dollar_line_of_about_zero_is_drawn_over_the_axis():
    """An app spending $0.0074 a day beside one spending $10 to $12 (as 00_baseline's
    faq-helper) runs along the foot of an axis from $0: it was drawn under the axis line, and
    cut in half by the axes, so it did not show."""
    data = WOBBLE.assign(**{"faq-helper": 0.0074})
    ax = plots.line(data, title="t", xlabel="day (UTC)", ylabel="USD per day")
    axis_line = ax.spines["bottom"].get_zorder()
    assert [(line.get_zorder() > axis_line, line.get_clip_on()) for line in ax.get_lines()] == [
        (True, False),
        (True, False),
    ]
    plt.close("all")


def test_the_daily_chart_of_the_baseline_starts_at_zero():
    """00_baseline's chart, drawn from baseline.daily_spend (an Arrow-backed table): each app
    spends $0.18 a day (24 calls of 500 output tokens on Sonnet 4), and the axis ran from
    $0.17."""
    usage = make_usage(
        [
            dict(app=app, model="anthropic.claude-sonnet-4", n=96, output_tokens=500)
            for app in ("support-chat", "doc-summarizer")
        ]
    )
    frame = baseline.costed(usage, PriceCatalog.load("current").price(usage))
    ax = plots.line(
        baseline.daily_spend(frame, by="app"), title="t", xlabel="day (UTC)", ylabel="USD per day"
    )
    assert ax.get_ylim()[0] == 0
    plt.close("all")


@pytest.mark.parametrize(
    "draw",
    [
        lambda data: plots.bar(data, title="t", category_label="app", value_label="USD"),
        lambda data: plots.before_after(data, data / 2, title="t", category_label="app"),
        lambda data: plots.bar(
            data.to_frame("x").assign(y=data),
            title="t",
            category_label="a",
            value_label="USD",
            stacked=True,
        ),
    ],
    ids=["bar", "before_after", "stacked"],
)
def test_dollar_bars_start_at_zero(draw):
    ax = draw(pd.Series({"a": 10.0, "b": 12.0}))
    assert ax.get_ylim()[0] == 0
    plt.close("all")


def test_horizontal_dollar_bars_start_at_zero():
    data = pd.Series({"a": 10.0, "b": 12.0})
    ax = plots.bar(data, title="t", category_label="app", value_label="USD", horizontal=True)
    assert ax.get_xlim()[0] == 0
    plt.close("all")


def test_a_dollar_axis_shows_values_below_zero():
    """A saving that is negative (a move that costs more): the axis goes below $0 to show it,
    and keeps $0 on it. A bar chart's axis was cut at $0, which hid the bar."""
    savings = pd.Series({"a": -3.0, "b": 5.0})
    ax = plots.bar(savings, title="t", category_label="app", value_label="USD")
    bottom, top = ax.get_ylim()
    assert bottom < -3.0 and top > 5.0
    ax = plots.bar(savings, title="t", category_label="app", value_label="USD", horizontal=True)
    left, right = ax.get_xlim()
    assert left < -3.0 and right > 5.0
    losses = pd.Series([-3.0, -2.0, -5.0, -1.0])
    ax = plots.line(losses, title="t", xlabel="day", ylabel="USD per day")
    bottom, top = ax.get_ylim()
    assert bottom < -5.0 and top == 0
    plt.close("all")


def test_dollar_labels_below_zero_put_the_sign_before_the_dollar():
    """As amounts.usd writes them: '-$5', not '$-5'."""
    assert plots.usd_tick_labels([-10.0, -5.0, 0.0, 5.0]) == ["-$10", "-$5", "$0", "$5"]
    formatter = plots.UsdFormatter()
    assert (formatter(-25.0), formatter(-2500.0), formatter(0.00023)) == (
        "-$25",
        "-$2.5k",
        "$0.00023",  # was "$0.00"
    )
