"""``bedrock-finops batch-export``: input mistakes stop it before a job file is written."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from bedrock_finops import cli
from bedrock_finops.notebook import default_sample_run

ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"
PREFIX = "s3://bucket/batch"


def _export(run: Path, out: Path, *flags: str) -> int:
    argv = ["batch-export", "--run-dir", str(run), "--out", str(out)]
    return cli.main([*argv, *flags])


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


INPUT_MISTAKES = {
    "role arn": (
        ["--role-arn", "notanarn", "--s3-prefix", PREFIX],
        "error: --role-arn 'notanarn' is not an IAM role ARN: give the service role Bedrock "
        "assumes to read the inputs and write the outputs, arn:aws:iam::<account>:role/<name>",
    ),
    "s3 prefix without s3://": (
        ["--role-arn", ROLE, "--s3-prefix", "my-bucket/p"],
        "error: --s3-prefix 'my-bucket/p' is not an s3:// location: give s3://<bucket>/<prefix> "
        "(did you mean s3://my-bucket/p?)",
    ),
    "s3 prefix without a bucket name": (
        ["--role-arn", ROLE, "--s3-prefix", "s3:///p"],
        "error: --s3-prefix 's3:///p' is not an s3:// location: give s3://<bucket>/<prefix>; "
        "'' is not a bucket name (3-63 lowercase letters, digits, . and -)",
    ),
    "s3 prefix with a space": (
        ["--role-arn", ROLE, "--s3-prefix", "s3://bucket/my jobs"],
        "error: --s3-prefix 's3://bucket/my jobs' is not an s3:// location: give "
        "s3://<bucket>/<prefix>; Bedrock takes only "
        "letters, digits and -!_*'(). between the /s of the key",
    ),
    "s3 prefix too long": (
        ["--role-arn", ROLE, "--s3-prefix", "s3://bucket/" + "p" * 1000],
        "error: --s3-prefix is 1,012 characters: a job's S3 location would pass Bedrock's "
        "1,024; give a shorter prefix",
    ),
    "timeout over 168 hours": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--timeout-hours", "500"],
        "error: --timeout-hours 500 is not a job timeout: Bedrock takes 24 to 168 hours",
    ),
    "min records over max records": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--min-records", "200", "--max-records", "50"],
        "error: --min-records 200 is over --max-records 50: a job cannot hold more than the "
        "maximum; lower the minimum or raise the maximum",
    ),
    "discount over 100%": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--discount-pct", "150"],
        "error: --discount-pct 150 is not a percentage in [0, 100): give the negotiated "
        "discount off list prices, e.g. 12 for 12% (0: none)",
    ),
    "a maximum under the default minimum, in a run without a manifest": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--max-records", "80"],
        "error: the default min_records_per_job 100 (--min-records sets it) is over "
        "--max-records 80: a job cannot hold more than the maximum; lower the minimum or raise "
        "the maximum",
    ),
    "zero records a file": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--max-file-records", "0"],
        "error: --max-file-records 0 must be a positive whole number of records (Service "
        "Quotas: 'Records per input file per batch inference job')",
    ),
}


@pytest.mark.parametrize("case", INPUT_MISTAKES)
def test_an_input_mistake_is_one_line_and_writes_nothing(tmp_path, capsys, case):
    flags, message = INPUT_MISTAKES[case]
    out = tmp_path / "jobs"
    assert _export(default_sample_run(), out, *flags) == 2
    captured = capsys.readouterr()
    assert captured.err == message + "\n"
    assert captured.out == ""  # stopped before the run was read: not even its settings line
    assert _files(out) == []


def test_a_runs_own_bad_timeout_names_the_manifest_and_the_flag(tmp_path, capsys):
    """A timeout from the run's manifest.json is checked as a flag's is, and named as such."""
    run = tmp_path / "run"
    run.mkdir()
    params = {"02_batch_inference": {"timeout_hours": 200}}
    (run / "manifest.json").write_text(json.dumps({"params": params}))
    out = tmp_path / "jobs"
    assert _export(run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 2
    assert capsys.readouterr().err == (
        "error: the run's timeout_hours 200 (its manifest.json; --timeout-hours overrides it) "
        "is not a job timeout: Bedrock takes 24 to 168 hours\n"
    )
    assert _files(out) == []
    # the flag wins over the run's setting: the export gets past the check (to the missing
    # usage.parquet of this bare run folder)
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--timeout-hours", "48"]
    assert _export(run, out, *flags) == 2
    assert "holds no usage.parquet" in capsys.readouterr().err


def test_out_under_a_file_is_named(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    code = _export(default_sample_run(), a_file / "jobs", "--role-arn", ROLE, "--s3-prefix", PREFIX)
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: --out {a_file / 'jobs'}: {a_file} is a file; give a folder for the jobs\n"
    )


def test_an_unknown_force_in_app_is_one_line_and_writes_nothing(tmp_path, capsys):
    """Checked against the run's apps, so after the run is read, but before a file is written."""
    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--force-in", "no-such-app"]
    assert _export(default_sample_run(), out, *flags) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: force_in names ['no-such-app'], which are neither apps nor")
    assert "'doc-summarizer'" in err and err.count("\n") == 1
    assert _files(out) == []


