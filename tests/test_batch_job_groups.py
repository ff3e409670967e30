"""Batch job groups: one job per (app, Region, model ID as logged), never a mix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_batch_inference import CHAT, NIGHTLY, make_usage

from bedrock_finops import schema
from bedrock_finops.column_take import ParquetColumn
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.strategies import batch_inference as bi
from bedrock_finops.strategies import batch_params

US_ID = "us.anthropic.claude-sonnet-4-20250514-v1:0"
EU_ID = "eu.anthropic.claude-sonnet-4-20250514-v1:0"
ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"
# seed prices, Sonnet 4 (us and eu profiles alike): 1,000 in / 200 out tokens per request
SAVING_PER_REQUEST = (1000 * (0.003 - 0.0015) + 200 * (0.015 - 0.0075)) / 1000  # 0.003


@pytest.fixture(scope="module")
def seed() -> PriceCatalog:
    return PriceCatalog.load("seed")


def split_regions(usage, eu_mask):
    """Nightly traffic on the us profile in us-east-1, the rows in ``eu_mask`` in eu-west-1."""
    usage = usage.copy()
    usage["region"], usage["geo"], usage["model_id_raw"] = "us-east-1", "us", US_ID
    usage.loc[eu_mask, ["region", "geo", "model_id_raw"]] = ["eu-west-1", "eu", EU_ID]
    return usage


def test_mixed_regions_make_one_job_per_region_and_model_id(seed, tmp_path):
    usage = make_usage([NIGHTLY])  # 3 days x hours 1-3 x 50 = 450 requests
    usage = split_regions(usage, usage["timestamp"].dt.hour == 3)  # 150 in eu-west-1
    bp = bi.plan(usage, seed)
    (seg,) = bp.segments.to_dict("records")
    assert seg["decision"] == batch_params.MOVE
    assert seg["job_groups"] == 2 and seg["job_group_requests"] == 450
    parts = bp.job_parts.set_index("region")
    assert parts.loc["us-east-1", "job_group"] == f"nightly:us-east-1:{US_ID}"
    assert parts.loc["eu-west-1", "job_group"] == f"nightly:eu-west-1:{EU_ID}"
    assert parts["requests"].to_dict() == {"eu-west-1": 150, "us-east-1": 300}
    # cadence per group (1-day window, minimum 100): us 100 a day, eu 50 a day -> every 2 days
    assert parts.loc["us-east-1", "min_records_rule"] == "ok"
    assert parts.loc["us-east-1", "days_per_job"] == 1
    assert parts.loc["eu-west-1", "min_records_rule"] == "accumulate several windows per job"
    assert parts.loc["eu-west-1", "days_per_job"] == 2
    assert seg["days_per_job"] == 2
    # every row priced at its own Region, all 450 moved
    assert len(bp.rows) == 450
    assert bp.rows["savings_usd"].sum() == pytest.approx(450 * SAVING_PER_REQUEST)
    assert seg["net_saving_usd"] == pytest.approx(450 * SAVING_PER_REQUEST)
    (action,) = bi.to_findings(bp).actions
    assert "2 separate job(s), one per Region and model ID" in action.action
    assert f"eu-west-1 with {EU_ID} (150 requests, every 2 days)" in action.action
    assert f"us-east-1 with {US_ID} (300 requests, every 1 day(s))" in action.action
    assert [j["region"] for j in action.evidence["jobs"]] == ["eu-west-1", "us-east-1"]

    jobs = bi.export_jobs(bp, usage, None, tmp_path, role_arn=ROLE, s3_prefix="s3://bucket/p")
    got = jobs.set_index("region")[["model_id", "records", "below_min_records"]]
    assert got.to_dict("index") == {
        "eu-west-1": {"model_id": EU_ID, "records": 150, "below_min_records": False},
        "us-east-1": {"model_id": US_ID, "records": 300, "below_min_records": False},
    }
    for rec in jobs.to_dict("records"):
        d = tmp_path / rec["job_name"]
        spec = json.loads((d / "job.json").read_text())
        request = json.loads((d / "request.json").read_text())
        earlier = spec.pop("earlierNames")  # the same group, another digest
        group = rec["job_name"].rpartition("-")[0]
        assert earlier and all(name.rpartition("-")[0] == group for name in earlier)
        assert spec == {
            "tool": "bedrock-finops",
            "kind": "batch-job",
            "jobName": rec["job_name"],
            "region": rec["region"],
            "modelId": rec["model_id"],
            "records": rec["records"],
            "inputFiles": ["part-0001.jsonl"],
        }
        assert request["modelId"] == rec["model_id"] and "region" not in request
        ids = set((d / "records.csv").read_text().splitlines()[1:])
        regions = usage.set_index("request_id").loc[[i.split(",")[1] for i in ids], "region"]
        assert set(regions) == {rec["region"]}


def test_job_group_tags_fit_bedrock_for_any_app_name(seed, tmp_path):
    """An app named with characters a tag value cannot hold, and rows without an app, still
    give requests create_model_invocation_job takes."""
    usage = make_usage([NIGHTLY])
    usage["model_id_raw"] = US_ID
    usage["app"] = (
        usage["app"].astype("string").where(usage["timestamp"].dt.hour < 3, "Support Bot (EU)")
    )
    usage.loc[usage["timestamp"].dt.hour == 1, "app"] = None
    bp = bi.plan(usage, seed, force_in=["Support Bot (EU)", "(unknown)"])
    jobs = bi.export_jobs(bp, usage, None, tmp_path, role_arn=ROLE, s3_prefix="s3://bucket/p")
    tags = [
        json.loads((Path(directory) / "request.json").read_text())["tags"]
        for directory in jobs["directory"]
    ]
    assert {tag["key"] for (tag,) in tags} == {"bedrock-finops:job-group"}
    values = sorted(tag["value"] for (tag,) in tags)
    assert values == [
        f"Support Bot _EU_:us-east-1:{US_ID}@93f185a85a",
        f"_unknown_:us-east-1:{US_ID}@9889c725bb",
        f"nightly:us-east-1:{US_ID}",
    ]
    assert all(re.fullmatch(r"[a-zA-Z0-9\s._:/=+@-]{0,256}", value) for value in values)


def test_a_model_without_an_invoke_model_body_here_moves_as_converse_jobs(tmp_path):
    """gpt-oss priced through an override and logged through InvokeModel: the plan's saving is
    what the export writes, as a Converse job."""
    overrides = tmp_path / "gpt-oss.csv"
    overrides.write_text(
        "model,region,geo,service_tier,input_per_1k,output_per_1k,batch_input_per_1k,"
        "batch_output_per_1k,supports_batch,source,as_of\n"
        "openai.gpt-oss-120b,us-east-1,none,default,0.00015,0.0006,0.000075,0.0003,true,quote,"
        "2026-11-26\n"
    )
    catalog = PriceCatalog.load("seed", overrides=overrides)
    usage = make_usage([{**NIGHTLY, "operation": "InvokeModel"}])
    usage[["model", "provider", "family"]] = ["openai.gpt-oss-120b", "openai", "gpt-oss"]
    usage["model_id_raw"] = "openai.gpt-oss-120b-1:0"
    bp = bi.plan(usage, catalog)
    (seg,) = bp.segments.to_dict("records")
    assert seg["decision"] == batch_params.MOVE
    # 450 requests of 1,000 in and 200 out tokens, at half the on-demand rates
    assert seg["net_saving_usd"] == pytest.approx(450 * (1000 * 0.000075 + 200 * 0.0003) / 1000)
    jobs = bi.export_jobs(bp, usage, None, tmp_path / "j", role_arn=ROLE, s3_prefix="s3://bucket/p")
    assert jobs[["invocation_type", "records"]].to_dict("records") == [
        {"invocation_type": "Converse", "records": 450}
    ]
    request = json.loads((Path(jobs["directory"].iat[0]) / "request.json").read_text())
    assert request["modelInvocationType"] == "Converse"
    assert request["modelId"] == "openai.gpt-oss-120b-1:0"


def test_a_region_too_small_for_a_job_stays_on_demand(seed, tmp_path):
    usage = make_usage([NIGHTLY])
    minute = usage["timestamp"].dt.minute
    eu = (usage["timestamp"].dt.hour == 3) & (minute < 10)  # 10 a day, 30 in all
    usage = split_regions(usage, eu)
    bp = bi.plan(usage, seed)
    (seg,) = bp.segments.to_dict("records")
    parts = bp.job_parts.set_index("region")
    assert parts.loc["eu-west-1", "requests"] == 30
    assert parts.loc["eu-west-1", "min_records_rule"] == "too small for one job"
    assert not parts.loc["eu-west-1", "in_job"] and parts.loc["us-east-1", "in_job"]
    # the segment still moves, without its 30 eu-west-1 requests
    assert seg["decision"] == batch_params.MOVE and seg["eligible"]
    assert seg["job_groups"] == 1 and seg["job_group_requests"] == 420
    assert seg["requests_left_on_demand"] == 30 and seg["min_records_rule"] == "ok"
    assert len(bp.rows) == 420
    assert set(usage.set_index("request_id").loc[bp.rows["request_id"], "region"]) == {"us-east-1"}
    assert seg["net_saving_usd"] == pytest.approx(420 * SAVING_PER_REQUEST)
    f = bi.to_findings(bp)
    assert f.savings_usd == pytest.approx(420 * SAVING_PER_REQUEST)
    assert f"on demand (too few for a job): eu-west-1 with {EU_ID} (30 requests)" in (
        f.actions[0].action
    )
    assert any("30 requests in eu-west-1" in n for n in f.notes)
    jobs = bi.export_jobs(bp, usage, None, tmp_path, role_arn=ROLE, s3_prefix="s3://bucket/p")
    assert jobs[["region", "model_id", "records"]].to_dict("records") == [
        {"region": "us-east-1", "model_id": US_ID, "records": 420}
    ]


def test_forced_in_small_region_stays_on_demand(seed, tmp_path):
    """force_in moves the segment, but its 30 requests in eu-west-1 are too few for a job
    there (Bedrock refuses one under the minimum): they stay on demand, out of the saving,
    and the jobs written are the plan's."""
    usage = make_usage([NIGHTLY])
    eu = (usage["timestamp"].dt.hour == 3) & (usage["timestamp"].dt.minute < 10)
    usage = split_regions(usage, eu)
    bp = bi.plan(usage, seed, force_in=["nightly"])
    parts = bp.job_parts.set_index("region")
    assert parts.loc["eu-west-1", "in_job"] == False and parts.loc["us-east-1", "in_job"]  # noqa: E712
    assert len(bp.rows) == 420
    assert any("eu-west-1" in n and "stay on demand" in n for n in bp.notes)
    jobs = bi.export_jobs(bp, usage, None, tmp_path, role_arn=ROLE, s3_prefix="s3://bucket/p")
    got = jobs.set_index("region")[["records", "below_min_records"]].to_dict("index")
    assert got == {"us-east-1": {"records": 420, "below_min_records": False}}


