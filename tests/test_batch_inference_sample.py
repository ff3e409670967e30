"""Strategy 02 on the embedded sample, checked against the sample's planted truths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrock_finops import batch_jobs as bj
from bedrock_finops import batch_records as br
from bedrock_finops.models import resolve
from bedrock_finops.notebook import default_sample_run, open_run
from bedrock_finops.strategies import batch_findings
from bedrock_finops.strategies import batch_inference as bi


@pytest.fixture(scope="module")
def ctx():
    return open_run(str(default_sample_run()), price_sheet="current")


@pytest.fixture(scope="module")
def bp(ctx):
    return bi.plan(ctx.usage, ctx.catalog, prompts=ctx.prompts, priced=ctx.priced)


def test_doc_summarizer_is_the_top_candidate(bp):
    segs = bp.segments
    assert segs.iloc[0]["app"] == "doc-summarizer"
    eligible_apps = set(bp.eligible["app"])
    assert eligible_apps == {"doc-summarizer"}
    by_app = segs.groupby("app")["eligible"].any()
    assert not by_app["support-chat"]  # interactive
    assert not by_app["code-assistant"]  # streaming
    top = segs.iloc[0]
    assert top["caller_score"] == 1.0 and top["non_streaming_score"] == 1.0
    assert top["busiest_window_value"] == 1.0  # all of it inside 01:00-04:00 UTC


def test_savings_match_truth_token_totals(ctx, bp):
    truth = ctx.truth["apps"]["doc-summarizer"]
    ref = resolve(truth["model_id"])
    rate = ctx.catalog.rate(ref.key, region=truth["region"], geo=ref.geo)
    assert truth["cache_read_tokens"] == 0 and truth["cache_write_tokens"] == 0
    on_demand = (
        truth["input_tokens"] * rate["input_per_1k"]
        + truth["output_tokens"] * rate["output_per_1k"]
    ) / 1000
    batch = (
        truth["input_tokens"] * rate["batch_input_per_1k"]
        + truth["output_tokens"] * rate["batch_output_per_1k"]
    ) / 1000
    # the 5 requests whose bodies were over 100 KB (not fetched) cannot be rebuilt: they stay
    # on demand, and their logged tokens come out of both figures
    large = ctx.usage[ctx.usage["request_id"].isin(ctx.truth["faults"]["large_bodies"])]
    assert len(large) == 5 and set(large["app"]) == {"doc-summarizer"}
    large_in, large_out = int(large["input_tokens"].sum()), int(large["output_tokens"].sum())
    on_demand -= (large_in * rate["input_per_1k"] + large_out * rate["output_per_1k"]) / 1000
    batch -= (
        large_in * rate["batch_input_per_1k"] + large_out * rate["batch_output_per_1k"]
    ) / 1000
    f = batch_findings.to_findings(bp)
    assert f.scope_usd == pytest.approx(on_demand, rel=1e-9)
    assert f.projected_usd == pytest.approx(batch, rel=1e-9)
    assert f.savings_usd == pytest.approx(on_demand - batch, rel=1e-9)
    assert int(bp.eligible["requests"].sum()) == truth["requests"] - 5
    held = bp.segments[bp.segments["unlogged_user_turns"] > 0]
    assert held["requests"].tolist() == [5] and held["unlogged_user_turns"].tolist() == [5]
    assert "fetch_large_bodies" in held["blockers"].iat[0] and not held["eligible"].iat[0]
    json.dumps(f.to_dict())  # serialisable


def test_the_plans_name_the_date_of_the_prices_they_used(ctx, bp):
    """The current sheet holds rows dated 2026-11-27 (Claude 4.6 and 4.7) and 2026-11-28 (the
    embedding models), which no request of the sample uses; every price the sample's requests
    take is dated 2026-11-26."""
    from bedrock_finops.strategies import model_sizing

    sizing = model_sizing.plan(ctx.usage, ctx.catalog, priced=ctx.priced)
    assert str(ctx.catalog.as_of.date()) == "2026-11-28"
    assert (bp.catalog_info["price_sheet_as_of"], sizing.catalog_info["price_as_of"]) == (
        "2026-11-26",
        "2026-11-26",
    )


def test_force_in_unknown_app_lists_the_apps(ctx):
    """A sample of 9 apps: the error names them all, and the one the typo is near."""
    with pytest.raises(ValueError) as err:
        bi.analyze(ctx.usage, ctx.catalog, force_in=["suport-chat"])
    assert str(err.value) == (
        "force_in names ['suport-chat'], which is neither an app nor a segment id in this run; "
        "did you mean 'support-chat' for 'suport-chat'? The run has 9 apps ('code-assistant', "
        "'doc-summarizer', 'entity-extractor', 'eval-harness', 'faq-helper', "
        "'marketing-writer', 'report-bot', 'support-chat', 'ticket-router') and 10 segments, "
        "listed in 02_batch_inference's segments table (its app and segment columns)"
    )


def test_export_on_sample(ctx, bp, tmp_path):
    jobs = bi.export_jobs(
        bp,
        ctx.usage,
        ctx.prompts,
        tmp_path,
        role_arn="arn:aws:iam::123456789012:role/bedrock-batch",
        s3_prefix="s3://bucket/batch",
        quotas=bj.BatchQuotas(
            min_records_per_job=100, max_records_per_job=1000, max_records_per_file=500
        ),
    )
    truth = ctx.truth["apps"]["doc-summarizer"]
    assert jobs["records"].sum() == truth["requests"] - len(ctx.truth["faults"]["large_bodies"])
    assert (jobs["records"] <= 1000).all() and not jobs["below_min_records"].any()
    assert (jobs["invocation_type"] == "Converse").all()
    assert set(jobs["model_id"]) == {truth["model_id"]}
    for path in (tmp_path / jobs["job_name"].iat[0] / "input").glob("*.jsonl"):
        records = br.read_jsonl(path)
        assert len(records) <= 500
        for rec in records:
            br.validate_record(rec, "Converse")


def test_cli_batch_export_dry_run(tmp_path, capsys, bp, no_aws_credentials):
    """The CLI exports what the notebook's plan moves, says what it costs and how often to
    submit each segment's traffic (without credentials: it does not ask Bedrock which jobs
    exist, and says so)."""
    from bedrock_finops.cli import main

    code = main(
        [
            "batch-export", "--run-dir", str(default_sample_run()), "--out", str(tmp_path),
            "--role-arn", "arn:aws:iam::123456789012:role/bedrock-batch",
            "--s3-prefix", "s3://bucket/batch",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    # the 5 requests whose body was over 100 KB (not fetched) stay on demand: the job holds
    # no placeholder and can be submitted
    assert "would-create" in out and "dry run" in out
    assert "status unchecked: Bedrock was not asked which of these jobs exist" in out
    assert "held:" not in out
    moved = bp.rows
    assert (
        f"the {len(moved):,} requests moved cost ${moved['current_usd'].sum():,.2f} on demand "
        f"over the logged 30 days; in batch ${moved['batch_usd'].sum():,.2f}"
    ) in out
    assert "doc-summarizer" in out and ": every 2 days" in out  # ~90 a day, 100 a job
    (job_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    req = json.loads((job_dir / "request.json").read_text())
    assert req["jobName"] == job_dir.name and req["modelInvocationType"] == "Converse"


def test_user_turns_read_from_the_file_give_the_same_plan_and_jobs(ctx, bp, tmp_path):
    """A run opened without its user turns (as the notebook does) plans and exports exactly
    as one holding them, reading the turns from usage.parquet only where needed."""
    lean = open_run(str(default_sample_run()), price_sheet="current", user_text=False)
    assert "user_text" not in lean.usage.columns
    kw = {"prompts": lean.prompts, "priced": lean.priced}
    with pytest.raises(ValueError, match="usage has no user_text column"):
        bi.plan(lean.usage, lean.catalog, **kw)
    plan = bi.plan(lean.usage, lean.catalog, user_text=lean.user_text_column, **kw)
    assert plan.data_quality == bp.data_quality
    assert plan.segments.equals(bp.segments)
    assert int(plan.segments["unlogged_user_turns"].sum()) == 5  # planted: counted, kept out
    export = {"role_arn": "arn:aws:iam::123456789012:role/r", "s3_prefix": "s3://bucket/p"}
    full = bi.export_jobs(bp, ctx.usage, ctx.prompts, tmp_path / "full", **export)
    from_file = bi.export_jobs(
        plan, lean.usage, lean.prompts, tmp_path / "lean", user_text=lean.user_text_column, **export
    )
    assert full.drop(columns="directory").equals(from_file.drop(columns="directory"))
    for a, b in zip(full["directory"], from_file["directory"], strict=True):
        files_a = sorted(p.relative_to(a) for p in Path(a).rglob("*"))
        assert files_a == sorted(p.relative_to(b) for p in Path(b).rglob("*"))
        for rel in files_a:
            if (Path(a) / rel).is_file():
                assert (Path(a) / rel).read_bytes() == (Path(b) / rel).read_bytes()


def test_cli_export_takes_the_runs_own_settings(tmp_path):
    """A run made with a lower threshold and a discount exports with them; a flag wins."""
    from bedrock_finops.batch_export_cli import export_settings

    assert export_settings(tmp_path, {})[0]["threshold"] == 0.6  # no manifest: the defaults
    params = {
        "common": {"discount_pct": 12.0, "price_sheet": "seed", "show_prompt_text": False},
        "02_batch_inference": {
            "threshold": 0.4,
            "business_hours": [9, 17],
            "business_time_zone": "America/Los_Angeles",
            "min_records_per_job": 200,
            "role_arn": "x",
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"params": params}))
    settings, origin = export_settings(tmp_path, {"min_records": 150, "price_sheet": None})
    assert "manifest.json" in origin
    assert (settings["threshold"], settings["discount_pct"], settings["price_sheet"]) == (
        0.4,
        12.0,
        "seed",
    )
    assert settings["min_records_per_job"] == 150  # the flag given
    assert (settings["business_hours"], settings["business_time_zone"]) == (
        [9, 17],
        "America/Los_Angeles",
    )
    assert "role_arn" not in settings and "show_prompt_text" not in settings


def test_cli_export_reads_a_runs_business_hours_in_utc(tmp_path):
    """A run recorded before the time zone parameter existed kept ``business_hours_utc``;
    the export takes those hours as UTC rather than falling back to the defaults."""
    from bedrock_finops.batch_export_cli import export_settings

    params = {"02_batch_inference": {"business_hours_utc": [13, 24]}}
    (tmp_path / "manifest.json").write_text(json.dumps({"params": params}))
    settings = export_settings(tmp_path, {})[0]
    assert (settings["business_hours"], settings["business_time_zone"]) == ([13, 24], "UTC")
    assert "business_hours_utc" not in settings


def test_cli_export_plans_as_the_runs_notebook_did(tmp_path, capsys, no_aws_credentials):
    """With the run's own threshold and business hours (a manifest), the CLI moves exactly
    the requests the notebook's plan moves with them, not those of the defaults."""
    import shutil

    from bedrock_finops.cli import main

    run = tmp_path / "run"
    shutil.copytree(default_sample_run(), run)
    own = {"threshold": 0.45, "business_hours": [9, 17], "business_time_zone": "Asia/Tokyo"}
    (run / "manifest.json").write_text(json.dumps({"params": {"02_batch_inference": own}}))
    ctx = open_run(str(run), user_text=False)
    kw = {"prompts": ctx.prompts, "priced": ctx.priced, "user_text": ctx.user_text_column}
    theirs = bi.plan(ctx.usage, ctx.catalog, **kw, **own)
    defaults = bi.plan(ctx.usage, ctx.catalog, **kw)
    assert len(theirs.rows) != len(defaults.rows)  # the settings matter on the sample
    code = main(
        [
            "batch-export", "--run-dir", str(run), "--out", str(tmp_path / "jobs"),
            "--role-arn", "arn:aws:iam::123456789012:role/bedrock-batch",
            "--s3-prefix", "s3://bucket/batch",
        ]
    )  # fmt: skip
    assert code == 0
    assert f"the {len(theirs.rows):,} requests moved" in capsys.readouterr().out


