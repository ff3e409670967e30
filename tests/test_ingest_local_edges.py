"""What a local folder may hold besides log files: links, pipes, odd names, the run's own
output. Each is read, skipped with a reason, or quarantined; none is lost unsaid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from usage_builders import make_usage, prompts_frame

from bedrock_finops import batch_jobs, quality_gate, runner, segments
from bedrock_finops.batch_records import SegmentRecords
from bedrock_finops.ingest import IngestError, ingest_to_folder
from bedrock_finops.sources.invocation_logs import NOT_A_LOG, STOPPED_SCRATCH
from bedrock_finops.sources.own_output import (
    EARLIER_BATCH_JOB,
    EARLIER_EVAL_SAMPLE,
    EARLIER_OUTPUT,
    EARLIER_RUN,
)

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
BASE = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])


def _write(path: Path, *request_ids: str, extra: str = "") -> None:
    lines = [json.dumps({**BASE, "requestId": i}) for i in request_ids]
    path.write_text("\n".join(lines) + "\n" + extra)


def _quarantine(out: Path) -> list[tuple[str, int, str]]:
    rows = pq.read_table(out / "quarantine.parquet").to_pylist()
    return [(q["source"], q["line"], q["reason"]) for q in rows]


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "a.json", "a-1")
    month = tmp_path / "elsewhere" / "month"
    month.mkdir(parents=True)
    _write(month / "b.json", "b-1", "b-2")
    os.symlink(month, logs / "linked_month")  # read through the link
    os.symlink(month, logs / "zz_again")  # the same folder again: skipped, not read twice
    os.symlink(logs / "missing.json", logs / "dangling.json")
    os.symlink(logs / "loop2.json", logs / "loop1.json")
    os.symlink(logs / "loop1.json", logs / "loop2.json")
    os.mkfifo(logs / "pipe.json")  # reading it would wait forever
    _write(logs / os.fsdecode(b"caf\xe9.json"), "cafe-1", extra="not json\n")
    return logs


def test_links_pipes_and_odd_names(odd_folder: Path, tmp_path: Path):
    out = tmp_path / "out"
    report = ingest_to_folder(odd_folder, out, workers=1, progress=False)
    usage = pq.read_table(out / "usage.parquet").to_pylist()
    assert sorted(r["request_id"] for r in usage) == ["a-1", "b-1", "b-2", "cafe-1"]
    assert {r["request_id"]: r["source_file"] for r in usage}["cafe-1"] == "caf\\xe9.json"
    assert _quarantine(out) == [
        ("caf\\xe9.json", 2, "invalid JSON"),
        ("dangling.json", 1, "unreadable file (FileNotFoundError)"),
        ("loop1.json", 1, "unreadable file (OSError)"),
        ("loop2.json", 1, "unreadable file (OSError)"),
    ]
    assert report.files_skipped == [
        {"file": "pipe.json", "reason": "not a regular file"},
        {"file": "zz_again/", "reason": "folder already read (a link)"},
    ]
    assert (report.rows, report.quarantined, report.lines_read) == (4, 4, 8)


def test_the_runs_own_output_inside_the_source_is_not_read(tmp_path: Path):
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "a.json", "a-1", "a-2")
    first = ingest_to_folder(logs, logs, workers=1, progress=False)
    again = ingest_to_folder(logs, logs, workers=1, progress=False)
    assert (
        (again.lines_read, again.rows, again.quarantined)
        == (2, 2, 0)
        == (
            first.lines_read,
            first.rows,
            first.quarantined,
        )
    )
    own = [s["file"] for s in again.files_skipped if s["reason"] == "this ingest's own output"]
    assert own == ["ingest_report.json", "prompts.parquet", "quarantine.parquet", "usage.parquet"]


def test_an_earlier_ingests_output_inside_the_source_is_not_read(tmp_path: Path):
    """Its report is no log."""
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "a.json", "a-1", "a-2")
    ingest_to_folder(logs, logs / "out", workers=1, progress=False)
    again = ingest_to_folder(logs, tmp_path / "elsewhere", workers=1, progress=False)
    assert (again.lines_read, again.rows, again.quarantined, again.duplicates) == (2, 2, 0, 0)
    earlier = [s["file"] for s in again.files_skipped if s["reason"] == EARLIER_OUTPUT]
    assert earlier == [
        "out/ingest_report.json", "out/prompts.parquet", "out/quarantine.parquet",
        "out/usage.parquet",
    ]  # fmt: skip


def _run_folder(folder: Path) -> None:
    """What ``bedrock-finops run`` leaves in its dated folder: the ingest's tables, the
    manifest, notebooks and their HTML, findings, routing tables and batch jobs."""
    ingest_to_folder(GOOD, folder, workers=1, progress=False)
    runner._write_manifest(folder, {"tool": "bedrock-finops", "status": "ok", "notebooks": {}})
    (folder / "truth.json").write_text(json.dumps({"requests": 12}, indent=2))
    for name in ("00_baseline", "01_model_sizing"):
        (folder / f"{name}.ipynb").write_text(json.dumps({"cells": []}))
        (folder / f"{name}.html").write_text("<html></html>\n")
        (folder / f"{name}.findings.json").write_text(json.dumps({"strategy": name}, indent=2))
    (folder / "01_model_sizing.routing.json").write_text(json.dumps({"routes": []}, indent=2))
    (folder / "01_model_sizing.routing.csv").write_text("segment,model\n")
    job = folder / "batch_jobs" / "doc-summarizer-0123456789ab" / "input"
    job.mkdir(parents=True)
    (job / "part-0001.jsonl").write_text(json.dumps({"recordId": "R1", "modelInput": {}}) + "\n")


def test_an_earlier_runs_folder_inside_the_source_is_not_read(tmp_path: Path):
    """``outputs/`` beside the logs: a run's manifest, report, findings and batch jobs are no
    logs. Its files are listed as skipped, by name; a log file put in the run folder is read,
    and so is a user's own ``manifest.json`` in a folder no run wrote."""
    logs = tmp_path / "logs"
    (logs / "team").mkdir(parents=True)
    _write(logs / "a.json", "a-1", "a-2")
    _write(logs / "team" / "manifest.json", "m-1")  # the user's: no run's manifest
    run = logs / "outputs" / "2026-11-26"
    _run_folder(run)
    _write(run / "mine.json", "r-1")
    os.symlink("2026-11-26", logs / "outputs" / "latest")
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    usage = pq.read_table(tmp_path / "out" / "usage.parquet").to_pylist()
    assert sorted(r["request_id"] for r in usage) == ["a-1", "a-2", "m-1", "r-1"]
    assert (report.lines_read, report.quarantined, report.duplicates) == (4, 0, 0)
    assert report.files_skipped == [
        {"file": f"outputs/2026-11-26/{name}", "reason": EARLIER_RUN}
        for name in [
            "00_baseline.findings.json", "00_baseline.html", "00_baseline.ipynb",
            "01_model_sizing.findings.json", "01_model_sizing.html", "01_model_sizing.ipynb",
            "01_model_sizing.routing.csv", "01_model_sizing.routing.json",
            "ingest_report.json", "manifest.json", "prompts.parquet", "quarantine.parquet",
            "truth.json", "usage.parquet", "batch_jobs/",
        ]
    ] + [{"file": "outputs/latest/", "reason": "folder already read (a link)"}]  # fmt: skip
    assert (
        "  skipped: an earlier run's output (bedrock-finops run): 15 in outputs/2026-11-26 "
        "(listed in ingest_report.json)"
    ) in report.summary().splitlines()


