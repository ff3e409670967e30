"""Tables and key figures cut to their top_n groups: one 'other (K apps)' row sums the rest,
so a cut table still adds up to the run's spend, and a long list names a few and counts the
rest.

The usage: 25 apps, app-01 to app-25, app-k making k Claude Sonnet 4 calls of 1,000 input +
500 output tokens in us-east-1 on 2026-10-01. By hand, one call is 1,000 x $3 / 1M + 500 x $15
/ 1M = $0.0105, so app-k spends k x $0.0105; with top_n 10 the top apps are app-25 down to
app-16 and the other 15 (app-01 to app-15) make 1 + 2 + ... + 15 = 120 calls, $1.26. app-25
makes one more call on 2026-10-02, and app-01 one call on 2026-10-03 in eu-central-1, which
the sheet does not price (app-25: 26 calls, $0.273; the whole run 327 calls, $3.4230).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from usage_builders import make_usage

from bedrock_finops import baseline, top_groups
from bedrock_finops.pricing import PriceCatalog

CALL = dict(model="anthropic.claude-sonnet-4", input_tokens=1000, output_tokens=500)
ONE_CALL = 0.0105
TOP_10 = [f"app-{k:02d}" for k in range(25, 15, -1)]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    groups = [dict(CALL, app=f"app-{k:02d}", n=k) for k in range(1, 26)]
    usage = make_usage(groups)
    usage["timestamp"] = pd.Timestamp("2026-10-01T09:00", tz="UTC")
    later = make_usage(
        [dict(CALL, app="app-25", n=1), dict(CALL, app="app-01", n=1, region="eu-central-1")]
    )
    later["timestamp"] = pd.to_datetime(["2026-10-02T09:00", "2026-10-03T09:00"], utc=True)
    usage = pd.concat([usage, later], ignore_index=True)
    usage["request_id"] = pd.array([f"r{i}" for i in range(len(usage))], dtype="string")
    catalog = PriceCatalog.load("current")
    return baseline.costed(usage, catalog.price(usage))


def test_the_top_rows_and_one_other_row_add_up_to_the_table(frame) -> None:
    table = baseline.spend_by(frame, "app")
    top = baseline.top_rows(table, 10, "app")
    assert list(top.index) == [*TOP_10, "other (15 apps)"]
    other = top.loc["other (15 apps)"]
    # app-01 to app-15: 120 priced calls and app-01's unpriced one
    assert (other["requests"], other["unpriced_requests"]) == (121, 1)
    assert other["input_tokens"] == 121_000 and other["output_tokens"] == 60_500
    assert other["cost_usd"] == pytest.approx(120 * ONE_CALL)
    assert other["usd_per_1k_requests"] == pytest.approx(1000 * ONE_CALL)  # priced calls only
    assert other["share_pct"] == pytest.approx(100 * 1.26 / 3.423)
    assert top["cost_usd"].sum() == pytest.approx(table["cost_usd"].sum())
    assert top["requests"].sum() == len(frame) == 327
    assert top["share_pct"].sum() == pytest.approx(100.0)
    assert top.dtypes.equals(table.dtypes)


def test_a_table_no_longer_than_top_n_is_unchanged(frame) -> None:
    table = baseline.spend_by(frame, "app")
    assert baseline.top_rows(table, 25, "app") is table


def test_the_caller_table_counts_identities() -> None:
    """Three callers at $3, $2 and $1 and top_n 1: the other row is the two others, $3."""
    table = pd.DataFrame(
        {
            "requests": [3, 2, 1],
            "unpriced_requests": [0, 0, 0],
            **{c: [0, 0, 0] for c in baseline.TOKEN_PARTS},
            "cost_usd": [3.0, 2.0, 1.0],
            "share_pct": [50.0, 100 / 3, 100 / 6],
            "usd_per_1k_requests": [1000.0, 1000.0, 1000.0],
        },
        index=pd.Index(["role/a", "role/b", "role/c"], name="identity"),
    )
    top = baseline.top_rows(table, 1, "identity")
    assert list(top.index) == ["role/a", "other (2 identities)"]
    assert top.index.name == "identity"
    assert top.loc["other (2 identities)", ["requests", "cost_usd", "share_pct"]].tolist() == [
        3,
        3.0,
        50.0,
    ]


def test_daily_spend_draws_the_top_apps_and_sums_the_others_by_day(frame) -> None:
    """The other column, by hand: 10-01 the 120 calls of app-01 to app-15, $1.26; 10-02 none
    of them called ($0, a day without requests); 10-03 app-01's one call, unpriced: unknown
    (NaN), not $0, as one app's day of unpriced calls is."""
    daily = baseline.daily_spend(frame, by="app", top_n=10)
    assert list(daily.columns) == [*TOP_10, "other (15 apps)"]
    other = daily["other (15 apps)"].to_numpy()
    assert other[:2] == pytest.approx([1.26, 0.0]) and np.isnan(other[2])
    assert daily["app-25"].to_numpy() == pytest.approx([25 * ONE_CALL, ONE_CALL, 0.0])
    every_app = baseline.daily_spend(frame, by="app")
    rest = every_app.drop(columns=TOP_10).sum(axis=1)
    assert other[:2] == pytest.approx(rest.to_numpy()[:2])
    assert daily.sum().sum() == pytest.approx(frame["cost_usd"].sum())


