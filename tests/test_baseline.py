"""The baseline's figures against costs computed independently from truth.json and the sheet."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from usage_builders import make_usage

from bedrock_finops import baseline, billing_inputs, models, notebook, reconcile, sample
from bedrock_finops.billed import billed_totals
from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.pricing import PriceCatalog

pytestmark = pytest.mark.slow


SONNET4 = "anthropic.claude-sonnet-4"


@pytest.fixture(scope="module")
def cat() -> PriceCatalog:
    return PriceCatalog.load("current")


@pytest.fixture(scope="module")
def ctx() -> notebook.RunContext:
    return notebook.open_run("")  # the embedded sample, ingested once and cached


@pytest.fixture(scope="module")
def truth(ctx) -> dict:
    return json.loads((ctx.run_dir / "truth.json").read_text())


@pytest.fixture(scope="module")
def frame(ctx) -> pd.DataFrame:
    return baseline.costed(ctx.usage, ctx.priced)


def expected_app_cost(app: dict, catalog: PriceCatalog) -> float:
    """Truth token totals x the sheet's per-1K rates, by hand."""
    ref = models.resolve(app["model_id"])
    rate = catalog.rate(ref.key, app["region"], ref.geo)
    parts = [
        ("input_tokens", "input_per_1k"),
        ("cache_read_tokens", "cache_read_per_1k"),
        ("cache_write_tokens", "cache_write_5m_per_1k"),
        ("output_tokens", "output_per_1k"),
    ]
    # a model without caching has no cache rates; it also has no cache tokens
    return sum(app[t] * rate[r] for t, r in parts if app[t]) / 1000


def test_spend_by_app_matches_truth_and_sheet(ctx, truth, frame) -> None:
    by_app = baseline.spend_by(frame, "app")
    priced_apps = {a: v for a, v in truth["apps"].items() if models.resolve(v["model_id"]).known}
    assert set(by_app.index) == set(truth["apps"])
    for name, app in priced_apps.items():
        assert by_app.loc[name, "requests"] == app["requests"]
        assert by_app.loc[name, "cost_usd"] == pytest.approx(
            expected_app_cost(app, ctx.catalog), rel=1e-9
        ), name
    total = sum(expected_app_cost(a, ctx.catalog) for a in priced_apps.values())
    assert baseline.headline(frame, ctx.period)["priced spend, USD"] == pytest.approx(
        total, abs=0.01
    )


def test_unknown_model_is_unpriced_not_zero(truth, frame) -> None:
    by_app = baseline.spend_by(frame, "app")
    unknown_app = truth["faults"]["unknown_model"]["app"]
    assert pd.isna(by_app.loc[unknown_app, "cost_usd"])
    assert by_app.loc[unknown_app, "unpriced_requests"] == len(
        truth["faults"]["unknown_model"]["request_ids"]
    )


def test_usd_per_1k_requests_divides_by_priced_requests_only(cat) -> None:
    """100 Sonnet 4 calls in us-east-1 (priced) and 100 in eu-central-1 (no sheet row), each
    1,000 input + 500 output tokens; and 10 calls of an app wholly in eu-central-1.

    By hand, one priced call: 1,000 x 0.003 / 1000 + 500 x 0.015 / 1000 = 0.0105 USD, so the
    100 priced calls cost 1.05 USD and 1,000 of them 10.50 USD. Dividing by all 200 calls
    would give 5.25, as if the unpriced ones were free. The all-unpriced app has no figure."""
    call = dict(model=SONNET4, input_tokens=1000, output_tokens=500)
    usage = make_usage(
        [
            dict(call, app="support", n=100),
            dict(call, app="support", n=100, region="eu-central-1"),
            dict(call, app="eval", n=10, region="eu-central-1"),
        ]
    )
    frame = baseline.costed(usage, cat.price(usage))
    by_app = baseline.spend_by(frame, "app")
    support = by_app.loc["support"]
    assert (support["requests"], support["unpriced_requests"]) == (200, 100)
    assert support["cost_usd"] == pytest.approx(1.05)
    assert support["usd_per_1k_requests"] == pytest.approx(10.50)
    assert pd.isna(by_app.loc["eval", "cost_usd"])
    assert pd.isna(by_app.loc["eval", "usd_per_1k_requests"])
    by_model = baseline.spend_by(frame, "model")
    assert by_model.loc[SONNET4, "usd_per_1k_requests"] == pytest.approx(10.50)


