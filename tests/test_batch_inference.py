"""Strategy 02 on hand-built usage: signals, eligibility, cache netting, params, article table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from usage_builders import set_user_turns

from bedrock_finops import media_blocks
from bedrock_finops.findings import period_of
from bedrock_finops.notebook import format_value
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.schema import empty_usage
from bedrock_finops.strategies import batch_findings, batch_params
from bedrock_finops.strategies import batch_inference as bi
from bedrock_finops.strategies.batch_article_examples import (
    article_examples,
    article_token_budgets,
)
from bedrock_finops.strategies.batch_signals import (
    DEFAULT_INTERACTIVE_PATTERNS,
    DEFAULT_PIPELINE_PATTERNS,
    DEFAULT_WEIGHTS,
    busiest_window_share,
    business_and_weekend,
    business_hours_per_day,
    caller_kind,
)

PIPELINE = "arn:aws:sts::123456789012:assumed-role/nightly-etl-pipeline/run-1"
HUMAN = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_abc/alice@example.com"
WEB = "arn:aws:sts::123456789012:assumed-role/support-web-frontend/i-0abc"
SONNET = "anthropic.claude-sonnet-4"


@pytest.fixture(scope="module")
def seed() -> PriceCatalog:
    return PriceCatalog.load("seed")


def make_usage(specs: list[dict]) -> pd.DataFrame:
    """Rows from specs: app, arn, operation, hours (list), days, per_hour, tokens, cache."""
    rows = []
    for spec in specs:
        for day in range(spec.get("days", 3)):
            for hour in spec["hours"]:
                for k in range(spec.get("per_hour", 1)):
                    ts = pd.Timestamp("2026-10-05", tz="UTC") + pd.Timedelta(
                        days=day, hours=hour, minutes=k % 60
                    )
                    op = spec.get("operation", "Converse")
                    rows.append(
                        {
                            "request_id": f"{spec['app']}-{day}-{hour}-{k}",
                            "timestamp": ts,
                            "region": "us-east-1",
                            "operation": op,
                            "streaming": op.endswith("Stream"),
                            "model_id_raw": spec.get("model", SONNET) + "-20250514-v1:0",
                            "model": spec.get("model", SONNET),
                            "provider": "anthropic",
                            "family": "claude-sonnet",
                            "geo": "none",
                            "service_tier": "default",
                            "identity_arn": spec["arn"],
                            "app": spec["app"],
                            "input_tokens": spec.get("input", 1000),
                            "cache_read_tokens": spec.get("cache_read", 0),
                            "cache_write_tokens": 0,
                            "output_tokens": spec.get("output", 200),
                            "system_hash": spec.get("template", "sys-" + spec["app"]),
                            "user_text": "text",
                            "media_sent": "",  # as the ingest records a turn of text
                            "max_tokens": 1024,
                        }
                    )
    base = empty_usage()
    return pd.concat([base, pd.DataFrame(rows)], ignore_index=True)[base.columns]


NIGHTLY = {"app": "nightly", "arn": PIPELINE, "hours": [1, 2, 3], "per_hour": 50}
CHAT = {
    "app": "chat", "arn": HUMAN, "operation": "ConverseStream",
    "hours": list(range(9, 17)), "per_hour": 20,
}  # fmt: skip


def test_caller_kind():
    pats, inter = DEFAULT_PIPELINE_PATTERNS, DEFAULT_INTERACTIVE_PATTERNS
    assert caller_kind(PIPELINE, pats, inter) == "pipeline"
    assert caller_kind(HUMAN, pats, inter) == "user"
    assert caller_kind(WEB, pats, inter) == "interactive"
    assert caller_kind("arn:aws:iam::123456789012:user/bob", pats, inter) == "user"
    assert caller_kind("arn:aws:sts::1:assumed-role/svc/bob@corp.com", pats, inter) == "user"
    assert caller_kind("arn:aws:sts::1:assumed-role/ranker/x", pats, inter) == "unknown"
    assert caller_kind(None, pats, inter) == "unknown"


def test_busiest_window_wraps_midnight():
    hours = np.array([23, 23, 0, 1, 12])
    share, start = busiest_window_share(hours, 3)
    assert share == pytest.approx(4 / 5) and start == 23
    share, start = busiest_window_share(np.array([1, 2, 3]), 4)  # 0-3 and 1-4 tie
    assert share == 1.0 and start == 1


def test_signals_and_eligibility(seed):
    usage = make_usage([NIGHTLY, CHAT])
    bp = bi.plan(usage, seed)
    segs = bp.segments.set_index("app")
    night, chat = segs.loc["nightly"], segs.loc["chat"]
    # nightly: 150 requests a day, all in 01-04 UTC, pipeline role, non-streaming
    assert night["caller_score"] == 1.0 and night["non_streaming_score"] == 1.0
    assert night["busiest_window_value"] == 1.0 and night["busiest_window_score"] == 1.0
    assert night["off_hours_score"] == 1.0
    assert night["weekend_value"] == 0.0  # Mon 5 Oct - Wed 7 Oct 2026
    assert night["regularity_value"] == 0.0 and night["regularity_score"] == 1.0
    assert night["volume_value"] == 150.0 and night["volume_score"] == 1.0
    w = bp.params["weights"]
    assert night["score"] == pytest.approx(1 - w["weekend"])
    assert bool(night["eligible"]) and night["decision"] == batch_params.MOVE
    # chat: a person in an SSO session, streaming, business hours
    assert chat["caller_score"] == 0.0 and chat["non_streaming_score"] == 0.0
    assert chat["off_hours_score"] == 0.0
    assert not bool(chat["eligible"])
    ev = bp.evidence[bp.evidence["app"] == "nightly"].set_index("signal")
    assert ev["contribution"].sum() == pytest.approx(night["score"])


def test_weekend_and_off_hours_scores_by_hand(seed):
    """One request an hour at 01, 02, 03 and 09 UTC from Monday 5 to Monday 12 October 2026:
    8 days, 32 requests. Weekend: Saturday and Sunday's 8, a share of 8 / 32 = 0.25, scored
    against the 2 / 7 uniform traffic would show: 0.25 / (2 / 7) = 0.875. Off weekday business
    hours (08-18 UTC): the weekend's 8 and 3 of each weekday's 4, 8 + 6 x 3 = 26 of 32 =
    0.8125; uniform traffic is off those hours 1 - 5 x 10 / 168 = 118 / 168 of the time, so
    the score is (0.8125 - 118 / 168) / (50 / 168) = (136.5 - 118) / 50 = 0.37."""
    week = dict(NIGHTLY, hours=[1, 2, 3, 9], per_hour=1, days=8)
    rec = bi.plan(make_usage([week]), seed).segments.iloc[0]
    assert rec["requests"] == 32
    assert rec["weekend_value"] == 0.25 and rec["weekend_score"] == pytest.approx(0.875)
    assert rec["off_hours_value"] == 0.8125 and rec["off_hours_score"] == pytest.approx(0.37)


def test_a_score_exactly_at_the_threshold_is_eligible(seed):
    """Weighing the caller alone, a role named like neither a pipeline nor an interactive app
    scores 0.5 (unknown): eligible at a threshold of 0.5 ("at or above"), not at 0.51."""
    ranker = dict(NIGHTLY, arn="arn:aws:sts::123456789012:assumed-role/ranker/x")
    caller_only = {s: 0.0 for s in DEFAULT_WEIGHTS} | {"caller": 1.0}
    usage = make_usage([ranker])
    at = bi.plan(usage, seed, weights=caller_only, threshold=0.5).segments.iloc[0]
    assert at["caller_score"] == 0.5 and at["score"] == 0.5
    assert bool(at["eligible"]) and at["decision"] == batch_params.MOVE
    above = bi.plan(usage, seed, weights=caller_only, threshold=0.51).segments.iloc[0]
    assert not bool(above["eligible"]) and above["decision"] == "-"


def test_business_hours_follow_the_time_zone(seed):
    """The same traffic on a Los Angeles clock: nightly's 01-03 UTC is 18-20 PDT the day
    before, so its first day (Mon 5 Oct UTC) falls on Sunday, and 18:00 is inside [8, 19)."""
    usage = make_usage([NIGHTLY, CHAT])
    la = bi.plan(
        usage, seed, business_hours=[8, 19], business_time_zone="America/Los_Angeles"
    ).segments.set_index("app")
    assert la.loc["nightly", "weekend_value"] == pytest.approx(1 / 3)
    assert la.loc["nightly", "off_hours_value"] == pytest.approx(7 / 9)  # Mon, Tue 18:00 PDT
    # chat's 09-17 UTC is 02-10 PDT: two of its eight hours (08, 09) are business hours
    assert la.loc["chat", "off_hours_value"] == pytest.approx(6 / 8)
    utc = bi.plan(usage, seed).segments.set_index("app")
    assert utc.loc["nightly", "weekend_value"] == 0.0
    assert utc.loc["chat", "off_hours_value"] == 0.0


def test_business_hours_keep_daylight_saving_and_wrap_midnight():
    stamps = pd.Series(
        pd.to_datetime(
            [
                "2026-03-06 15:30",  # Fri 07:30 PST: before 08:00
                "2026-03-09 15:30",  # Mon 08:30 PDT (clocks moved on Sun 8 Mar)
                "2026-03-14 17:00",  # Sat 10:00 PDT: weekend
            ],
            utc=True,
        )
    )
    business, weekend = business_and_weekend(stamps, [8, 18], "America/Los_Angeles")
    assert business.tolist() == [False, True, False]
    assert weekend.tolist() == [False, False, True]
    night = pd.Series(
        pd.to_datetime(
            ["2026-10-06 23:00", "2026-10-06 05:00", "2026-10-06 12:00", "2026-10-10 02:00"],
            utc=True,
        )
    )  # Tue 23:00, Tue 05:00, Tue 12:00, Sat 02:00
    assert business_and_weekend(night, [22, 6], "UTC")[0].tolist() == [True, True, False, False]
    assert [business_hours_per_day(h) for h in ([8, 18], [22, 6], [0, 24])] == [10, 8, 24]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"business_hours": [8, 8]}, r"business_hours \[8, 8\] must be \[start, end\)"),
        ({"business_hours": [8, 25]}, "end 1-24"),
        ({"business_hours": "18"}, "must be two whole hours"),
        ({"business_hours": [8, 12, 18]}, "must be two whole hours"),
        ({"business_hours": [8.5, 17.5]}, "must be two whole hours"),
        ({"business_hours": 8}, "must be two whole hours"),
        ({"business_time_zone": "EST"}, "no daylight saving.*use America/New_York"),
        ({"business_time_zone": "PST"}, "'PST' is not an IANA time zone name"),
        ({"business_time_zone": "America/Los Angeles"}, "America/Los_Angeles"),
    ],
)
def test_business_hours_params_are_checked(seed, params, message):
    with pytest.raises(ValueError, match=message):
        bi.plan(make_usage([NIGHTLY]), seed, **params)


def test_requests_without_a_logged_user_turn_stay_on_demand(seed):
    """30 of nightly's 450 requests lost their user turn (bodies not fetched): a batch record
    could hold only a placeholder, so they stay on demand, out of the saving, and are counted;
    an app none of whose turns were logged is blocked with the fix."""
    usage = make_usage([NIGHTLY, {**NIGHTLY, "app": "unread", "template": "sys-unread"}])
    set_user_turns(usage, usage.index[:30], None)  # nightly's first 30
    set_user_turns(usage, usage["app"] == "unread", None)
    bp = bi.plan(usage, seed)
    segs = bp.segments.set_index("app")
    assert segs.loc["nightly", "unlogged_user_turns"] == 30
    assert segs.loc["nightly", "decision"] == batch_params.MOVE
    assert len(bp.rows) == 420 and not bp.rows["request_id"].isin(usage["request_id"][:30]).any()
    # each request: 1,000 in + 200 out on Sonnet 4 (seed), on demand 0.006, batch 0.003
    assert bp.rows["savings_usd"].sum() == pytest.approx(420 * 0.003)
    assert any("30 of its requests stay on demand" in n for n in bp.notes)
    assert not segs.loc["unread", "eligible"]
    assert "fetch_large_bodies" in segs.loc["unread", "blockers"]
    # the job group and its minimum count only the 420 that can be rebuilt
    assert segs.loc["nightly", "job_group_requests"] == 420
    assert segs.loc["unread", "job_groups"] == 0
    assert segs.loc["unread", "requests_left_on_demand"] == 450
    assert segs.loc["nightly", "requests_left_on_demand"] == 30  # its unlogged ones
    with pytest.raises(ValueError, match="plan was made from 900 usage rows and usage has 450"):
        bi.export_jobs(
            bp, usage.iloc[:450], None, "unused", role_arn="arn:aws:iam::1:role/r", s3_prefix="s"
        )


def test_the_jobs_written_hold_exactly_the_requests_the_plan_moves(seed, tmp_path):
    usage = make_usage([NIGHTLY])
    set_user_turns(usage, usage.index[:30], None)
    bp = bi.plan(usage, seed)
    jobs = bi.export_jobs(
        bp, usage, None, tmp_path,
        role_arn="arn:aws:iam::123456789012:role/batch", s3_prefix="s3://bucket/p",
    )  # fmt: skip
    assert jobs["records"].sum() == len(bp.rows) == 420
    assert jobs["placeholder_user_text"].sum() == 0


def test_requests_whose_user_turn_is_empty_stay_on_demand_as_their_records_say(seed, tmp_path):
    """Bedrock refuses a text block that is empty or only white space, so such a turn in the
    table stood for content it does not keep as text: the record gets the placeholder of a
    turn not logged, and the plan leaves the request on demand as one, so the job written
    holds none and batch-export does not hold it back (it held the whole job)."""
    usage = make_usage([NIGHTLY])
    set_user_turns(usage, usage.index[:10], "")
    set_user_turns(usage, usage.index[10:15], " \n\t")
    bp = bi.plan(usage, seed)
    rec = bp.segments.iloc[0]
    assert (rec["unlogged_user_turns"], rec["requests_left_on_demand"]) == (15, 15)
    assert len(bp.rows) == 435 and not bp.rows["request_id"].isin(usage["request_id"][:15]).any()
    assert bp.rows["savings_usd"].sum() == pytest.approx(435 * 0.003)
    assert bp.data_quality["eligible_requests_without_user_text"] == 15
    jobs = bi.export_jobs(
        bp, usage, None, tmp_path,
        role_arn="arn:aws:iam::123456789012:role/batch", s3_prefix="s3://bucket/p",
    )  # fmt: skip
    assert jobs[["records", "placeholder_user_text"]].values.tolist() == [[435, 0]]


def test_the_minimum_records_rule_counts_only_requests_that_can_be_rebuilt(seed):
    """36 requests a day for 3 days (108), 20 without a logged user turn: 88 can go in a
    job, under the minimum of 100, so none moves."""
    spec = {**NIGHTLY, "per_hour": 12}
    usage = make_usage([spec])
    set_user_turns(usage, usage.index[:20], None)
    rec = bi.plan(usage, seed).segments.iloc[0]
    assert (rec["requests"], rec["unlogged_user_turns"]) == (108, 20)
    assert rec["job_group_requests"] == 88
    assert rec["min_records_rule"] == "too small for one job"
    assert rec["decision"] != batch_params.MOVE


def test_force_in_cannot_move_a_segment_none_of_whose_turns_were_logged(seed):
    usage = make_usage([NIGHTLY])
    usage["user_text"] = None
    bp = bi.plan(usage, seed, force_in=["nightly"])
    rec = bp.segments.iloc[0]
    assert not rec["eligible"] and rec["decision"] == "-"
    assert "fetch_large_bodies" in rec["blockers"]
    assert bp.rows.empty and not any("nan" in note for note in bp.notes)


def receipt_turn(n: int) -> str:
    """A user turn as the ingest keeps one that sent a receipt photo inline: the image's
    placeholder (no bytes), then the question."""
    import base64
    import io

    from PIL import Image

    from bedrock_finops.media_blocks import placeholder

    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (n % 255, 40, 90)).save(buf, "PNG")
    text, _ = placeholder("image", "image/png", base64.b64encode(buf.getvalue()).decode())
    return f"{text}\nExtract the fields from this receipt."


WHY_MEDIA = (
    "sent images, documents, video or audio (media_sent), which a batch record cannot carry: it "
    "holds only the last user turn, as text, with the placeholder of media sent inline (the "
    "usage table keeps no media bytes) or the JSON of media sent by reference (an S3 location "
    "or URL), which the model would answer instead"
)
MEDIA_BLOCKER = f"no request can be rebuilt: every request {WHY_MEDIA}"


def test_requests_whose_user_turn_held_inline_media_stay_on_demand(seed, tmp_path):
    """A user turn that sent an image inline is kept as its placeholder: a batch record would
    send the model that text, not the image. So, as a turn not logged, such a request stays
    on demand, out of the jobs and the saving, counted; an app all of whose turns held
    images is blocked, saying why."""
    usage = make_usage([NIGHTLY, {**NIGHTLY, "app": "receipts", "template": "sys-receipts"}])
    set_user_turns(usage, usage.index[:30], [receipt_turn(i) for i in range(30)])  # nightly's
    receipts = usage["app"] == "receipts"
    set_user_turns(usage, receipts, [receipt_turn(i) for i in range(int(receipts.sum()))])
    bp = bi.plan(usage, seed)
    segs = bp.segments.set_index("app")
    assert segs.loc["nightly", ["unlogged_user_turns", "media_user_turns"]].tolist() == [0, 30]
    assert segs.loc["nightly", "decision"] == batch_params.MOVE
    assert len(bp.rows) == 420 and not bp.rows["request_id"].isin(usage["request_id"][:30]).any()
    assert bp.rows["savings_usd"].sum() == pytest.approx(420 * 0.003)  # as above, per request
    assert segs.loc["nightly", "job_group_requests"] == 420
    assert segs.loc["nightly", "requests_left_on_demand"] == 30
    assert (
        "nightly (nightly:claude-sonnet-4:2afa90a8): 30 of its requests stay on "
        f"demand: they {WHY_MEDIA} (not counted in the saving)."
    ) in bp.notes
    assert bp.data_quality["eligible_requests_with_media"] == 30
    assert bp.data_quality["media_found_in"] == media_blocks.MEDIA_FROM_COLUMN
    # a table written before media_sent: its last user turns are searched, and it says so
    older = bi.plan(usage.drop(columns=["media_sent"]), seed)
    assert older.data_quality["eligible_requests_with_media"] == 30
    assert older.data_quality["media_found_in"] == media_blocks.MEDIA_FROM_LAST_TURN
    assert segs.loc["receipts", "media_user_turns"] == 450
    assert not segs.loc["receipts", "eligible"] and segs.loc["receipts", "decision"] == "-"
    assert segs.loc["receipts", "blockers"] == MEDIA_BLOCKER
    assert segs.loc["receipts", "job_groups"] == 0
    assert segs.loc["receipts", "requests_left_on_demand"] == 450
    jobs = bi.export_jobs(
        bp, usage, None, tmp_path,
        role_arn="arn:aws:iam::123456789012:role/batch", s3_prefix="s3://bucket/p",
    )  # fmt: skip
    assert jobs[["app", "records", "media_user_turns"]].values.tolist() == [["nightly", 420, 0]]
    lines = [p.read_text() for p in tmp_path.glob("*/input/*.jsonl")]
    assert sum(t.count("\n") for t in lines) == 420 and not any("[[media " in t for t in lines)


# user turns as the ingest keeps those that sent an image by reference: the block's canonical
# JSON on a line of its own (a Converse S3 location, an Anthropic URL), then the question
S3_RECEIPT = (
    '{"image":{"format":"png","source":{"s3Location":{"uri":"s3://b/r.png"}}}}\n'
    "Extract the fields from this receipt."
)
URL_PHOTO = (
    '{"source":{"type":"url","url":"https://example.com/p.jpg"},"type":"image"}\n'
    "What is in this photo?"
)


def test_requests_whose_user_turn_sent_media_by_reference_stay_on_demand(seed, tmp_path):
    """A block sent by reference is kept as its JSON, and a batch record carries the user
    turn as text only: the model would answer the JSON, not the image. So such a request
    stays on demand as one that sent its image inline does, and an app all of whose turns
    sent images by reference is blocked, saying why."""
    usage = make_usage([NIGHTLY, {**NIGHTLY, "app": "photos", "template": "sys-photos"}])
    set_user_turns(usage, usage.index[:20], S3_RECEIPT)  # nightly's first 20
    set_user_turns(usage, usage.index[20:30], URL_PHOTO)  # and the next 10
    set_user_turns(usage, usage["app"] == "photos", S3_RECEIPT)
    bp = bi.plan(usage, seed)
    segs = bp.segments.set_index("app")
    assert segs.loc["nightly", ["unlogged_user_turns", "media_user_turns"]].tolist() == [0, 30]
    assert segs.loc["nightly", "decision"] == batch_params.MOVE
    assert len(bp.rows) == 420 and not bp.rows["request_id"].isin(usage["request_id"][:30]).any()
    assert bp.rows["savings_usd"].sum() == pytest.approx(420 * 0.003)  # as above, per request
    assert segs.loc["nightly", "requests_left_on_demand"] == 30
    assert bp.data_quality["eligible_requests_with_media"] == 30
    assert segs.loc["photos", "media_user_turns"] == 450
    assert not segs.loc["photos", "eligible"] and segs.loc["photos", "blockers"] == MEDIA_BLOCKER
    assert segs.loc["photos", "requests_left_on_demand"] == 450
    jobs = bi.export_jobs(
        bp, usage, None, tmp_path,
        role_arn="arn:aws:iam::123456789012:role/batch", s3_prefix="s3://bucket/p",
    )  # fmt: skip
    assert jobs[["app", "records", "media_user_turns"]].values.tolist() == [["nightly", 420, 0]]
    lines = [p.read_text() for p in tmp_path.glob("*/input/*.jsonl")]
    assert sum(t.count("\n") for t in lines) == 420
    assert not any("s3Location" in t or "example.com" in t for t in lines)


def test_force_in_cannot_move_a_segment_whose_turns_held_only_media_or_were_not_logged(seed):
    usage = make_usage([NIGHTLY, {**NIGHTLY, "app": "mixed", "template": "sys-mixed"}])
    set_user_turns(usage, usage["app"] == "nightly", [receipt_turn(i) for i in range(450)])
    mixed = usage.index[usage["app"] == "mixed"]
    set_user_turns(usage, mixed[:200], [receipt_turn(i) for i in range(200)])
    set_user_turns(usage, mixed[200:], None)
    bp = bi.plan(usage, seed, force_in=["nightly", "mixed"])
    segs = bp.segments.set_index("app")
    assert not segs["eligible"].any() and bp.rows.empty
    assert segs.loc["nightly", "blockers"] == MEDIA_BLOCKER
    assert segs.loc["mixed", "blockers"] == (
        "no request can be rebuilt: 250 user turns were not logged as text (bodies over 100 KB "
        f"are read only with fetch_large_bodies), 200 {WHY_MEDIA}"
    )


def test_an_empty_usage_table_is_said_to_be_empty(seed):
    """As model sizing says it: a quiet window is a legal ingest, with nothing to plan."""
    with pytest.raises(
        ValueError,
        match=r"^the usage table is empty: no segment to score for batch inference \(check the "
        r"run's ingest\)$",
    ):
        bi.plan(empty_usage(), seed)


def test_settings_are_checked_without_traffic():
    """``check_settings`` holds every rule but the force_in/force_out names (those need the
    run's segments), so a params file is refused before any logs are read."""
    with pytest.raises(ValueError) as err:
        batch_params.check_settings({"business_time_zone": "America/LosAngeles"})
    assert str(err.value) == (
        "business_time_zone 'America/LosAngeles' is not an IANA time zone name; "
        "did you mean 'America/Los_Angeles'?"
    )
    with pytest.raises(ValueError, match=r"^threshold 6.0 must be in \[0, 1\]"):
        batch_params.check_settings({"threshold": 6})
    settings = batch_params.check_settings({"force_in": "nightly", "window_hours": 6})
    assert (settings["force_in"], settings["window_hours"]) == (["nightly"], 6)
    with pytest.raises(ValueError, match=r"force_in names \['nobody'\], which is neither an"):
        batch_params.validate_params(
            {"force_in": ["nobody"]},
            bi.plan(make_usage([NIGHTLY]), PriceCatalog.load("seed")).segments,
        )


def test_savings_hand_computed(seed):
    usage = make_usage([NIGHTLY, CHAT])
    f = bi.analyze(usage, seed)
    n = 3 * 3 * 50  # nightly requests
    on_demand = n * (1000 * 0.003 + 200 * 0.015) / 1000  # seed Sonnet 4: $3 / $15 per 1M
    batch = n * (1000 * 0.0015 + 200 * 0.0075) / 1000
    assert f.scope_usd == pytest.approx(on_demand)
    assert f.projected_usd == pytest.approx(batch)
    assert f.savings_usd == pytest.approx(on_demand - batch)
    chat_n = 3 * 8 * 20
    assert f.total_usd == pytest.approx(on_demand + chat_n * (1000 * 0.003 + 200 * 0.015) / 1000)
    (action,) = f.actions
    assert action.scope["app"] == "nightly" and action.status == "recommended"
    assert action.evidence["caller"]["score"] == 1.0
    assert f.assumptions["price_sheet"] == "seed"
    effects = batch_findings.to_effects(bi.plan(usage, seed))
    assert len(effects) == n and set(effects["pricing_mode"]) == {"batch"}
    assert effects["savings_usd"].astype(float).sum() == pytest.approx(on_demand - batch)


def test_effects_save_todays_cost_less_the_batch_cost_on_requests_that_cache(seed):
    """nightly reading 200 tokens from the cache on each of its 450 requests (1,000 in + 200
    read + 200 out, seed Sonnet 4): today 1,000 x 0.003 + 200 x 0.0003 + 200 x 0.015 = $0.00606
    a request, in batch (the cached tokens billed as batch input) 1,200 x 0.0015 + 200 x
    0.0075 = $0.0033. It moves; each request saves 0.00606 - 0.0033 = $0.00276, not the $0.0033
    its cost without caching (1,200 x 0.003 + 200 x 0.015 = $0.0066) would: 450 x 0.00276 =
    $1.242, as the findings say."""
    bp = bi.plan(make_usage([dict(NIGHTLY, cache_read=200)]), seed)
    assert bp.segments["decision"].tolist() == [batch_params.MOVE]
    effects = batch_findings.to_effects(bp)
    assert len(effects) == 450
    assert effects["savings_usd"].astype(float).tolist() == pytest.approx([0.00276] * 450)
    assert effects["savings_usd"].astype(float).sum() == pytest.approx(1.242)
    assert batch_findings.to_findings(bp).savings_usd == pytest.approx(1.242)


def test_cache_saving_given_up_is_netted(seed):
    # 2,000 cached read tokens a request: on demand they cost 0.0003/1K, in batch 0.0015/1K
    cached = dict(NIGHTLY, app="cached", cache_read=2000, input=100, output=10)
    bp = bi.plan(make_usage([cached]), seed)
    rec = bp.segments.iloc[0]
    n = 450
    current = n * (100 * 0.003 + 2000 * 0.0003 + 10 * 0.015) / 1000
    uncached = n * (2100 * 0.003 + 10 * 0.015) / 1000
    batch = n * (2100 * 0.0015 + 10 * 0.0075) / 1000
    assert rec["current_usd_priced"] == pytest.approx(current)
    assert rec["cache_given_up_usd"] == pytest.approx(uncached - current)
    assert rec["gross_batch_saving_usd"] == pytest.approx(uncached - batch)
    assert rec["net_saving_usd"] == pytest.approx(current - batch)
    # caching saves more than batch here: eligible but kept on demand, no saving claimed
    assert current < batch < uncached  # batch alone would save; the cache saving is more
    assert bool(rec["eligible"]) and rec["decision"] == batch_params.KEEP_CACHING
    f = batch_findings.to_findings(bp)
    assert f.savings_usd == pytest.approx(0.0)
    assert f.actions[0].status == "rejected"


def test_the_note_on_a_segment_kept_for_caching_shows_amounts_under_a_cent(seed):
    """450 requests of 1 input, 2 cached and no output tokens (seed Sonnet 4): the cache saves
    450 x 2 x (0.003 - 0.0003) / 1,000 = $0.00243, batch would save 450 x 3 x 0.0015 / 1,000 =
    $0.002025 on the uncached cost. The note read "$0.00 is at least the batch saving $0.00"."""
    cached = dict(NIGHTLY, app="cached", cache_read=2, input=1, output=0)
    bp = bi.plan(make_usage([cached]), seed)
    rec = bp.segments.iloc[0]
    assert rec["decision"] == batch_params.KEEP_CACHING
    assert batch_findings.to_findings(bp).notes[2:] == [
        f"cached ({rec['segment']}) is eligible but stays on demand: its cache saving $0.0024 "
        "is at least the batch saving $0.0020."
    ]


def test_the_after_change_spend_keeps_a_kept_segment_at_its_cost_today(seed):
    """nightly moves (450 requests, $2.70 on demand, $1.35 in batch); cached stays on demand
    ($0.4725 today, $1.45125 in batch): after the change it still costs $0.4725, as in
    projected_usd, not its batch cost."""
    cached = dict(NIGHTLY, app="cached", cache_read=2000, input=100, output=10)
    bp = bi.plan(make_usage([NIGHTLY, cached]), seed)
    decisions = dict(zip(bp.eligible["app"], bp.eligible["decision"], strict=True))
    assert decisions == {"nightly": batch_params.MOVE, "cached": batch_params.KEEP_CACHING}
    after = bi.after_change_by_app(bp)
    assert after.to_dict() == pytest.approx({"nightly": 1.35, "cached": 0.4725})
    assert batch_findings.to_findings(bp).projected_usd == pytest.approx(1.8225)


def test_an_eligible_segment_batch_does_not_make_cheaper_is_not_kept_for_caching(tmp_path):
    """Batch priced as on demand: nightly (no cache, $2.70 either way) and cached ($0.4725
    today, $2.9025 uncached or in batch) stay on demand because batch is no cheaper, not
    because caching saves more; the notes, actions and after-change spend say so."""
    overrides = tmp_path / "batch-as-on-demand.csv"
    overrides.write_text(
        "model,region,geo,service_tier,batch_input_per_1k,batch_output_per_1k\n"
        f"{SONNET},us-east-1,none,default,0.003,0.015\n"
    )
    catalog = PriceCatalog.load("seed", overrides=overrides)
    cached = dict(NIGHTLY, app="cached", cache_read=2000, input=100, output=10)
    bp = bi.plan(make_usage([NIGHTLY, cached]), catalog)
    segs = bp.eligible.set_index("app")
    assert set(segs["decision"]) == {batch_params.BATCH_NO_CHEAPER}
    assert segs.loc["nightly", "gross_batch_saving_usd"] == pytest.approx(0.0)
    assert segs.loc["cached", "cache_given_up_usd"] == pytest.approx(2.43)
    f = batch_findings.to_findings(bp)
    assert f.notes[2:] == [
        f"{app} ({segs.loc[app, 'segment']}) is eligible but stays on demand: at these prices "
        f"its batch cost ${cost} is no less than its on-demand cost without caching ${cost}."
        for app, cost in [("nightly", "2.70"), ("cached", "2.90")]
    ]
    assert {a.scope["app"]: (a.action, a.status) for a in f.actions} == {
        app: (f"Keep {app} on demand: batch is no cheaper at these prices", "rejected")
        for app in ("nightly", "cached")
    }
    assert f.savings_usd == pytest.approx(0.0)
    assert bi.after_change_by_app(bp).to_dict() == pytest.approx(
        {"nightly": 2.70, "cached": 0.4725}
    )
    assert f.projected_usd == pytest.approx(3.1725)


def test_min_records_rule(seed):
    small = dict(NIGHTLY, app="tiny", per_hour=10, days=3)  # 30 a day, 90 in all
    medium = dict(NIGHTLY, app="slow", per_hour=20, days=3)  # 60 a day, 180 in all
    bp = bi.plan(make_usage([small, medium]), seed, force_in=["tiny"])
    segs = bp.segments.set_index("app")
    assert segs.loc["tiny", "min_records_rule"] == "too small for one job"
    assert "fewer than 100 requests" in segs.loc["tiny", "blockers"]
    assert segs.loc["slow", "min_records_rule"] == "accumulate several windows per job"
    assert segs.loc["slow", "days_per_job"] == 2  # ceil(100 / 60)
    # force_in overrides the score, not the minimum: Bedrock refuses a job under it
    assert not bool(segs.loc["tiny", "eligible"]) and segs.loc["tiny", "decision"] == "-"


def test_a_job_group_of_exactly_the_minimum_records_moves(seed):
    """Bedrock takes a job of 100 records or more: 25 requests an hour at 01:00 UTC for 4 days
    make exactly 100, enough for one job (over several windows, 25 a day), so they move and
    save 100 x (1,000 x (0.003 - 0.0015) + 200 x (0.015 - 0.0075)) / 1,000 = 100 x 0.003 =
    $0.30 (seed Sonnet 4). 33 an hour for 3 days make 99: too few, and nothing moves."""
    hundred = dict(NIGHTLY, app="hundred", hours=[1], per_hour=25, days=4)
    bp = bi.plan(make_usage([hundred]), seed)
    rec = bp.segments.iloc[0]
    assert rec["job_group_requests"] == 100
    assert rec["min_records_rule"] == "accumulate several windows per job"
    assert bool(rec["eligible"]) and rec["decision"] == batch_params.MOVE
    assert batch_findings.to_findings(bp).savings_usd == pytest.approx(0.30)
    short = dict(NIGHTLY, app="short", hours=[1], per_hour=33, days=3)
    bp = bi.plan(make_usage([short]), seed, force_in=["short"])
    rec = bp.segments.iloc[0]
    assert rec["job_group_requests"] == 99
    assert rec["min_records_rule"] == "too small for one job"
    assert not bool(rec["eligible"]) and rec["decision"] == "-"
    assert batch_findings.to_findings(bp).savings_usd == 0.0


def test_a_job_group_counts_only_the_segments_that_move_into_it(seed, tmp_path):
    """Two templates of one app on one model share a job group, 90 requests each. When both
    move, the group has 180 (a job every 2 days); when one stays on demand because its cache
    saves more, the other's 90 are too few for a job on their own, so neither moves."""
    a = make_usage([{**NIGHTLY, "per_hour": 10, "template": "sys-a"}])
    b = make_usage([{**NIGHTLY, "per_hour": 10, "template": "sys-b"}])
    b["request_id"] = "b" + b["request_id"]
    both = bi.plan(pd.concat([a, b], ignore_index=True), seed)
    assert set(both.moved["template"]) == {"sys-a", "sys-b"}
    assert set(both.moved["job_group_requests"]) == {180} and len(both.rows) == 180
    cached = make_usage([{**NIGHTLY, "per_hour": 10, "template": "sys-b", "cache_read": 20_000}])
    cached["request_id"] = "b" + cached["request_id"]
    bp = bi.plan(pd.concat([a, cached], ignore_index=True), seed)
    segs = bp.segments.set_index("template")
    assert segs.loc["sys-b", "decision"] != batch_params.MOVE
    assert segs.loc["sys-a", "job_group_requests"] == 90
    assert segs.loc["sys-a", "min_records_rule"] == "too small for one job"
    assert bp.rows.empty
    jobs = bi.export_jobs(
        bp, pd.concat([a, cached], ignore_index=True), None, tmp_path,
        role_arn="arn:aws:iam::123456789012:role/batch", s3_prefix="s3://bucket/p",
    )  # fmt: skip
    assert jobs.empty


def test_min_records_rule_counts_the_job_group():
    # a second template of the same app and model rides in the same jobs
    side = dict(NIGHTLY, template="sys-other", per_hour=1, days=3)  # 9 requests
    bp = bi.plan(make_usage([NIGHTLY, side]), PriceCatalog.load("seed"))
    segs = bp.segments.set_index("template")
    assert segs.loc["sys-other", "requests"] == 9
    assert segs.loc["sys-other", "job_group_requests"] == 459
    assert segs.loc["sys-other", "min_records_rule"] == "ok"
    assert bp.segments["eligible"].all()


def test_force_in_out_and_unknown_names(seed):
    usage = make_usage([NIGHTLY, CHAT])
    bp = bi.plan(usage, seed, force_in=["chat"], force_out=["nightly"])
    segs = bp.segments.set_index("app")
    assert bool(segs.loc["chat", "eligible"]) and not bool(segs.loc["nightly", "eligible"])
    with pytest.raises(ValueError) as err:
        bi.analyze(usage, seed, force_in=["doc-sumarizer"])
    assert str(err.value) == (
        "force_in names ['doc-sumarizer'], which is neither an app nor a segment id in this "
        "run. The run has 2 apps ('chat', 'nightly') and 2 segments, listed in "
        "02_batch_inference's segments table (its app and segment columns)"
    )
    with pytest.raises(ValueError) as err:
        bi.analyze(usage, seed, force_out=["chta", "nighty", "x", "y", "z", "w"])
    assert str(err.value) == (
        "force_out names ['chta', 'nighty', 'x', 'y', 'z'] and 1 more, which are neither apps "
        "nor segment ids in this run; did you mean 'chat' for 'chta'; 'nightly' for 'nighty'? "
        "The run has 2 apps ('chat', 'nightly') and 2 segments, listed in "
        "02_batch_inference's segments table (its app and segment columns)"
    )
    with pytest.raises(ValueError, match="both force_in and force_out"):
        bi.analyze(usage, seed, force_in=["chat"], force_out=["chat"])
    with pytest.raises(ValueError, match="unknown batch_inference parameters"):
        bi.analyze(usage, seed, treshold=0.5)
    with pytest.raises(ValueError, match="weights names unknown signals"):
        bi.analyze(usage, seed, weights={"latency": 1})


def test_unsupported_model_is_blocked(seed):
    usage = make_usage([dict(NIGHTLY, model="amazon.nova-micro")])  # not in the seed sheet
    bp = bi.plan(usage, seed, force_in=["nightly"])
    rec = bp.segments.iloc[0]
    assert not rec["batch_supported"] and not rec["eligible"]
    assert "no batch price" in rec["blockers"]
    assert any("force_in" in n for n in bp.notes)


def test_article_examples_reproduce_on_seed(seed):
    table = article_examples(seed).set_index("use_case")
    assert table["reproduced"].all()
    # by hand from the article's own price table
    haiku_docs = table.loc["1M documents classification", "engine_on_demand_usd"]
    assert haiku_docs == pytest.approx(1_000_000 * 1000 * 0.0008 / 1000)
    assert table.loc["100K email summaries", "engine_batch_usd"] == pytest.approx(150)
    assert table.loc["500K content generation", "engine_on_demand_usd"] == pytest.approx(7500)
    budgets = article_token_budgets(seed).set_index(["use_case", "model"])
    # $800 / 1M docs = $0.0008 a doc = 1,000 input tokens on Haiku, or 53.3 on Opus
    assert budgets.loc[
        ("1M documents classification", "anthropic.claude-3-5-haiku"), "input_only_tokens"
    ] == pytest.approx(1000)
    assert budgets.loc[
        ("500K content generation", "anthropic.claude-sonnet-4"), "output_only_tokens"
    ] == pytest.approx(1000)


def test_export_jobs_from_plan(seed, tmp_path):
    usage = make_usage([NIGHTLY, CHAT])
    prompts = pd.DataFrame(
        {"hash": ["sys-nightly"], "kind": ["system"], "tokens": [3], "text": ["Summarise."]}
    )
    bp = bi.plan(usage, seed)
    jobs = bi.export_jobs(
        bp, usage, prompts, tmp_path,
        role_arn="arn:aws:iam::123456789012:role/batch", s3_prefix="s3://bucket/p",
    )  # fmt: skip
    assert jobs["records"].sum() == 450 and set(jobs["app"]) == {"nightly"}
    assert (jobs["invocation_type"] == "Converse").all()
    assert not jobs["below_min_records"].any()
    assert jobs["missing_template_text"].sum() == 0


def test_traffic_from_noon_to_noon_is_two_steady_days_of_the_window(seed):
    """The same requests every hour for 48 hours from Monday noon touch three UTC calendar
    days, half of them on the first and last: counted so, steady traffic reads irregular
    (day-to-day variation 0.35) and each day holds 2/3 of the requests it does. In the
    window's own days (24 hours from its start) both are what the traffic is."""
    noon = {"app": "nightly", "arn": PIPELINE, "hours": list(range(12, 36)), "days": 2,
            "per_hour": 5}  # fmt: skip
    usage = make_usage([noon])
    by_calendar = bi.plan(usage, seed).segments.set_index("app").loc["nightly"]
    assert by_calendar["regularity_value"] == pytest.approx(np.std([60, 120, 60]) / 80)
    assert by_calendar["volume_value"] == pytest.approx(80.0)  # 240 requests / 3 days
    period = period_of(usage, "2026-10-05T12:00Z", "2026-10-07T12:00Z")
    assert (period["days"], period["rule"]) == (2, "window")
    bp = bi.plan(usage, seed, period=period)
    night = bp.segments.set_index("app").loc["nightly"]
    assert night["regularity_value"] == 0.0 and night["regularity_score"] == 1.0
    assert night["volume_value"] == 120.0 and night["volume_score"] == 1.0
    f = batch_findings.to_findings(bp)
    assert f.period == period
    assert f.savings_monthly_usd == pytest.approx(f.savings_usd * 30.4375 / 2)
    assert f.assumptions["monthly_scaling"].startswith(
        "period savings x 30.4375 / 2 days: the window [2026-10-05 12:00 UTC, 2026-10-07 "
        "12:00 UTC), 2 days long, not the 3 UTC calendar days"
    )


def test_the_per_app_figures_name_the_apps_of_largest_spend(seed):
    """Twelve nightly apps, nightly-01 to nightly-12, nightly-k making 50 x k calls a night
    hour, and the chat app: the nightly ones are eligible, the chat one is not. The key
    figure named every eligible app on one line; past top_n, it names the top_n of largest
    eligible spend, largest first, and counts the rest. The score chart ranks apps by
    spend_by_app (a score does not add up): nightly-12 spends 12 times what nightly-01 does."""
    nightly = [
        dict(NIGHTLY, app=f"nightly-{k:02d}", per_hour=50 * k, template="sys-nightly")
        for k in range(1, 13)
    ]
    bp = bi.plan(make_usage([*nightly, CHAT]), seed)
    assert bi.eligible_apps(bp, 3) == (
        "nightly-12, nightly-11, nightly-10 and 9 more apps (largest eligible spend first)"
    )
    assert bi.eligible_apps(bp, 12) == ", ".join(f"nightly-{k:02d}" for k in range(1, 13))
    spend = bi.spend_by_app(bp)
    assert spend["nightly-12"] == pytest.approx(12 * spend["nightly-01"])
    assert set(bi.score_by_app(bp).index) == {"chat", *(a["app"] for a in nightly)}
    assert bi.score_by_app(bp).iloc[0] == bi.score_by_app(bp)["chat"]  # lowest first


def test_a_run_with_nothing_priced_has_unpriced_spend_not_zero(seed):
    """Only a model the price sheet lacks: all priced spend is unknown (NaN), which the key
    figures read 'unpriced' as 00_baseline's headline does, not '0.00'."""
    bp = bi.plan(make_usage([{**NIGHTLY, "model": "acme.mystery-v1"}]), seed)
    assert bp.data_quality["unpriced_requests"] == 450
    findings = batch_findings.to_findings(bp)
    assert format_value(round(findings.total_usd, 2)) == "unpriced"
    assert findings.to_dict()["total_usd"] is None


def test_an_embedding_segment_is_kept_out_of_batch_jobs(tmp_path):
    """A nightly RAG indexer on Titan Text Embeddings V2 scores as batch work, and with an
    override its tokens are priced both ways (batch input 0.00001 per 1K, output 0), yet its
    records cannot be written (a text model's body or Converse, which an embedding model does
    not take): it is blocked as an embedding model, never moved, force_in or not. Without the
    override the reason is the same, not a missing batch price."""
    overrides = tmp_path / "embedding-batch.csv"
    overrides.write_text(
        "model,region,geo,service_tier,batch_output_per_1k\n"
        "amazon.titan-embed-text-v2,us-east-1,none,default,0\n"
    )
    indexer = dict(NIGHTLY, app="indexer", model="amazon.titan-embed-text-v2", output=0)
    usage = make_usage([indexer, NIGHTLY])
    for catalog in (
        PriceCatalog.load("current", overrides=overrides),
        PriceCatalog.load("current"),
    ):
        bp = bi.plan(usage, catalog, force_in=["indexer"])
        segs = bp.segments.set_index("app")
        assert not segs.at["indexer", "batch_supported"] and not segs.at["indexer", "eligible"]
        assert segs.at["indexer", "blockers"] == (
            "an embedding model: batch records are written for text-generation models only "
            "(their InvokeModel body or Converse), which an embedding model does not take"
        )
        assert segs.at["nightly", "decision"] == batch_params.MOVE
        assert not bp.rows["request_id"].str.startswith("indexer").any()
        note = f"force_in {segs.at['indexer', 'segment']} ignored: its model is an embedding model."
        assert note in bp.notes