def test_daily_spend_with_top_n_over_the_apps_orders_them_by_spend(frame) -> None:
    daily = baseline.daily_spend(frame, by="app", top_n=30)
    assert list(daily.columns) == [f"app-{k:02d}" for k in range(25, 0, -1)]


def test_the_unpriced_line_names_at_most_most_groups(frame) -> None:
    """Three apps with unpriced calls; named one at most: the one with most, then a count."""
    calls = make_usage(
        [
            dict(CALL, app="eval", n=3, region="eu-central-1"),
            dict(CALL, app="beta", n=2, region="eu-central-1"),
            dict(CALL, app="gamma", n=1, region="eu-central-1"),
        ]
    )
    unpriced = baseline.costed(calls, PriceCatalog.load("current").price(calls))
    assert baseline.unpriced_note(unpriced, "app", 1) == (
        "Unpriced (cost unknown, not in the charts): eval 3 of 3 requests and 2 more apps, "
        "3 unpriced requests"
    )
    assert baseline.unpriced_note(unpriced, "app", 3) == baseline.unpriced_note(unpriced, "app")


def test_sum_rest_keeps_the_top_in_their_order_and_sums_the_others() -> None:
    values = pd.Series({"a": 1.0, "b": 5.0, "c": float("nan"), "d": 3.0, "e": 2.0}, name="usd")
    cut = top_groups.sum_rest(values, 2, "app")
    assert cut.to_dict() == {"b": 5.0, "d": 3.0, "other (3 apps)": 3.0}  # a + e; c unknown
    assert cut.name == "usd"
    unknown = top_groups.sum_rest(pd.Series({"a": 2.0, "b": float("nan")}), 1, "app")
    assert np.isnan(unknown["other (1 app)"])  # nothing known to sum: unknown, not $0
    ranked = top_groups.sum_rest(values, 2, "app", rank_by=pd.Series({"a": 9.0, "e": 8.0}))
    assert list(ranked.index) == ["a", "e", "other (3 apps)"]


def test_names_and_notes() -> None:
    assert top_groups.named(["a", "b", "c"], 5) == "a, b, c"
    assert top_groups.named(["a", "b", "c"], 1) == "a and 2 more"
    assert top_groups.named(["a", "b"], 1, "app") == "a and 1 more app"
    assert top_groups.counted(1, "identity") == "1 identity"
    assert top_groups.counted(1000, "identity") == "1,000 identities"
    assert top_groups.is_other("other (1,000 apps)") and not top_groups.is_other("other")
    assert top_groups.cut_note(25, 10, "app", summed=True) == (
        "top 10 of 25 apps by spend; other (15 apps) sums the rest"
    )
    assert top_groups.cut_note(25, 10, "app", summed=False) == (
        "top 10 of 25 apps by spend; 15 not shown"
    )
    assert top_groups.cut_note(10, 10, "app", summed=True) == ""


def test_the_share_note_says_what_the_top_rows_hold() -> None:
    """1,000 segments: ten at $1.50, 990 at $0.64333...: the top 10 hold $15 of $651.90."""
    cost = pd.Series([1.5] * 10 + [636.9 / 990] * 990)
    assert top_groups.share_note(cost, 10, "segment") == (
        "top 10 of 1,000 segments by spend: $15.00 of $651.90 priced spend (2.3%); the other "
        "990 hold the rest"
    )
    assert top_groups.share_note(cost[:9], 10, "segment") == (
        "all 9 segments shown: $13.50 priced spend"
    )


def test_the_share_note_of_segments_none_of_them_priced_says_so() -> None:
    """Every segment unpriced (models the sheet lacks): no '$0.00 priced spend'."""
    nan = float("nan")
    assert top_groups.share_note(pd.Series([nan] * 5), 10, "segment") == (
        "all 5 segments shown: no priced spend (every request unpriced)"
    )
    assert top_groups.share_note(pd.Series([nan] * 12), 10, "segment") == (
        "10 of 12 segments shown: no priced spend (every request unpriced)"
    )
