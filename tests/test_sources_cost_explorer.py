"""Cost Explorer reader against moto's server, answers queued through moto's API."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from bedrock_finops.sources.cost_explorer import read_cost_explorer
from bedrock_finops.sources.cur import BILLING_COLUMNS

pytestmark = pytest.mark.aws


def _group(service: str, usage_type: str, cost: str, qty: str, unit: str = "1K tokens"):
    return {
        "Keys": [service, usage_type],
        "Metrics": {
            "UnblendedCost": {"Amount": cost, "Unit": "USD"},
            "UsageQuantity": {"Amount": qty, "Unit": unit},
        },
    }


def _day(start: str, end: str, groups: list[dict]) -> dict:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Total": {},
        "Groups": groups,
        "Estimated": False,
    }


PAGE_1 = {
    "ResultsByTime": [
        _day(
            "2026-03-01",
            "2026-03-02",
            [
                _group("Amazon Bedrock", "USE1-NovaPro-input-tokens", "0.8", "1000"),
                _group("Amazon Bedrock", "USE1-NovaPro-output-tokens", "0.8", "250"),
                _group(
                    "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
                    "USE1-MP:USE1_InputTokenCount-Units",
                    "6.0",
                    "2",
                    "Units",
                ),
                _group(
                    "Amazon Elastic Compute Cloud - Compute",
                    "BoxUsage:t3.micro",
                    "0.25",
                    "24",
                    "Hrs",
                ),
            ],
        )
    ],
    "DimensionValueAttributes": [],
    "NextPageToken": "page-2",
}
PAGE_2 = {
    "ResultsByTime": [
        _day(
            "2026-03-02",
            "2026-03-03",
            [_group("Amazon Bedrock", "USW2-NovaPro-input-tokens", "0.4", "500")],
        )
    ],
    "DimensionValueAttributes": [],
}


def test_cost_explorer_reads_all_pages_and_keeps_bedrock(aws_client, aws_env):
    resp = requests.post(
        f"{aws_env}/moto-api/static/ce/cost-and-usage-results",
        json={"results": [PAGE_1, PAGE_2]},
        timeout=10,
    )
    assert resp.status_code == 201
    ce = aws_client("ce")
    sent = []
    ce.meta.events.register(
        "provide-client-params.ce.GetCostAndUsage", lambda params, **_: sent.append(dict(params))
    )

    df = read_cost_explorer(dt.date(2026, 3, 1), "2026-03-03", client=ce)

    assert df.attrs["ce_requests"] == 2
    assert [s.get("NextPageToken") for s in sent] == [None, "page-2"]
    first = sent[0]
    assert first["Granularity"] == "DAILY"
    assert first["TimePeriod"] == {"Start": "2026-03-01", "End": "2026-03-03"}
    assert first["Metrics"] == ["UnblendedCost", "NetUnblendedCost", "UsageQuantity"]
    assert [g["Key"] for g in first["GroupBy"]] == ["SERVICE", "USAGE_TYPE"]
    assert first["Filter"] == {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Usage"]}}

    assert list(df.columns) == BILLING_COLUMNS
    assert df.attrs["rows_other_services"] == 1  # the EC2 group
    assert len(df) == 4
    assert df["cost_usd"].sum() == pytest.approx(0.8 + 0.8 + 6.0 + 0.4)
    assert set(df["source"]) == {"cost_explorer"}

    mp = df[df["marketplace"]].iloc[0]
    assert mp["model"] == "anthropic.claude-3-5-sonnet"
    assert mp["service"] == "Claude 3.5 Sonnet (Amazon Bedrock Edition)"
    assert mp["token_kind"] == "input" and mp["region"] == "us-east-1"

    day2 = df[df["date"] == dt.date(2026, 3, 2)].iloc[0]
    assert day2["model"] == "amazon.nova-pro" and day2["region"] == "us-west-2"
    assert day2["quantity"] == 500_000 and day2["unit"] == "tokens"


def test_cost_explorer_empty_and_bad_range(aws_client):
    ce = aws_client("ce")
    df = read_cost_explorer("2026-03-01", "2026-03-02", client=ce)  # nothing queued
    assert df.empty and list(df.columns) == BILLING_COLUMNS
    assert df.attrs["ce_requests"] == 1
    with pytest.raises(ValueError, match="End is exclusive"):
        read_cost_explorer("2026-03-02", "2026-03-02", client=ce)


def test_cost_explorer_bills_at_the_net_unblended_cost(no_aws_credentials):
    """A 15% private rate on Nova Pro: Cost Explorer answers 10,000 x 1K input tokens at list,
    UnblendedCost $8.00, and NetUnblendedCost $8.00 - 15% = $6.80. The line is billed $6.80
    with a discount of $6.80 - $8.00 = -$1.20 (it read $8.00 and 'within tolerance' against
    $8.00 logged at list); against the logs it is 'private pricing / discount', $6.80 / $8.00 -
    1 = -15% off list. A group without NetUnblendedCost is billed at its unblended $0.80."""
    import boto3
    import pandas as pd
    from botocore.stub import Stubber

    from bedrock_finops.reconcile import reconcile

    ce = boto3.client("ce", region_name="us-east-1")
    nova = _group("Amazon Bedrock", "USE1-NovaPro-input-tokens", "8.0", "10000")
    nova["Metrics"]["NetUnblendedCost"] = {"Amount": "6.8", "Unit": "USD"}
    no_net = _group("Amazon Bedrock", "USE1-NovaPro-output-tokens", "0.8", "250")
    answer = {"ResultsByTime": [_day("2026-10-01", "2026-10-02", [nova, no_net])]}
    with Stubber(ce) as stub:
        stub.add_response(
            "get_cost_and_usage",
            answer,
            {
                "TimePeriod": {"Start": "2026-10-01", "End": "2026-10-02"},
                "Granularity": "DAILY",
                "Metrics": ["UnblendedCost", "NetUnblendedCost", "UsageQuantity"],
                "GroupBy": [
                    {"Type": "DIMENSION", "Key": "SERVICE"},
                    {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
                ],
                "Filter": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Usage"]}},
            },
        )
        df = read_cost_explorer("2026-10-01", "2026-10-02", client=ce)
        stub.assert_no_pending_responses()
    assert df["cost_usd"].tolist() == pytest.approx([6.80, 0.80])
    assert df["discount_usd"].tolist() == pytest.approx([-1.20, 0.0])
    logs = pd.DataFrame(
        {"date": [dt.date(2026, 10, 1)], "model": ["amazon.nova-pro"], "cost_usd": [8.00],
         "requests": [1], "tokens": [10_000_000]}
    )  # fmt: skip
    row = reconcile(logs, df[df["token_kind"] == "input"]).rows.iloc[0]
    assert row["billed_usd"] == pytest.approx(6.80)
    assert row["explanation"] == "private pricing / discount"
    assert row["gap_pct_of_logged"] == pytest.approx(-15.0)


def _period_asked(start, end) -> dict:
    """The TimePeriod ``read_cost_explorer(start, end)`` sends, through a stubbed client."""
    import boto3
    from botocore.stub import Stubber

    ce = boto3.client(
        "ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    sent: list[dict] = []
    ce.meta.events.register(
        "provide-client-params.ce.GetCostAndUsage", lambda params, **_: sent.append(params)
    )
    with Stubber(ce) as stub:
        stub.add_response("get_cost_and_usage", {"ResultsByTime": []})
        df = read_cost_explorer(start, end, client=ce)
        stub.assert_no_pending_responses()
    assert df.attrs["ce_period"] == [sent[0]["TimePeriod"]["Start"], sent[0]["TimePeriod"]["End"]]
    return sent[0]["TimePeriod"]


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2026-11-20", "2026-11-22", ("2026-11-20", "2026-11-22")),
        # 23:00 at UTC-5 is 04:00 on the 21st in UTC (its local date, the 20th, was asked)
        ("2026-11-20T23:00-05:00", "2026-11-22", ("2026-11-21", "2026-11-22")),
        # 23:30 at UTC-2 is 01:30 on the 22nd: the end rounds up to the 23rd (was the 21st)
        ("2026-11-20", "2026-11-21T23:30-02:00", ("2026-11-20", "2026-11-23")),
        # a time of day: the start rounds down, the end up, to whole UTC days
        ("2026-11-20T06:00Z", "2026-11-20T12:00", ("2026-11-20", "2026-11-21")),
        (dt.date(2026, 11, 20), dt.datetime(2026, 11, 21), ("2026-11-20", "2026-11-21")),
    ],
)
def test_the_period_is_whole_utc_days_read_as_the_ingest_reads_them(start, end, days):
    assert _period_asked(start, end) == {"Start": days[0], "End": days[1]}


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (  # month first or day first: refused, as `ingest --start` refuses it
            "02/06/2026",
            "03/06/2026",
            "Cost Explorer START '02/06/2026' is not an ISO-8601 date or time; give YYYY-MM-DD",
        ),
        ("2026-11-20", "2026-13-01", "Cost Explorer END '2026-13-01' is not an ISO-8601 date"),
        ("", "2026-11-20", "Cost Explorer START '' is not an ISO-8601 date or time"),
        (
            "2026-11-21",
            "2026-11-20",
            "Cost Explorer START 2026-11-21 is after END 2026-11-20 (the UTC days [2026-11-21, "
            "2026-11-20)): give START first, e.g. 2026-11-20 2026-11-21",
        ),
        (  # 22:00 at UTC-5 is the 21st in UTC: the same day as END
            "2026-11-20T22:00-05:00",
            "2026-11-21",
            "Cost Explorer START 2026-11-20T22:00-05:00 and END 2026-11-21 are the same UTC "
            "day, 2026-11-21, and END is exclusive (Cost Explorer's End is exclusive): give the "
            "day after the last to read, e.g. 2026-11-21 2026-11-22 for 2026-11-21 alone",
        ),
    ],
)
def test_a_bad_or_empty_period_is_refused_before_any_request(start, end, message):
    from bedrock_finops.sources.cost_explorer import BillingPeriodError

    with pytest.raises(BillingPeriodError) as err:
        read_cost_explorer(start, end, client=object())  # never called
    assert message in str(err.value)