def test_a_folder_without_the_mark_is_read_though_its_names_are_a_runs(tmp_path: Path):
    """A run's file names alone prove nothing: without the run's manifest (or an ingest's
    report beside its tables) the folder is the user's, and its JSON files are logs."""
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "manifest.json", "m-1")
    _write(logs / "truth.json", "t-1")
    _write(logs / "ingest_report.json", "i-1")
    (logs / "prompts.parquet").write_bytes(b"PAR1")
    (logs / "usage.parquet").write_bytes(b"PAR1")
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.quarantined) == (3, 0)
    assert {s["reason"] for s in report.files_skipped} == {NOT_A_LOG}


def test_a_source_of_earlier_output_only_is_an_error_naming_it(tmp_path: Path):
    outputs = tmp_path / "outputs"
    _run_folder(outputs / "2026-11-26")
    ingest_to_folder(GOOD, outputs / "tables", workers=1, progress=False)
    with pytest.raises(IngestError) as err:
        ingest_to_folder(outputs, tmp_path / "out", workers=1, progress=False)
    assert str(err.value) == (
        f"no invocation log files under {outputs}, only the output of earlier bedrock-finops "
        "runs or ingests (2026-11-26, tables), which is not read; point the source at the "
        "folder of logs itself (the one that holds AWSLogs/<account>/BedrockModelInvocationLogs, "
        "or your log files)"
    )
    assert not (tmp_path / "out").exists()


