"""CloudWatch metrics reader against moto's server over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from bedrock_finops.sources import cloudwatch_metrics as cwm

pytestmark = pytest.mark.aws

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)  # the clock of the reads below: T0 is recent, read per minute
SONNET = "anthropic.claude-sonnet-4-20250514-v1:0"
NOVA = "amazon.nova-pro-v1:0"


def _put(cw, model_id: str, name: str, minute: int, second: int, value: float) -> None:
    cw.put_metric_data(
        Namespace="AWS/Bedrock",
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": "ModelId", "Value": model_id}],
                "Timestamp": T0 + timedelta(minutes=minute, seconds=second),
                "Value": value,
            }
        ],
    )


@pytest.fixture
def seeded(aws_client):
    cw = aws_client("cloudwatch")
    # Sonnet, minute 0: two invocations reported separately -> Sum 2; tokens 100 + 250.
    _put(cw, SONNET, "Invocations", 0, 5, 1)
    _put(cw, SONNET, "Invocations", 0, 40, 1)
    _put(cw, SONNET, "InputTokenCount", 0, 5, 100)
    _put(cw, SONNET, "InputTokenCount", 0, 40, 250)
    _put(cw, SONNET, "InvocationLatency", 0, 5, 800)
    _put(cw, SONNET, "InvocationLatency", 0, 40, 1200)
    _put(cw, SONNET, "CacheReadInputTokens", 0, 5, 2048)  # older spelling
    # Sonnet, minute 1: one invocation.
    _put(cw, SONNET, "Invocations", 1, 10, 1)
    _put(cw, SONNET, "OutputTokenCount", 1, 10, 77)
    # Nova, minute 0 and 2, newer cache spelling.
    _put(cw, NOVA, "Invocations", 0, 1, 3)
    _put(cw, NOVA, "CacheWriteInputTokenCount", 0, 1, 1500)
    _put(cw, NOVA, "CacheWriteInputTokenCount", 0, 59, 500)
    _put(cw, NOVA, "InvocationThrottles", 2, 30, 4)
    # An account-wide series without the ModelId dimension must not be read.
    cw.put_metric_data(
        Namespace="AWS/Bedrock",
        MetricData=[{"MetricName": "Invocations", "Timestamp": T0, "Value": 99}],
    )
    return cw


def _value(df, model_id, metric, minute):
    rows = df[
        (df["model_id"] == model_id)
        & (df["metric"] == metric)
        & (df["timestamp"] == T0 + timedelta(minutes=minute))
    ]
    assert len(rows) == 1, rows
    return rows["value"].iloc[0]


def test_metrics_read_back_per_model_and_minute(seeded):
    df = cwm.read_bedrock_metrics(T0, T0 + timedelta(minutes=5), now=NOW, client=seeded)
    assert _value(df, SONNET, "Invocations", 0) == 2
    assert _value(df, SONNET, "InputTokenCount", 0) == 350
    assert _value(df, SONNET, "InvocationLatency", 0) == 1000  # average, not sum
    assert _value(df, SONNET, "Invocations", 1) == 1
    assert _value(df, SONNET, "OutputTokenCount", 1) == 77
    assert _value(df, NOVA, "Invocations", 0) == 3
    assert _value(df, NOVA, "InvocationThrottles", 2) == 4
    # Both cache spellings come back under the ...Count name.
    assert _value(df, SONNET, "CacheReadInputTokenCount", 0) == 2048
    assert _value(df, NOVA, "CacheWriteInputTokenCount", 0) == 2000
    assert not df["metric"].isin(["CacheReadInputTokens", "CacheWriteInputTokens"]).any()
    # No dimensionless series, only the two models; catalog keys resolved.
    assert set(df["model_id"]) == {SONNET, NOVA}
    assert df["value"].sum() == 2 + 350 + 1000 + 2048 + 1 + 77 + 3 + 2000 + 4
    assert dict(zip(df["model_id"], df["model"], strict=True)) == {
        SONNET: "anthropic.claude-sonnet-4",
        NOVA: "amazon.nova-pro",
    }
    assert str(df["timestamp"].dt.tz) == "UTC"


def test_metrics_filter_by_model_and_wide_pivot(seeded):
    df = cwm.read_bedrock_metrics(
        T0, T0 + timedelta(minutes=5), model_ids=[NOVA], now=NOW, client=seeded
    )
    assert set(df["model_id"]) == {NOVA}
    wide = cwm.metrics_wide(df)
    assert list(wide.columns[:3]) == ["timestamp", "model_id", "model"]
    first = wide[wide["timestamp"] == T0].iloc[0]
    assert first["Invocations"] == 3 and first["CacheWriteInputTokenCount"] == 2000
    assert len(wide) == 2  # minutes 0 and 2


def test_metrics_queries_are_batched(seeded, monkeypatch):
    calls = []
    seeded.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData",
        lambda params, **_: calls.append(len(params["MetricDataQueries"])),
    )
    monkeypatch.setattr(cwm, "MAX_QUERIES_PER_CALL", 3)
    df = cwm.read_bedrock_metrics(T0, T0 + timedelta(minutes=5), now=NOW, client=seeded)
    # 8 series (5 Sonnet, 3 Nova) in batches of at most 3.
    assert calls == [3, 3, 2]
    assert _value(df, SONNET, "InputTokenCount", 0) == 350


def test_metrics_follow_next_token():
    """moto never pages GetMetricData, so the NextToken loop is checked with a stub."""
    import boto3

    cw = boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(cw)
    stub.add_response(
        "list_metrics",
        {
            "Metrics": [
                {
                    "Namespace": "AWS/Bedrock",
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "ModelId", "Value": NOVA}],
                }
            ]
        },
    )
    page = {"Id": "q0", "Label": "Invocations", "StatusCode": "PartialData"}
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [{**page, "Timestamps": [T0], "Values": [5.0]}], "NextToken": "t1"},
    )
    stub.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {
                    **page,
                    "Timestamps": [T0 + timedelta(minutes=1)],
                    "Values": [7.0],
                    "StatusCode": "Complete",
                }
            ]
        },
        expected_params={
            "MetricDataQueries": stub_any(),
            "StartTime": stub_any(),
            "EndTime": stub_any(),
            "ScanBy": "TimestampAscending",
            "NextToken": "t1",
        },
    )
    with stub:
        df = cwm.read_bedrock_metrics(T0, T0 + timedelta(minutes=2), now=NOW, client=cw)
    assert list(df["value"]) == [5.0, 7.0]
    stub.assert_no_pending_responses()


def stub_any():
    from botocore.stub import ANY

    return ANY


def test_metrics_bad_period_and_range():
    with pytest.raises(ValueError, match="multiple of 60"):
        cwm.read_bedrock_metrics(T0, T0 + timedelta(hours=1), period=90, client=object())
    with pytest.raises(ValueError, match="must be after start"):
        cwm.read_bedrock_metrics(T0, T0, now=NOW, client=object())
    # a period AWS answers with no data points for a start 20 days ago
    with pytest.raises(ValueError, match="start 20 days ago: CloudWatch needs a multiple of 300"):
        cwm.read_bedrock_metrics(
            T0, T0 + timedelta(hours=1), period=60, now=T0 + timedelta(days=20), client=object()
        )


@pytest.mark.parametrize(
    ("age_days", "period", "sonnet_invocations"),
    [
        (2, 60, [2.0, 1.0]),  # one point a minute: minute 0 (2) and minute 1 (1)
        (20, 300, [3.0]),  # one point per five minutes: both minutes in the 10:00 one
        (70, 3600, [3.0]),  # one point an hour
    ],
)
def test_a_runs_metrics_period_follows_the_windows_age(
    seeded, aws_env, tmp_path, age_days, period, sonnet_invocations
):
    """GetMetricData returns nothing for a start 15-63 days ago unless the period is a
    multiple of 300 s, nor beyond 63 days unless of 3600 s: a run of 2026-03-02, read 2, 20
    and 70 days later, asks at 60, 300 and 3600 s and says so in the manifest and the file."""
    import boto3
    import pandas as pd

    from bedrock_finops import billing_inputs

    boto3.setup_default_session()
    sent: list[dict] = []
    boto3.DEFAULT_SESSION.events.register(
        "provide-client-params.cloudwatch.GetMetricData", lambda params, **_: sent.append(params)
    )
    run = {"metrics": True, "start": T0.date(), "end": T0.date() + timedelta(days=1)}
    lines: list[str] = []
    start_of_day = datetime.combine(T0.date(), datetime.min.time(), UTC)
    info = billing_inputs.collect(
        {**run, "endpoint_url": aws_env, "region": "us-east-1"},
        tmp_path,
        log=lines.append,
        now=start_of_day + timedelta(days=age_days),
    )
    assert sent and {q["MetricStat"]["Period"] for q in sent[0]["MetricDataQueries"]} == {period}
    assert sent[0]["StartTime"] == start_of_day
    assert info["metrics_period_s"] == period and "metrics_warning" not in info
    metrics = pd.read_parquet(tmp_path / "metrics.parquet")
    assert metrics.attrs["period_s"] == period
    sonnet = metrics[(metrics["model_id"] == SONNET) & (metrics["metric"] == "Invocations")]
    assert sonnet["value"].tolist() == sonnet_invocations
    name = {60: "minute", 300: "five minutes", 3600: "hour"}[period]
    assert f"over [2026-03-02, 2026-03-03), one per {name} per model and metric" in lines[0]
    assert ("CloudWatch keeps one-minute points 15 days" in lines[0]) == (period > 60)


def test_a_window_older_than_cloudwatch_keeps_is_told(seeded, aws_env, tmp_path):
    """Hourly points are kept 455 days: a window read 500 days after it has no metrics, and
    the run's log and manifest say so instead of an empty file alone."""
    from bedrock_finops import billing_inputs

    lines: list[str] = []
    run = {"metrics": True, "start": T0.date(), "end": T0.date() + timedelta(days=1)}
    info = billing_inputs.collect(
        {**run, "endpoint_url": aws_env, "region": "us-east-1"},
        tmp_path,
        log=lines.append,
        now=datetime(2027, 7, 15, tzinfo=UTC),  # 500 days after 2026-03-02
    )
    assert info["metrics_period_s"] == 3600
    expected = (
        "the window starts 500 days ago and ends before 2026-04-16: CloudWatch keeps metrics "
        "455 days, so there are none to read for it"
    )
    assert info["metrics_warning"] == expected
    assert lines[-1] == f"warning: metrics: {expected}"


def test_the_period_is_chosen_from_the_starts_age():
    assert cwm.period_for_start(T0, now=T0 + timedelta(hours=2)) == 60
    assert cwm.period_for_start(T0, now=T0 + timedelta(days=14)) == 60
    # within an hour of a step the coarser period is taken: AWS takes it either way
    assert cwm.period_for_start(T0, now=T0 + timedelta(days=15, minutes=-30)) == 300
    assert cwm.period_for_start(T0, now=T0 + timedelta(days=62)) == 300
    assert cwm.period_for_start(T0, now=T0 + timedelta(days=64)) == 3600
    assert cwm.unkept_note(T0, T0 + timedelta(days=1), now=T0 + timedelta(days=455)) == ""
    assert cwm.unkept_note(T0, T0 + timedelta(days=30), now=T0 + timedelta(days=470)) == (
        "the window starts 470 days ago: CloudWatch keeps metrics 455 days, so there are "
        "none before 2026-03-17"
    )