def test_placeholder_records_are_counted_per_input_file(tmp_path):
    """``placeholder_records`` counts, per input file, the records (lines) that still hold a
    placeholder user turn, once each even when the text is there twice; filled files drop out."""
    from bedrock_finops.batch_export_submit import placeholder_records
    from bedrock_finops.batch_records import PLACEHOLDER_USER_TEXT

    job = tmp_path / "job"
    (job / "input").mkdir(parents=True)

    def record(text: str) -> str:
        return json.dumps({"recordId": "r", "modelInput": {"text": text}}) + "\n"

    first, second = job / "input" / "part-0001.jsonl", job / "input" / "part-0002.jsonl"
    first.write_text(record(PLACEHOLDER_USER_TEXT * 2) + record("a question") * 3)
    second.write_text(record(PLACEHOLDER_USER_TEXT) * 2)
    assert placeholder_records([first, second]).user_text == {first: 1, second: 2}
    second.write_text(record("The quarterly report, in full.") * 2)
    found = placeholder_records([first, second])
    assert (found.user_text, found.media) == ({first: 1}, {})


def test_media_placeholder_records_are_counted_per_input_file(tmp_path):
    """Records whose text holds an inline image's or document's placeholder are counted per
    file, once each, with the kinds found and the first placeholder; text that only looks
    like one ("[[media image x]]") is none."""
    from bedrock_finops.batch_export_submit import placeholder_records

    image = "[[media image png 600x400 1588 bytes xxh3:a0e08c603308e508]]"
    document = "[[media document pdf 512 bytes xxh3:0123456789abcdef]]"

    def record(text: str) -> str:
        return json.dumps({"recordId": "r", "modelInput": {"text": text}}) + "\n"

    first, second = tmp_path / "part-0001.jsonl", tmp_path / "part-0002.jsonl"
    first.write_text(record(f"{image}\n{image}\nWhich is newer?") + record("a question") * 2)
    second.write_text(record(f"{document}\nSummarise it.") * 3 + record("[[media image x]]"))
    found = placeholder_records([first, second])
    assert (found.user_text, found.media) == ({}, {first: 1, second: 3})
    assert (found.media_kinds, found.media_example) == ({"image", "document"}, image)