def test_share_of_spend_is_unknown_for_an_unpriced_group_when_nothing_is_priced(cat) -> None:
    """Ten Sonnet 4 calls, all in eu-central-1 (no sheet row): there is no priced spend to
    take a share of, so the app's share is NaN, not 0%."""
    usage = make_usage([dict(model=SONNET4, app="eval", n=10, region="eu-central-1")])
    by_app = baseline.spend_by(baseline.costed(usage, cat.price(usage)), "app")
    assert by_app.loc["eval", "unpriced_requests"] == 10
    assert pd.isna(by_app.loc["eval", "share_pct"])


def _calls_on(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """One Sonnet 4 call (1,000 input + 500 output tokens) per (app, Region, UTC time)."""
    call = dict(model=SONNET4, input_tokens=1000, output_tokens=500, n=1)
    usage = pd.concat([make_usage([dict(call, app=a, region=r)]) for a, r, _ in rows])
    usage["timestamp"] = pd.to_datetime([t for _, _, t in rows], utc=True)
    usage["request_id"] = pd.array([f"r{i}" for i in range(len(rows))], dtype="string")
    return usage.reset_index(drop=True)


def test_daily_and_hourly_spend_show_unknown_cost_as_nan_not_zero(cat) -> None:
    """A us-east-1 call is priced at 0.0105 USD (1,000 x 0.003 / 1000 + 500 x 0.015 / 1000);
    an eu-central-1 call has no price. By hand, per day:
    support: 10-01 one priced + one unpriced call -> 0.0105 (the priced part, as spend_by);
    10-02 one unpriced call only -> NaN; 10-03 one priced call -> 0.0105.
    chat: no call on 10-01 or 10-02 -> 0.0; 10-03 one priced call -> 0.0105.
    eval: its one call is unpriced -> NaN on every day (an unpriced app, not a $0 one).
    Per hour: 09:00 two priced calls -> 0.021; 10:00 and 11:00 unpriced calls only -> NaN;
    12:00 one priced call -> 0.0105; every other hour no call -> 0.0."""
    usage = _calls_on(
        [
            ("support", "us-east-1", "2026-10-01T09:00"),
            ("support", "eu-central-1", "2026-10-01T10:00"),
            ("support", "eu-central-1", "2026-10-02T09:00"),
            ("support", "us-east-1", "2026-10-03T09:00"),
            ("eval", "eu-central-1", "2026-10-02T11:00"),
            ("chat", "us-east-1", "2026-10-03T12:00"),
        ]
    )
    frame = baseline.costed(usage, cat.price(usage))
    daily = baseline.daily_spend(frame, by="app")
    nan = float("nan")
    expected = pd.DataFrame(
        {"chat": [0.0, 0.0, 0.0105], "eval": [nan, nan, nan], "support": [0.0105, nan, 0.0105]},
        index=pd.to_datetime(["2026-10-01", "2026-10-02", "2026-10-03"], utc=True),
    )
    pd.testing.assert_frame_equal(
        daily, expected, check_names=False, check_index_type=False, check_column_type=False
    )
    hourly = baseline.hourly_profile(frame)
    assert len(hourly) == 24
    assert hourly[9] == pytest.approx(0.021) and hourly[12] == pytest.approx(0.0105)
    assert hourly[[10, 11]].isna().all()
    assert (hourly.drop([9, 10, 11, 12]) == 0.0).all()
    assert baseline.unpriced_note(frame, "app") == (
        "Unpriced (cost unknown, not in the charts): support 2 of 4 requests, eval 1 of 1 requests"
    )
    priced_only = frame[frame["priced"]]
    assert baseline.unpriced_note(priced_only, "app") == "Every request is priced."


def test_spend_by_model_sonnet_sums_its_apps(ctx, truth, frame) -> None:
    by_model = baseline.spend_by(frame, "model")
    sonnet_apps = [
        a
        for a in truth["apps"].values()
        if models.resolve(a["model_id"]).key == "anthropic.claude-sonnet-4"
    ]
    assert len(sonnet_apps) == 4  # support-chat, doc-summarizer, code-assistant, report-bot
    expected = sum(expected_app_cost(a, ctx.catalog) for a in sonnet_apps)
    assert by_model.loc["anthropic.claude-sonnet-4", "cost_usd"] == pytest.approx(expected)


def test_data_quality_counts_equal_planted_faults(ctx, truth) -> None:
    dq = baseline.data_quality(ctx.ingest_report, ctx.priced, ctx.catalog.unpriced(ctx.usage))
    faults = truth["faults"]
    assert dq["rows in usage table"] == truth["requests_total"]
    assert dq["duplicate deliveries dropped"] == truth["duplicates"]["count"]
    assert dq["quarantined lines"] == len(faults["malformed_lines"]) + len(
        faults["truncated_files"]
    )
    # the unreadable tail of a truncated gzip counts as one line read, and is quarantined
    assert dq["lines read"] == truth["lines_total"] + len(faults["truncated_files"])
    assert dq["accounted for"] is True
    assert dq["unpriced rows"] == len(faults["unknown_model"]["request_ids"])
    assert dq["unpriced model ids"] == 1
    assert dq["large bodies not fetched"] == len(faults["large_bodies"])
    # the sample re-delivers records unchanged, reads no large body and runs with no window
    assert dq["duplicates unlike the copy kept"] == 0
    assert dq["large bodies unreadable"] == 0 and dq["delivered too late for the window"] == 0
    # a report written before the count existed: its list is the count
    older = {**ctx.ingest_report, "conflicting_duplicates": [{"request_id": "a"}] * 3}
    older.pop("conflicting_duplicate_count", None)
    dq_older = baseline.data_quality(older, ctx.priced, ctx.catalog.unpriced(ctx.usage))
    assert dq_older["duplicates unlike the copy kept"] == 3
    # a report written before these counts existed: not recorded, which is not none
    oldest = {
        k: v
        for k, v in ctx.ingest_report.items()
        if k not in {"conflicting_duplicate_count", "conflicting_duplicates", "large_bodies_unread"}
        and k not in {"delivered_too_late", "large_bodies_not_fetched"}
    }
    dq_oldest = baseline.data_quality(oldest, ctx.priced, ctx.catalog.unpriced(ctx.usage))
    for name in (
        "duplicates unlike the copy kept",
        "large bodies not fetched",
        "large bodies unreadable",
        "delivered too late for the window",
    ):
        assert dq_oldest[name] == baseline.NOT_RECORDED
    assert dq_oldest["accounted for"] is True
    reasons = baseline.quarantine_reasons(ctx.quarantine)["lines"].to_dict()
    assert reasons == {"invalid JSON": len(faults["malformed_lines"]), "truncated gzip": 1}


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (930, True),  # 900 rows + 10 quarantined + 20 duplicates: every line read is counted
        (1000, False),  # 70 lines read and found nowhere
        (910, False),  # 20 more counted than read
    ],
)
def test_accounted_for_only_when_every_line_read_is_a_row_quarantined_or_duplicate(
    lines: int, expected: bool
) -> None:
    report = {"lines_read": lines, "rows": 900, "quarantined": 10, "duplicates": 20}
    dq = baseline.data_quality(report, pd.DataFrame({"priced": [True]}), pd.DataFrame())
    assert dq["accounted for"] is expected