def test_submit_keeps_each_job_in_its_region():
    from bedrock_finops import batch_submit as bs

    reqs = [{"jobName": "a"}, {"jobName": "b"}]
    out = bs.submit_jobs(reqs, regions=["eu-west-1", "us-east-1"])
    assert out[["jobName", "region", "action"]].to_dict("records") == [
        {"jobName": "a", "region": "eu-west-1", "action": "would-create"},
        {"jobName": "b", "region": "us-east-1", "action": "would-create"},
    ]
    import boto3

    client = boto3.client(
        "bedrock", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with pytest.raises(ValueError, match="eu-west-1"):
        bs.submit_jobs(reqs, client, apply=True, regions=["eu-west-1", "us-east-1"])


def test_groups_built_in_one_pass_over_the_file_equal_held_turns(seed, tmp_path, monkeypatch):
    """Two job groups whose rows interleave through the month: reading the user turns from
    usage.parquet in one pass (small row groups, several per group) writes byte for byte the
    jobs that turns held in memory give, each row group read once."""
    usage = make_usage([NIGHTLY])
    usage = split_regions(usage, usage["timestamp"].dt.hour == 3)
    usage["user_text"] = [f"document {i}" if i % 7 else None for i in range(len(usage))]
    bp = bi.plan(usage, seed)
    pq.write_table(schema.to_arrow(usage), tmp_path / "usage.parquet", row_group_size=64)
    column = ParquetColumn(tmp_path / "usage.parquet", "user_text")
    reads = []
    real_read = ParquetColumn.read_row_group
    monkeypatch.setattr(
        ParquetColumn, "read_row_group", lambda self, i: reads.append(i) or real_read(self, i)
    )
    lean = usage.drop(columns="user_text")
    kw = {"role_arn": ROLE, "s3_prefix": "s3://bucket/p"}
    held = bi.export_jobs(bp, usage, None, tmp_path / "held", **kw)
    read = bi.export_jobs(bp, lean, None, tmp_path / "read", user_text=column, **kw)
    assert reads == list(range(len(column.starts) - 1))  # 8 row groups, each once
    # the turns not logged (every 7th) stay out: the jobs hold exactly the moved requests
    assert len(held) == 2 and held["placeholder_user_text"].sum() == 0
    assert held["records"].sum() == len(bp.rows) == len(usage) - len(range(0, len(usage), 7))
    assert held.drop(columns="directory").equals(read.drop(columns="directory"))
    for a, b in zip(held["directory"], read["directory"], strict=True):
        for f in sorted(Path(a).rglob("*")):
            if f.is_file():
                assert f.read_bytes() == (Path(b) / f.relative_to(a)).read_bytes()
    assert not list((tmp_path / "read").glob(".spool-*"))


def test_a_routed_call_goes_to_the_model_the_router_chose():
    """A batch job cannot name a prompt router: its rows go to the job of the model it chose."""
    import pandas as pd

    from bedrock_finops.strategies.batch_inference import job_groups_of

    usage = pd.DataFrame(
        {
            "app": ["a", "a"],
            "region": ["us-east-1", "us-east-1"],
            "model_id_raw": ["arn:aws:bedrock:us-east-1:1:default-prompt-router/x:1", "m"],
            "routed_model_id": pd.array(["us.anthropic.claude-3-5-haiku-v1:0", None], "string"),
        }
    )
    assert job_groups_of(usage).tolist() == [
        "a:us-east-1:us.anthropic.claude-3-5-haiku-v1:0",
        "a:us-east-1:m",
    ]


def test_requests_the_sheet_cannot_price_in_batch_go_in_no_job(seed, tmp_path):
    """A third of nightly's traffic runs in ap-south-1, where the sheet has no price: the
    saving cannot be counted there, so those 150 stay on demand and the jobs hold the 300
    requests the plan moves and prices."""
    usage = make_usage([NIGHTLY])
    usage.loc[usage["timestamp"].dt.hour == 3, "region"] = "ap-south-1"
    bp = bi.plan(usage, seed)
    assert len(bp.rows) == 300 and set(bp.job_parts["region"]) == {"us-east-1"}
    assert bp.segments["requests_left_on_demand"].tolist() == [150]
    jobs = bi.export_jobs(bp, usage, None, tmp_path, role_arn=ROLE, s3_prefix="s3://bucket/p")
    assert jobs[["region", "records"]].to_dict("records") == [
        {"region": "us-east-1", "records": 300}
    ]
    assert bp.rows["savings_usd"].sum() == pytest.approx(300 * 0.003)  # 1,000 in + 200 out


def _tagged(spec: dict, tag: str, n: int):
    usage = make_usage([spec]).iloc[:n].copy()
    usage["request_id"] = tag + usage["request_id"]
    return usage


@pytest.mark.parametrize("unrelated", [0, 1, 2])
def test_deciding_the_movers_again_settles_on_jobs_that_can_run(seed, tmp_path, unrelated):
    """S has 300 plain requests in us-east-1 and 60 heavily cached ones in eu-west-1; T has
    60 plain ones in eu-west-1. Pooled, eu-west-1 makes a job and S's cached part costs it
    its saving; then T alone is too small, and S without its eu-west-1 part moves. The plan
    settles there, whatever other segments the run holds, and its jobs are those written."""
    s_us = _tagged({**NIGHTLY, "per_hour": 100, "template": "sys-s"}, "su", 300)
    cached = {"input": 100, "cache_read": 20_000}
    s_eu = _tagged({**NIGHTLY, "per_hour": 20, "template": "sys-s", **cached}, "se", 60)
    t_eu = _tagged({**NIGHTLY, "per_hour": 20, "template": "sys-t"}, "te", 60)
    usage = pd.concat([s_us, s_eu, t_eu], ignore_index=True)
    usage = split_regions(usage, pd.Series([False] * 300 + [True] * 120))
    for i in range(unrelated):  # segments that are no candidate
        chat = _tagged({**CHAT, "template": f"chat-{i}", "per_hour": 2}, f"c{i}", 48)
        usage = pd.concat([usage, split_regions(chat, chat["app"] != chat["app"])])
    usage = usage.reset_index(drop=True)
    bp = bi.plan(usage, seed)
    moved = bp.moved.set_index("template")
    assert list(moved.index) == ["sys-s"] and moved.loc["sys-s", "job_group_requests"] == 300
    assert len(bp.rows) == 300
    jobs = bi.export_jobs(bp, usage, None, tmp_path, role_arn=ROLE, s3_prefix="s3://bucket/p")
    assert jobs[["region", "records", "below_min_records"]].to_dict("records") == [
        {"region": "us-east-1", "records": 300, "below_min_records": False}
    ]
    left = bp.segments.set_index("template")["requests_left_on_demand"]
    assert (left["sys-s"], left["sys-t"]) == (60, 60)