def test_a_job_whose_records_lost_their_images_is_held(tmp_path):
    """Records written from user turns that sent images inline (``records_for_segment``
    writes them, counted; the plan leaves such requests out) send the model the placeholder
    text: batch-export holds the job, never uploads or creates it, and says why and where."""
    import base64
    import io

    from PIL import Image

    from bedrock_finops.batch_export_submit import held_lines
    from bedrock_finops.media_blocks import placeholder

    buf = io.BytesIO()
    Image.new("RGB", (600, 400), (10, 40, 90)).save(buf, "PNG")
    photo, _ = placeholder("image", "image/png", base64.b64encode(buf.getvalue()).decode())
    turn = f"{photo}\nExtract the fields from this receipt."
    job, pending = _export_receipts(
        tmp_path, 150, turn, operation="InvokeModel", provider="anthropic",
        family="claude-sonnet", model="anthropic.claude-sonnet-4",
        model_id="anthropic.claude-sonnet-4",
    )  # fmt: skip
    assert pending.held == "held: 150 records hold a placeholder for inline images"
    part = job.directory / "input" / "part-0001.jsonl"
    assert held_lines(pending) == [
        f"{job.name}: not submitted: 150 records hold a placeholder such as {photo!r} in place "
        "of the images their user turns sent inline (the usage table keeps no media bytes; "
        "the model would answer the placeholder's text), in:",
        f"  {part} (150 records)",
        "  such requests stay on demand (the batch plan leaves them out of its jobs); or "
        "rebuild those records with the images themselves, from your own copy of the "
        "requests, upload them and submit the job's request.json yourself",
    ]


