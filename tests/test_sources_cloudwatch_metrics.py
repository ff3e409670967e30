"""CloudWatch metrics reader against moto's server over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from bedrock_finops.sources import cloudwatch_metrics as cwm

pytestmark = pytest.mark.aws

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
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
    df = cwm.read_bedrock_metrics(T0, T0 + timedelta(minutes=5), client=seeded)
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
    df = cwm.read_bedrock_metrics(T0, T0 + timedelta(minutes=5), model_ids=[NOVA], client=seeded)
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
    df = cwm.read_bedrock_metrics(T0, T0 + timedelta(minutes=5), client=seeded)
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
        df = cwm.read_bedrock_metrics(T0, T0 + timedelta(minutes=2), client=cw)
    assert list(df["value"]) == [5.0, 7.0]
    stub.assert_no_pending_responses()


def stub_any():
    from botocore.stub import ANY

    return ANY


def test_metrics_bad_period_and_range():
    with pytest.raises(ValueError, match="multiple of 60"):
        cwm.read_bedrock_metrics(T0, T0 + timedelta(hours=1), period=90, client=object())
    with pytest.raises(ValueError, match="must be after start"):
        cwm.read_bedrock_metrics(T0, T0, client=object())