def _eval_sample_folder(folder: Path) -> str:
    """What ``eval-sample --out`` (with ``--live --apply``) leaves: its manifest, a dataset
    per segment, the scores, the answers and the failed requests. Returns the dataset's name."""
    usage = make_usage([dict(
        n=3, app="router", model="anthropic.claude-sonnet-4", system_hash="h-router",
        user_text="Refund?",
    )])  # fmt: skip
    (segment,) = set(segments.row_segments(usage))
    recommended = pd.DataFrame([{
        "segment": segment, "app": "router", "model": "anthropic.claude-sonnet-4",
        "candidate": "anthropic.claude-3-5-haiku", "task_type": "classification",
    }])  # fmt: skip
    prompts = prompts_frame({"h-router": "Classify the ticket."})
    manifest = quality_gate.write_eval_sample(usage, prompts, recommended, folder, per_segment=3)
    ids = manifest["segments"][0]["request_ids"]
    (folder / "eval_results.csv").write_text(
        "request_id,segment,current_score,candidate_score\n"
        + "".join(f"{i},{segment},1.0,1.0\n" for i in ids)
    )
    (folder / "responses.jsonl").write_text(
        "".join(json.dumps({"request_id": i, "current": "a", "candidate": "a"}) + "\n" for i in ids)
    )
    (folder / "replay_errors.json").write_text(
        json.dumps([{"request_id": ids[0], "segment": segment, "error": "throttled"}], indent=2)
    )
    return manifest["segments"][0]["file"]


def _batch_export_folder(folder: Path) -> str:
    """What ``batch-export --out`` leaves: a folder per job with its job.json, request.json,
    records.csv and input files. Returns the job's name."""
    records = [{"recordId": f"R{i}", "modelInput": {"messages": []}} for i in range(3)]
    (job,) = batch_jobs.export_segment(
        SegmentRecords("Converse", records, [f"req-{i}" for i in range(3)]),
        folder,
        segment="doc-summarizer",
        model_id="us.anthropic.claude-sonnet-4-20250514-v1:0",
        role_arn="arn:aws:iam::123456789012:role/bedrock-batch",
        s3_prefix="s3://bucket/batch",
        quotas=batch_jobs.BatchQuotas(min_records_per_job=1),
        region="us-east-1",
    )
    return job.name


def test_an_eval_sample_and_a_batch_export_inside_the_source_are_not_read(tmp_path: Path):
    """``eval-sample --out`` and ``batch-export --out`` kept beside the logs: their manifest,
    datasets, scores, job files and inputs are no logs. Each file they wrote is listed as
    skipped, by name; a log file put among them is read."""
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "a.json", "a-1", "a-2")
    dataset = _eval_sample_folder(logs / "eval")
    _write(logs / "eval" / "mine.jsonl", "e-1")
    job = _batch_export_folder(logs / "jobs")
    _write(logs / "jobs" / job / "mine.json", "j-1")
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    usage = pq.read_table(tmp_path / "out" / "usage.parquet").to_pylist()
    assert sorted(r["request_id"] for r in usage) == ["a-1", "a-2", "e-1", "j-1"]
    assert (report.lines_read, report.quarantined, report.duplicates) == (4, 0, 0)
    assert _quarantine(tmp_path / "out") == []
    assert report.files_skipped == [
        {"file": f"eval/{name}", "reason": EARLIER_EVAL_SAMPLE}
        for name in [
            "eval_results.csv", "manifest.json", "replay_errors.json", "responses.jsonl", dataset,
        ]
    ] + [
        {"file": f"jobs/{job}/{name}", "reason": EARLIER_BATCH_JOB}
        for name in ["job.json", "records.csv", "request.json", "input/"]
    ]  # fmt: skip
    summary = report.summary().splitlines()
    assert (
        "  skipped: an earlier eval sample (bedrock-finops eval-sample): 5 in eval "
        "(listed in ingest_report.json)"
    ) in summary
    assert (
        f"  skipped: an earlier batch job's files (bedrock-finops batch-export): 4 in jobs/{job} "
        "(listed in ingest_report.json)"
    ) in summary