S3_IMAGE = '{"image":{"format":"png","source":{"s3Location":{"uri":"s3://b/r.png"}}}}'
S3_VIDEO = '{"video":{"format":"mp4","source":{"s3Location":{"uri":"s3://b/v.mp4"}}}}'
URL_IMAGE = '{"source":{"type":"url","url":"https://example.com/p.jpg"},"type":"image"}'


def test_records_holding_media_sent_by_reference_are_counted_per_input_file(tmp_path):
    """Records whose user turn holds a media block's JSON (sent by S3 location or URL) are
    counted per file, in every body form a record takes (a Llama prompt's turn ends in its
    end-of-turn token, a Mistral one in [/INST]), with the kinds found; a tool result's JSON
    or a JSON object inside a sentence is none."""
    from bedrock_finops.batch_export_submit import placeholder_records

    def line(body: dict) -> str:
        return br.record_line({"recordId": "r", "modelInput": body}).decode()

    def converse(user: str) -> str:
        return line(br.converse_input("Describe it.", user, 100))

    tool_result = '{"content":"42","tool_use_id":"t1","type":"tool_result"}\nGo on.'
    first, second = tmp_path / "part-0001.jsonl", tmp_path / "part-0002.jsonl"
    first.write_text(
        converse(f"{S3_IMAGE}\nWhat is it?") * 2
        + line(br.invoke_model_input("anthropic", "claude", None, f"{URL_IMAGE}\nAnd this?", 9))
        + converse(tool_result)
        + converse('Our API answers {"type":"image"} for pictures.')
        + converse("a question")
    )
    second.write_text(
        line(br.invoke_model_input("meta", "llama", "S", f"What happens?\n{S3_VIDEO}", 9))
        + line(
            br.invoke_model_input(
                "mistral", "mistral", None, S3_IMAGE, 9, model="mistral.mistral-7b-instruct"
            )
        )
    )
    found = placeholder_records([first, second])
    assert (found.user_text, found.media) == ({}, {})
    assert found.referenced == {first: 3, second: 2}
    assert found.referenced_kinds == {"image", "video"}