def test_token_mix_and_hourly_profile_add_up(frame) -> None:
    mix = baseline.token_mix(frame, "model")
    assert mix.to_numpy().sum() == pytest.approx(frame["cost_usd"].sum())
    hourly = baseline.hourly_profile(frame)
    assert len(hourly) == 24
    assert hourly.sum() == pytest.approx(frame["cost_usd"].sum())
    doc = frame[frame["app"] == "doc-summarizer"]
    assert set(doc["hour"].unique()) <= {1, 2, 3}


def test_reconciliation_finds_the_planted_gaps(ctx, frame) -> None:
    billing = notebook.read_billing(ctx.run_dir)
    planted = json.loads((ctx.run_dir / "sample_cur_truth.json").read_text())
    window = billing_inputs.run_window(ctx.run_dir)  # as the notebook compares
    rec = reconcile.reconcile(baseline.log_costs(frame), billing, window=window)
    t = rec.totals
    # the sample's CUR bills its logged days 2026-10-01 to 10-30 only: nothing lies outside
    assert window == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert t["outside_window_lines"] == 0 and t["outside_window_log_usd"] == 0
    assert t["unlogged_usd"] == pytest.approx(planted["unlogged"]["billed_usd"], abs=0.01)
    private = planted["private_pricing"]
    assert t["discount_usd"] == pytest.approx(private["billed_usd"] - private["list_usd"], abs=0.01)
    # billed usage = the logs at list price, less the planted discount, plus the unlogged day
    expected_billed = (
        frame["cost_usd"].sum()
        - (private["list_usd"] - private["billed_usd"])
        + planted["unlogged"]["billed_usd"]
    )
    assert t["billed_usd"] == pytest.approx(expected_billed, abs=0.01)  # 698.57
    assert t["tax_usd"] == pytest.approx(planted["tax_usd"])  # on its own line, once
    assert t["billed_incl_tax_usd"] == pytest.approx(expected_billed + planted["tax_usd"], abs=0.01)
    # the manifest reports the same billed figure as the notebook
    manifest = billed_totals(billing).for_manifest()
    assert manifest["billed_usd"] == round(t["billed_usd"], 2)
    assert manifest["tax_usd"] == planted["tax_usd"]
    assert t["log_usd"] == pytest.approx(frame["cost_usd"].sum(), abs=0.01)
    day_rows = rec.rows[rec.rows["date"].astype(str) == planted["unlogged"]["day"]]
    sonnet = day_rows[day_rows["model"] == planted["unlogged"]["model"]]
    assert sonnet["explanation"].iat[0].startswith("unlogged traffic")
    gaps = baseline.gaps_by_explanation(rec.rows)
    # the planted 15% private rate reads as billed / list - 1 = -15.0%, on every base it names
    planted_pct = (private["billed_usd"] / private["list_usd"] - 1) * 100  # -15.0
    assert planted_pct == pytest.approx(-private["discount_pct"])
    assert t["discount_pct_of_logged"] == pytest.approx(planted_pct, abs=0.01)
    assert gaps.loc["private pricing / discount", "gap_pct_of_logged"] == pytest.approx(
        planted_pct, abs=0.01
    )
    llama = rec.rows[rec.rows["model"] == private["model"]]
    assert llama["gap_pct_of_logged"].to_numpy() == pytest.approx(planted_pct, abs=0.01)
    figures = reconcile.key_figures(rec)
    assert figures["  private pricing / discount, billed / logged - 1, %"] == pytest.approx(
        -15.0, abs=0.01
    )
    assert figures["tolerance, % of billed cost (tokens: % of logged tokens)"] == 2.0