def test_apply_without_credentials_stops_before_writing(tmp_path, capsys, no_aws_credentials):
    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    assert _export(default_sample_run(), out, *flags) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: no usable AWS credentials: none were found (NoCredentialsError: Unable to "
        "locate credentials). Fix: set AWS_PROFILE"
    )
    assert _files(out) == []


# --- what each job gets: the dry-run and --apply tables, the exit code -----------------------

PLACEHOLDERS = 5  # user turns written as the placeholder in placeholder_run


def _only_job(out: Path) -> str:
    (job,) = [p.name for p in out.iterdir() if p.is_dir()]
    return job


def _table_row(out: str, name: str) -> list[str]:
    """The cells of the table line for job ``name`` (its action holds spaces: split the rest)."""
    (line,) = [line for line in out.splitlines() if line.startswith(name + " ")]
    name_, region, records, rest = line.split(None, 3)
    return [name_, region, records, rest.strip()]


def _placeholder_lines(job_dir: Path) -> int:
    """Records whose Converse user turn is the placeholder, read as JSON (not as bytes)."""
    from bedrock_finops.batch_records import PLACEHOLDER_USER_TEXT

    n = 0
    for path in (job_dir / "input").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            turns = json.loads(line)["modelInput"]["messages"]
            n += any(block.get("text") == PLACEHOLDER_USER_TEXT for block in turns[-1]["content"])
    return n


@pytest.fixture
def fake_credentials(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


class FakeAws:
    """``boto3.client`` for the CLI: Stubber-backed S3 and Bedrock clients, calls counted."""

    def __init__(self) -> None:
        from botocore.stub import Stubber

        session = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
        )
        self.s3 = session.client("s3")
        self.bedrock = session.client("bedrock")
        self.stubs = {"s3": Stubber(self.s3), "bedrock": Stubber(self.bedrock)}
        self.made: list[tuple[str, str | None]] = []

    def client(self, service: str, region_name: str | None = None, **_: object):
        self.made.append((service, region_name))
        return {"s3": self.s3, "bedrock": self.bedrock}[service]

    def __enter__(self) -> FakeAws:
        for stub in self.stubs.values():
            stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()
            stub.deactivate()