def test_eval_sample_and_batch_job_names_without_the_mark_are_read(tmp_path: Path):
    """The names alone prove nothing: a ``manifest.json`` or ``job.json`` without this tool's
    mark (and the files beside it) are the user's logs."""
    logs = tmp_path / "logs"
    (logs / "job" / "input").mkdir(parents=True)
    _write(logs / "manifest.json", "m-1")
    _write(logs / "responses.jsonl", "s-1")
    _write(logs / "replay_errors.json", "e-1")
    _write(logs / "job" / "job.json", "j-1")
    _write(logs / "job" / "request.json", "q-1")
    _write(logs / "job" / "input" / "part-0001.jsonl", "p-1")
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    usage = pq.read_table(tmp_path / "out" / "usage.parquet").to_pylist()
    assert sorted(r["request_id"] for r in usage) == ["e-1", "j-1", "m-1", "p-1", "q-1", "s-1"]
    assert (report.quarantined, report.files_skipped) == (0, [])


def test_a_source_of_an_eval_sample_and_batch_jobs_only_is_an_error_naming_them(
    tmp_path: Path,
):
    source = tmp_path / "work"
    _eval_sample_folder(source / "eval")
    job = _batch_export_folder(source / "jobs")
    with pytest.raises(IngestError) as err:
        ingest_to_folder(source, tmp_path / "out", workers=1, progress=False)
    assert str(err.value) == (
        f"no invocation log files under {source}, only the output of earlier bedrock-finops "
        f"commands (eval, jobs/{job}), which is not read; point the source at the folder of "
        "logs itself (the one that holds AWSLogs/<account>/BedrockModelInvocationLogs, or your "
        "log files)"
    )


def test_a_killed_ingests_scratch_copy_inside_the_source_is_not_read(tmp_path: Path):
    """A killed run leaves its expanded gzip files and no report: they are no second copy of
    the logs, and the report lists the folder as skipped."""
    logs = tmp_path / "logs"
    (logs / "out" / ".expanded-0123456789ab").mkdir(parents=True)
    _write(logs / "a.json", "a-1", "a-2")
    _write(logs / "out" / ".expanded-0123456789ab" / "big.json", "a-1", "a-2")
    report = ingest_to_folder(logs, tmp_path / "elsewhere", workers=1, progress=False)
    assert (report.lines_read, report.rows, report.duplicates) == (2, 2, 0)
    assert report.files_skipped == [
        {"file": "out/.expanded-0123456789ab/", "reason": STOPPED_SCRATCH}
    ]


def test_a_home_folder_of_no_user_is_a_clear_error(tmp_path: Path):
    with pytest.raises(IngestError, match=r"source '~nosuchuser-x/logs'.*full path"):
        ingest_to_folder("~nosuchuser-x/logs", tmp_path, progress=False)


def test_a_tree_nested_deeper_than_can_be_walked_is_one_error(tmp_path: Path):
    """Python 3.11's ``os.walk`` recurses once a level and gives up at the recursion limit
    (about 1,000 levels, paths of ~2,000 characters, under the system's limit; here the limit
    is lowered to 300 and the tree is 400 deep, to keep the test quick). The ingest says so in
    one error naming the folder and the fix, instead of a RecursionError traceback."""
    root = tmp_path / "deep"
    subprocess.run(["mkdir", "-p", str(root.joinpath(*["d"] * 400))], check=True)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        with pytest.raises(IngestError, match=r"deep: folders are nested deeper than can be"):
            ingest_to_folder(root, tmp_path / "out", workers=1, progress=False)
    finally:  # shutil.rmtree, which cleans tmp_path up, recurses too
        sys.setrecursionlimit(limit)
        subprocess.run(["rm", "-rf", str(root)], check=True)