def test_sample_cur_writes_its_discount_as_aws_does(ctx) -> None:
    """The planted 15% private rate sits on Llama 3.1 70B's usage lines as a default CUR 2.0
    export writes it: line_item_unblended_cost at list, discount.total_discount = -15% of it,
    line_item_net_unblended_cost = list - 15%. Summed over those lines, unblended is the truth's
    list_usd and net its billed_usd (list x 0.85); the reader bills the net."""
    from bedrock_finops.sources.cur import read_cur

    planted = json.loads((ctx.run_dir / "sample_cur_truth.json").read_text())["private_pricing"]
    raw = pd.read_parquet(ctx.run_dir / "sample_cur.parquet")
    discount = raw["discount"].map(lambda m: dict(m).get("total_discount", 0.0))
    off = discount != 0
    unblended, net = raw["line_item_unblended_cost"], raw["line_item_net_unblended_cost"]
    assert discount[off].to_numpy() == pytest.approx(-0.15 * unblended[off].to_numpy())
    assert (net == unblended + discount).all()
    assert unblended[off].sum() == pytest.approx(planted["list_usd"])
    assert net[off].sum() == pytest.approx(planted["billed_usd"])
    billing = read_cur(ctx.run_dir / "sample_cur.parquet")
    assert set(billing.loc[billing["discount_usd"] != 0, "model"]) == {planted["model"]}
    llama = billing[billing["model"] == planted["model"]]
    assert llama["cost_usd"].sum() == pytest.approx(planted["billed_usd"])
    assert llama["discount_usd"].sum() == pytest.approx(planted["billed_usd"] - planted["list_usd"])