@pytest.fixture(scope="module")
def placeholder_run(tmp_path_factory) -> Path:
    """The sample run with 5 of doc-summarizer's user turns replaced by the placeholder text
    (the plan leaves out turns that were not logged; this is a table whose turns were filled
    with it): the guard that keeps such a job from being submitted must catch them."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from bedrock_finops.batch_records import PLACEHOLDER_USER_TEXT

    run = tmp_path_factory.mktemp("placeholders") / "run"
    shutil.copytree(default_sample_run(), run)
    table = pq.read_table(run / "usage.parquet")
    apps = table.column("app").to_pylist()
    texts = table.column("user_text").to_pylist()
    chosen = [
        i for i, (a, t) in enumerate(zip(apps, texts, strict=True)) if a == "doc-summarizer" and t
    ]
    for i in chosen[:PLACEHOLDERS]:
        texts[i] = PLACEHOLDER_USER_TEXT
    i = table.schema.get_field_index("user_text")
    table = table.set_column(i, table.schema.field(i), pa.array(texts, table.schema.field(i).type))
    pq.write_table(table, run / "usage.parquet")
    return run


def test_dry_run_lists_a_held_job_with_why(placeholder_run, tmp_path, capsys):
    out = tmp_path / "jobs"
    assert _export(placeholder_run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 0
    text = capsys.readouterr().out
    job = _only_job(out)
    assert "Empty DataFrame" not in text and "would-create" not in text
    assert _table_row(text, job) == [
        job,
        "us-east-1",
        "2706",
        f"held: {PLACEHOLDERS} records hold a placeholder user turn",
    ]
    assert _placeholder_lines(out / job) == PLACEHOLDERS
    part = out / job / "input" / "part-0001.jsonl"
    assert f"  {part} ({PLACEHOLDERS} records)\n" in text  # the file to fill, named
    assert "re-ingest the logs with fetch_large_bodies" in text
    assert text.rstrip().endswith(
        "dry run: nothing uploaded or submitted (add --apply); 1 of 1 jobs held back (above)"
    )


def test_apply_with_a_held_job_submits_nothing_and_exits_1(
    placeholder_run, tmp_path, capsys, monkeypatch, fake_credentials
):
    fake = FakeAws()
    monkeypatch.setattr(boto3, "client", fake.client)
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    with fake:  # no response queued: any upload or AWS call would fail the stubber
        assert _export(placeholder_run, tmp_path / "jobs", *flags) == 1
    captured = capsys.readouterr()
    job = _only_job(tmp_path / "jobs")
    assert _table_row(captured.out, job)[3] == (
        f"held: {PLACEHOLDERS} records hold a placeholder user turn"
    )
    assert captured.err == (
        f"1 of 1 jobs not submitted ({job}): see above for why and how to submit them\n"
    )
    assert fake.made == [("s3", None)]  # a client made, never called; no Bedrock client


def test_jobs_under_the_minimum_are_listed_as_held(tmp_path, capsys):
    """2,706 records, at most 2,000 a job and at least 1,500: the second job (706) cannot be
    topped up from the first without taking it under the minimum, so it is held; the sample's
    5 requests whose body was not logged are not in any job."""
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--min-records", "1500"]
    assert _export(default_sample_run(), tmp_path, *flags, "--max-records", "2000") == 0
    text = capsys.readouterr().out
    rows = {}
    for job in sorted(p for p in tmp_path.iterdir() if p.is_dir()):
        rows[json.loads((job / "job.json").read_text())["records"]] = (
            _table_row(text, job.name)[2:],
            _placeholder_lines(job),
        )
    assert rows == {
        2000: (["2000", "would-create"], 0),
        706: (["706", "held: 706 records, under the minimum of 1,500 a job"], 0),
    }
    assert "706 records, under the minimum of 1,500 a job (Bedrock rejects a smaller job)" in text
    assert text.rstrip().endswith("1 of 2 jobs held back (above)")


def test_no_job_at_all_is_one_sentence(tmp_path, capsys):
    """A minimum over the group's 2,706 requests: no segment is eligible, nothing written."""
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--min-records", "3000"]
    flags += ["--max-records", "5000"]
    assert _export(default_sample_run(), tmp_path / "jobs", *flags) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "no job written: no segment of this run is eligible for batch inference (none scores "
        "0.6 or more without a blocker, and none is named by --force-in); the run's "
        "02_batch_inference notebook shows each one's score"
    ]
    assert _files(tmp_path / "jobs") == []