def test_records_holding_a_tool_result_with_media_sent_by_reference_are_counted(tmp_path):
    """A record whose user turn is a tool's result that returned an image by S3 location (or
    an Anthropic document by URL) holds that block's JSON inside the tool result's: it is
    counted, with its kind, as one whose turn is the block itself is."""
    from bedrock_finops.batch_export_submit import placeholder_records

    def line(user: str) -> str:
        record = {"recordId": "r", "modelInput": br.converse_input("Read it.", user, 100)}
        return br.record_line(record).decode()

    converse = '{"toolResult":{"content":[' + S3_IMAGE + '],"toolUseId":"t1"}}'
    anthropic = (
        '{"content":[{"source":{"type":"url","url":"https://example.com/a.pdf"},'
        '"type":"document"}],"tool_use_id":"t1","type":"tool_result"}'
    )
    path = tmp_path / "part-0001.jsonl"
    path.write_text(line(converse) + line(f"{anthropic}\nSummarise it.") + line("a question"))
    found = placeholder_records([path])
    assert (found.referenced, found.referenced_kinds) == ({path: 2}, {"image", "document"})


def test_a_job_whose_records_hold_media_sent_by_reference_is_held(tmp_path):
    """Records written from user turns that sent an image by S3 location carry the block's
    JSON as text (a record carries the turn as text only): batch-export holds the job, never
    uploads or creates it, and says why and where."""
    from bedrock_finops.batch_export_submit import held_lines

    turn = f"{S3_IMAGE}\nExtract the fields from this receipt."
    job, pending = _export_receipts(
        tmp_path, 120, turn, operation="Converse", provider="amazon", family="nova",
        model="amazon.nova-lite", model_id="amazon.nova-lite-v1:0",
    )  # fmt: skip
    assert pending.held == "held: 120 records hold the JSON of images sent by reference"
    part = job.directory / "input" / "part-0001.jsonl"
    assert held_lines(pending) == [
        f"{job.name}: not submitted: 120 records hold as text the JSON of the images their "
        "user turns sent by reference (an S3 location or URL), not the media blocks (a record "
        "carries the user turn as text only; the model would answer the JSON), in:",
        f"  {part} (120 records)",
        "  such requests stay on demand (the batch plan leaves them out of its jobs); or "
        "rebuild those records with the images themselves, from your own copy of the "
        "requests, upload them and submit the job's request.json yourself",
    ]


def _export_receipts(tmp_path, n: int, user_text: str, **model: str):
    """One job of ``n`` requests, each with ``user_text`` as its user turn, exported as
    batch-export finds it: (the job, its pending entry). ``model``: operation, provider,
    family and model of the rows, and the job's model_id. Every record's turn is media."""
    import pandas as pd
    from usage_builders import media_sent_of

    from bedrock_finops.batch_export_submit import pending_jobs
    from bedrock_finops.schema import empty_usage

    rows = pd.DataFrame(
        {
            "request_id": [f"r-{i}" for i in range(n)],
            "operation": model["operation"],
            "provider": model["provider"],
            "family": model["family"],
            "model": model["model"],
            "user_text": user_text,
            "media_sent": media_sent_of(pd.Series([user_text]))[0],
            "max_tokens": 300,
        }
    )
    rows = pd.concat([empty_usage(), rows], ignore_index=True)[empty_usage().columns]
    records = br.records_for_segment(rows, None)
    assert (records.media_user_turns, records.missing_user_text) == (n, 0)
    (job,) = bj.export_segment(
        records, tmp_path, segment="receipts", model_id=model["model_id"],
        role_arn="arn:aws:iam::123456789012:role/r", s3_prefix="s3://bucket/jobs",
        region="us-east-1",
    )  # fmt: skip
    jobs = pd.DataFrame(
        [{"job_name": job.name, "directory": str(job.directory), "region": "us-east-1",
          "records": job.records, "below_min_records": job.below_min_records}]
    )  # fmt: skip
    (pending,) = pending_jobs(jobs, 100)
    return job, pending