def test_reconciliation_carries_unpriced_traffic(ctx, truth, frame) -> None:
    """The unknown model's logged requests reach the reconciliation (cost unknown, not $0)."""
    unknown = truth["faults"]["unknown_model"]
    lc = baseline.log_costs(frame)
    assert lc["unpriced_requests"].sum() == len(unknown["request_ids"])
    assert lc["requests"].sum() == len(frame)  # every logged request, priced or not
    assert lc["cost_usd"].sum() == pytest.approx(frame["cost_usd"].sum())
    rec = reconcile.reconcile(lc, notebook.read_billing(ctx.run_dir))
    assert rec.totals["unpriced_requests"] == len(unknown["request_ids"])
    rows = rec.rows[rec.rows["unpriced_requests"] > 0]
    assert rows["requests"].sum() == len(unknown["request_ids"])
    # the sample's CUR bills priced traffic only: nothing billed for the unknown model
    assert set(rows["explanation"]) == {"not in bill; logged but unpriced"}
    assert (rows["log_usd"] == 0).all() and (rows["billed_usd"] == 0).all()


def test_key_figures_read_as_the_tables_do(frame) -> None:
    """A cost printed as a key figure reads exactly as in the table above it (343.63, not 344)."""
    for key in ("model", "app"):
        table = baseline.spend_by(frame, key)
        for cost in table["cost_usd"].dropna():
            if cost >= 0.01:
                assert notebook.format_value(round(cost, 2)) == notebook.display_float(cost)
        per_1k = table["usd_per_1k_requests"].dropna()
        assert all(
            notebook.format_value(round(v, 2)) == notebook.display_float(v)
            for v in per_1k[per_1k >= 0.01]
        )


def test_largest_gaps_shows_the_period_of_a_row_longer_than_a_day() -> None:
    """A monthly Nova Pro line for October ($24.00, 30M tokens) against 20 logged days at
    $0.80 ($16.00): one row, gap $24.00 - $16.00 = $8.00, shown from 2026-10-01 to its
    end_date 2026-11-01 rather than as the 1st's gap alone. A daily bill's table keeps
    date alone."""
    from bedrock_finops.sources.cur import billing_frame

    oct1, nov1 = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
    line = {
        "date": oct1, "end_date": nov1, "source": "cur", "service": "Amazon Bedrock",
        "product_name": None, "usage_type": None, "region": "us-east-1",
        "model": "amazon.nova-pro", "token_kind": "input", "mode": "on_demand",
        "quantity": 30_000_000, "unit": "tokens", "cost_usd": 24.00, "line_type": "Usage",
        "marketplace": False,
    }  # fmt: skip
    days = [oct1 + dt.timedelta(days=k) for k in range(20)]
    logs = pd.DataFrame(
        {"date": days, "model": ["amazon.nova-pro"] * 20, "cost_usd": [0.80] * 20,
         "requests": [1] * 20, "tokens": [1_000_000] * 20}
    )  # fmt: skip
    monthly = baseline.largest_gaps(
        reconcile.reconcile(logs, billing_frame(pd.DataFrame([line]))).rows
    )
    assert list(monthly.columns[:3]) == ["date", "end_date", "model"]
    row = monthly.iloc[0]
    assert (row["date"], row["end_date"]) == (oct1, nov1)
    assert row["gap_usd"] == pytest.approx(8.00)
    daily_line = {**line, "end_date": dt.date(2026, 10, 2), "quantity": 1_000_000, "cost_usd": 0.80}
    daily = baseline.largest_gaps(
        reconcile.reconcile(logs, billing_frame(pd.DataFrame([daily_line]))).rows
    )
    assert "end_date" not in daily.columns


@pytest.fixture(scope="module")
def six_days(tmp_path_factory) -> Path:
    """Six days of the sample from 2026-10-01 at 0.3 of its traffic: its logs."""
    folder = tmp_path_factory.mktemp("six-days")
    sample.generate(folder, days=6, scale=0.3)
    return folder / "logs"