def test_no_job_when_batch_is_no_cheaper_says_so(tmp_path, capsys):
    """Batch priced as on demand: the sample's eligible doc-summarizer, which caches nothing,
    stays on demand because batch is no cheaper, not because caching saves more."""
    same = tmp_path / "batch-as-on-demand.csv"
    same.write_text(
        "model,region,geo,service_tier,batch_input_per_1k,batch_output_per_1k\n"
        "anthropic.claude-sonnet-4,us-east-1,none,default,0.003,0.015\n"
    )
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--price-overrides", str(same)]
    assert _export(default_sample_run(), tmp_path / "jobs", *flags) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "no job written: the eligible segment stays on demand: batch is no cheaper at these "
        "prices for 1 (see the run's 02_batch_inference notebook)"
    ]
    assert _files(tmp_path / "jobs") == []


def test_an_empty_run_is_one_line_and_writes_nothing(tmp_path, capsys):
    """A run whose ingest found no invocation in its window: said, not a traceback."""
    import shutil

    import pyarrow.parquet as pq

    run = tmp_path / "run"
    shutil.copytree(default_sample_run(), run)
    usage = pq.read_table(run / "usage.parquet")
    pq.write_table(usage.slice(0, 0), run / "usage.parquet")
    out = tmp_path / "jobs"
    assert _export(run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 2
    assert capsys.readouterr().err == (
        "error: the usage table is empty: no segment to score for batch inference (check the "
        "run's ingest)\n"
    )
    assert _files(out) == []


@pytest.fixture(scope="module")
def filled_run(tmp_path_factory) -> Path:
    """The sample run with the user turns its logs did not carry written in (as an ingest
    with fetch_large_bodies would): its job holds no placeholder."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    run = tmp_path_factory.mktemp("filled") / "run"
    shutil.copytree(default_sample_run(), run)
    table = pq.read_table(run / "usage.parquet")
    texts = table.column("user_text").to_pylist()
    filled = [t if t else "The quarterly report, in full." for t in texts]
    i = table.schema.get_field_index("user_text")
    field = table.schema.field(i)
    table = table.set_column(i, field, pa.array(filled, field.type))
    pq.write_table(table, run / "usage.parquet")
    return run


def test_apply_submits_a_ready_job_once_and_exits_0(
    filled_run, tmp_path, capsys, monkeypatch, fake_credentials
):
    from botocore.stub import ANY

    out = tmp_path / "jobs"
    assert _export(filled_run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 0
    (job,) = [p.name for p in out.iterdir() if p.is_dir()]
    assert _table_row(capsys.readouterr().out, job)[3] == "would-create"
    request = json.loads((out / job / "request.json").read_text())
    arn = f"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{job[-12:]}"
    listed = {"nameContains": job, "maxResults": 100}
    summary = {
        "jobArn": arn,
        "jobName": job,
        "modelId": request["modelId"],
        "roleArn": ROLE,
        "status": "Submitted",
        "submitTime": "2026-11-27T00:00:00Z",
        "inputDataConfig": request["inputDataConfig"],
        "outputDataConfig": request["outputDataConfig"],
    }
    upload = {"Bucket": "bucket", "Key": f"batch/{job}/input/part-0001.jsonl", "Body": ANY}
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    for exists in (False, True):  # submitted, then run again: found, not created twice
        fake = FakeAws()
        monkeypatch.setattr(boto3, "client", fake.client)
        if not exists:  # a job that exists has its inputs: nothing is uploaded again
            fake.stubs["s3"].add_response("put_object", {}, upload)
        found = [summary] if exists else []
        fake.stubs["bedrock"].add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": found}, listed
        )
        if not exists:
            fake.stubs["bedrock"].add_response(
                "create_model_invocation_job", {"jobArn": arn}, request
            )
        with fake:
            assert _export(filled_run, out, *flags) == 0
        captured = capsys.readouterr()
        row = _table_row(captured.out, job)
        assert row == [
            job,
            "us-east-1",
            "2711",
            f"{'exists' if exists else 'created'} {arn}",
        ]  # turns filled: all 2,711
        assert captured.err == ""
        assert fake.made == [("s3", None), ("bedrock", "us-east-1")]


# --- the prices the cost line names ------------------------------------------------------------


def _sheet_date() -> str:
    """The date of the 'current' sheet's rows that price the sample's doc-summarizer (the
    override leaves the row's date as it was), not the sheet's newest: 2026-11-27, the Claude
    4.6 and 4.7 rows'."""
    return "2026-11-26"


@pytest.mark.parametrize("given_by", ["the run's manifest", "flags"])
def test_the_cost_line_names_the_runs_overrides_and_discount(tmp_path, capsys, given_by):
    """A run priced with an overrides file and a discount (its own, or flags over a run
    without them): the figures are those prices (the sample's doc-summarizer tokens at the
    negotiated rates), and the line says so."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(default_sample_run(), run)
    negotiated = tmp_path / "negotiated.csv"
    negotiated.write_text(
        "model,region,geo,service_tier,input_per_1k,output_per_1k,"
        "batch_input_per_1k,batch_output_per_1k\n"
        "anthropic.claude-sonnet-4,us-east-1,none,default,0.002,0.01,0.001,0.005\n"
    )
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX]
    if given_by == "flags":
        flags += ["--price-overrides", str(negotiated), "--discount-pct", "10"]
    else:
        params = {"common": {"price_overrides": str(negotiated), "discount_pct": 10.0}}
        (run / "manifest.json").write_text(json.dumps({"params": params}))
    assert _export(run, tmp_path / "jobs", *flags) == 0
    # 15,074,708 input and 332,489 output tokens: (30.149416 + 3.32489) x 0.9 on demand,
    # half that in batch (list prices: $50.21 and $25.11)
    assert (
        "the 2,706 requests moved cost $30.13 on demand over the logged 30 days; in batch "
        f"$15.06 (saving $15.06), priced with the sheet 'current' and the overrides in "
        f"{negotiated} (as of {_sheet_date()}, discount 10%)\n"
    ) in capsys.readouterr().out


def test_the_cost_line_without_overrides_names_the_sheet_alone(tmp_path, capsys):
    assert _export(default_sample_run(), tmp_path, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 0
    assert (
        "the 2,706 requests moved cost $50.21 on demand over the logged 30 days; in batch "
        f"$25.11 (saving $25.11), priced with the sheet 'current' (as of {_sheet_date()}, "
        "discount 0%)\n"
    ) in capsys.readouterr().out


def test_the_export_takes_what_the_runs_notebook_ran_with(tmp_path):
    """A manifest records what notebook 02 ran with (its defaults, with the params file's
    values over them): the export takes those, not its own copy of the notebook's defaults
    under the file's values (a notebook whose default moved, a custom notebook folder)."""
    from bedrock_finops.batch_export_cli import export_settings

    ran = {
        "run_dir": str(tmp_path),
        "price_sheet": "seed",
        "price_overrides": "",
        "discount_pct": 5.0,
        "threshold": 0.5,  # the notebook's own default in this run
        "business_hours": [9, 17],
        "timeout_hours": 48,
        "export_dir": "",
        "role_arn": "arn:aws:iam::123456789012:role/r",
    }
    manifest = {
        "params": {"common": {"discount_pct": 5.0}, "02_batch_inference": {"timeout_hours": 48}},
        "notebook_params": {"02_batch_inference": {"parameters": ran, "price_sheet": {}}},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    settings, origin = export_settings(tmp_path, {"discount_pct": None})
    assert origin == f"the run's own ({tmp_path / 'manifest.json'})"
    assert settings == {
        "price_sheet": "seed",
        "price_overrides": "",
        "discount_pct": 5.0,
        "threshold": 0.5,
        "window_hours": 4,
        "business_hours": [9, 17],
        "business_time_zone": "UTC",
        "job_window_days": 1,
        "min_records_per_job": 100,
        "max_records_per_job": 50_000,
        "max_records_per_file": 50_000,
        "force_in": [],
        "force_out": [],
        "timeout_hours": 48,
    }