@pytest.mark.parametrize(
    ("start", "end", "calendar_days", "run_rate"),
    [
        ("2026-10-02", "2026-10-04", 2, 122.65),  # midnight to midnight: both rules agree
        ("2026-10-02T12:00Z", "2026-10-04T12:00Z", 3, 108.22),  # was 72.15
        ("2026-10-02T00:00-07:00", "2026-10-04T00:00-07:00", 3, 116.87),  # was 77.91
    ],
)
def test_a_48_hour_window_is_2_days_of_run_rate_whatever_hour_it_starts(
    six_days, tmp_path, start, end, calendar_days, run_rate
) -> None:
    """A window of 48 hours the records fill is 2 days, though from noon (or from midnight in
    Los Angeles, 07:00 UTC) its records touch 3 UTC calendar days, which read a run-rate of
    2/3 of the traffic's. The run-rate is the unrounded spend x 30.4375 / 2 ($7.1108 and
    $7.6792 of spend: $108.22 and $116.87)."""
    ingest_to_folder(six_days, tmp_path, start, end, progress=False, workers=1)
    ctx = notebook.open_run(tmp_path, user_text=False)
    frame = baseline.costed(ctx.usage, ctx.priced)
    figures = baseline.headline(frame, ctx.period)
    (rate,) = (v for k, v in figures.items() if k.startswith("monthly run-rate"))
    assert notebook.format_value(rate) == f"{run_rate:.2f}"
    assert rate == pytest.approx(float(frame["cost_usd"].sum()) * 30.4375 / 2, rel=1e-12)
    assert figures["monthly run-rate (priced spend x 30.4375 / 2 days), USD"] == rate
    assert (ctx.period["days"], ctx.period["calendar_days"]) == (2, calendar_days)
    counted_as = figures["period days, counted as"]
    if calendar_days == 2:
        assert counted_as.startswith("the 2 UTC calendar days the records touch (2026-10-02 to ")
    else:
        assert counted_as.startswith("the window [2026-10-02 ")
        assert counted_as.endswith(", 2 days long, not the 3 UTC calendar days the records "
                                   "touch (2026-10-02 to 2026-10-04), which would count its "
                                   "part days whole")  # fmt: skip


def _one_day_in(region: str, cat) -> tuple[pd.DataFrame, dict]:
    """Three Sonnet 4 calls on 2026-10-01 (09:00, 10:00, 12:00 UTC) in ``region``, costed,
    and their period."""
    from bedrock_finops.findings import period_of

    usage = _calls_on([("eval", region, f"2026-10-01T{h}:00") for h in ("09", "10", "12")])
    return baseline.costed(usage, cat.price(usage)), period_of(usage)


def test_a_run_with_nothing_priced_has_no_priced_spend_to_show(cat) -> None:
    """Only calls the sheet cannot price (Sonnet 4 in eu-central-1: no row): the spend and
    run-rate are unknown, not $0.00 a month, and every hour of the day is unknown, so the hour
    chart says there is nothing to show: it drew $0 bars for the hours without calls and took
    hours 09, 10 and 12 off its axis."""
    frame, period = _one_day_in("eu-central-1", cat)
    figures = baseline.headline(frame, period)
    assert pd.isna(figures["priced spend, USD"])
    assert pd.isna(figures["monthly run-rate (priced spend x 30.4375 / 1 day), USD"])
    assert figures["requests"] == 3
    hourly = baseline.hourly_profile(frame)
    assert len(hourly) == 24 and hourly.isna().all()


def test_the_headline_of_one_day_says_day(cat) -> None:
    """Three calls at 0.0105 USD on one day: $0.03 a day, $0.96 a month (0.0315 x 30.4375),
    the figures unrounded (the key figures show them to the cent)."""
    frame, period = _one_day_in("us-east-1", cat)
    figures = baseline.headline(frame, period)
    assert figures["period"] == "2026-10-01 to 2026-10-01 (1 day)"
    spend = figures["priced spend, USD"]
    rate = figures["monthly run-rate (priced spend x 30.4375 / 1 day), USD"]
    assert spend == pytest.approx(0.0315) and rate == pytest.approx(0.0315 * 30.4375)
    assert (notebook.format_value(spend), notebook.format_value(rate)) == ("0.03", "0.96")
