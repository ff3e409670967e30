"""``bedrock-finops batch-export``: input mistakes stop it before a job file is written."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from bedrock_finops import batch_jobs as bj
from bedrock_finops import batch_submit as bs
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
        "error: --role-arn notanarn (command line) is not an IAM role ARN: give the service "
        "role Bedrock assumes to read the inputs and write the outputs, "
        "arn:aws:iam::<account>:role/<name>",
    ),
    "s3 prefix without s3://": (
        ["--role-arn", ROLE, "--s3-prefix", "my-bucket/p"],
        "error: --s3-prefix my-bucket/p (command line) is not an s3:// location: give "
        "s3://<bucket>/<prefix> (did you mean s3://my-bucket/p?)",
    ),
    "s3 prefix without a bucket name": (
        ["--role-arn", ROLE, "--s3-prefix", "s3:///p"],
        "error: --s3-prefix s3:///p (command line) is not an s3:// location: give "
        "s3://<bucket>/<prefix>; '' is not a bucket name (3-63 lowercase letters, digits, . "
        "and -)",
    ),
    "s3 prefix with a space": (
        ["--role-arn", ROLE, "--s3-prefix", "s3://bucket/my jobs"],
        "error: --s3-prefix s3://bucket/my jobs (command line) is not an s3:// location: give "
        "s3://<bucket>/<prefix>; Bedrock takes only "
        "letters, digits and -!_*'(). between the /s of the key",
    ),
    "s3 prefix too long": (
        ["--role-arn", ROLE, "--s3-prefix", "s3://bucket/" + "p" * 1000],
        "error: --s3-prefix (command line) is 1,012 characters: a job's S3 location would "
        "pass Bedrock's 1,024; give a shorter prefix",
    ),
    "timeout over 168 hours": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--timeout-hours", "500"],
        "error: --timeout-hours 500 (command line) is not a job timeout: Bedrock takes 24 to "
        "168 hours",
    ),
    "min records over max records": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--min-records", "200", "--max-records", "50"],
        "error: --min-records 200 (command line) is over --max-records 50 (command line): a "
        "job cannot hold more than the maximum; lower the minimum or raise the maximum",
    ),
    "discount over 100%": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--discount-pct", "150"],
        "error: --discount-pct 150 (command line) is not a percentage in [0, 100): give the "
        "negotiated discount off list prices, e.g. 12 for 12% (0: none)",
    ),
    "a maximum under the default minimum, in a run without a manifest": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--max-records", "80"],
        "error: the default min_records_per_job 100 (--min-records sets it) is over "
        "--max-records 80 (command line): a job cannot hold more than the maximum; lower the "
        "minimum or raise the maximum",
    ),
    "zero records a file": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--max-file-records", "0"],
        "error: --max-file-records 0 (command line) must be a positive whole number of records "
        "(Service Quotas: 'Records per input file per batch inference job')",
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


def test_a_cut_manifest_is_one_error_line_naming_it(tmp_path, capsys):
    """A manifest cut short (a full disk as an earlier version rewrote it in place) was a
    JSONDecodeError traceback."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text('{\n  "tool": "bedrock-finops",\n  "notebook_params": {')
    out = tmp_path / "jobs"
    assert _export(run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 2
    assert capsys.readouterr().err == (
        f"error: {run / 'manifest.json'} is not valid JSON (Expecting property name enclosed in "
        "double quotes: line 3 column 23 (char 52)): the run's record is damaged (a full disk "
        "as it was written?); run again, or move it aside to export with the notebook's "
        "defaults and the flags\n"
    )
    assert not out.exists()


def test_a_runs_own_bad_timeout_names_the_manifest_and_the_flag(tmp_path, capsys):
    """A timeout from the run's manifest.json is checked as a flag's is, and named as such."""
    run = tmp_path / "run"
    run.mkdir()
    params = {"02_batch_inference": {"timeout_hours": 200}}
    (run / "manifest.json").write_text(json.dumps({"params": params}))
    out = tmp_path / "jobs"
    assert _export(run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 2
    assert capsys.readouterr().err == (
        "error: the run's timeout_hours 200 (its manifest.json; 02_batch_inference.timeout_hours "
        "in the run's params file; --timeout-hours overrides it) is not a job timeout: Bedrock "
        "takes 24 to 168 hours\n"
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
        f"error: --out {a_file / 'jobs'} (command line): {a_file} is a file; give a folder "
        "for the jobs\n"
    )


def test_a_runs_own_plan_setting_names_where_its_params_file_set_it(tmp_path, capsys):
    """A run's business_time_zone its params file set, checked before the run is read: the
    error named the setting alone (and came only once the run's tables were read), so it could
    not be told from a flag's."""
    run = tmp_path / "run"
    run.mkdir()
    params = {"02_batch_inference": {"business_time_zone": "EST"}}
    manifest = {"params_file": "params/acme.yaml", "params": params}
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert _export(run, tmp_path / "jobs", "--role-arn", ROLE, "--s3-prefix", PREFIX) == 2
    assert capsys.readouterr().err == (
        "error: the run's business_time_zone (its manifest.json; "
        "02_batch_inference.business_time_zone in params/acme.yaml): business_time_zone 'EST' "
        "keeps one offset all year (no daylight saving): for a US working day use "
        "America/New_York; for a fixed offset, an Etc/GMT name (Etc/GMT+5 is UTC-5)\n"
    )


def test_a_segment_in_both_force_lists_names_where_each_came_from(tmp_path, capsys):
    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX]
    flags += ["--force-in", "faq-helper", "--force-out", "faq-helper"]
    assert _export(default_sample_run(), out, *flags) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: --force-in ['faq-helper'] (command line) and --force-out ['faq-helper'] "
        "(command line): segments ['faq-helper:"
    )
    assert err.endswith("'] are in both force_in and force_out\n")
    assert _files(out) == []


def test_an_unknown_force_in_app_is_one_line_and_writes_nothing(tmp_path, capsys):
    """Checked against the run's apps, so after the run is read, but before a file is written."""
    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--force-in", "no-such-app"]
    assert _export(default_sample_run(), out, *flags) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: --force-in ['no-such-app'] (command line): force_in names ['no-such-app'], "
        "which is neither an app nor"
    )
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
    """The cells of the table line for job ``name``: name, region, records, status, then its
    action and ARN (an action may hold spaces: the rest as one)."""
    (line,) = [line for line in out.splitlines() if line.startswith(name + " ")]
    name_, region, records, status, rest = line.split(None, 4)
    return [name_, region, records, status, rest.strip()]


def _placeholder_lines(job_dir: Path) -> int:
    """Records whose Converse user turn is the placeholder, read as JSON (not as bytes)."""
    from bedrock_finops.batch_records import PLACEHOLDER_USER_TEXT

    n = 0
    for path in (job_dir / "input").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            turns = json.loads(line)["modelInput"]["messages"]
            n += any(block.get("text") == PLACEHOLDER_USER_TEXT for block in turns[-1]["content"])
    return n


@pytest.fixture(autouse=True)
def _aws_only_where_given(no_aws_credentials):
    """No test here reaches AWS: a dry run asks Bedrock which jobs exist when it finds
    credentials, so there are none unless a test gives them (``fake_aws``)."""


class FakeAws:
    """``boto3.client`` for the CLI: S3 on the moto server, Bedrock through a Stubber; the
    clients made are listed in ``made``."""

    def __init__(self, s3: object) -> None:
        from botocore.stub import Stubber

        session = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
        )
        self.s3 = s3
        self.bedrock = session.client("bedrock")
        self.stub = Stubber(self.bedrock)
        self.made: list[tuple[str, str | None]] = []

    def client(self, service: str, region_name: str | None = None, **_: object):
        self.made.append((service, region_name))
        return {"s3": self.s3, "bedrock": self.bedrock}[service]

    def listed(self, name: str, *jobs: dict) -> None:
        """Bedrock answers the search for ``name`` with ``jobs``."""
        kwargs = {"nameContains": name, "maxResults": 100}
        self.stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": list(jobs)}, kwargs
        )

    def not_found(self, job_dir: Path) -> None:
        """Bedrock holds the exported job ``job_dir`` under none of its names: its own, and
        those earlier versions gave it."""
        self.listed(job_dir.name)
        self.unlisted_earlier(job_dir)

    def unlisted_earlier(self, job_dir: Path) -> None:
        """Bedrock answers the searches for the names earlier versions gave the exported job
        ``job_dir`` (its job.json's earlierNames) with none."""
        for name in _earlier_names(job_dir):
            self.listed(name)

    def __enter__(self) -> FakeAws:
        self.stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.stub.assert_no_pending_responses()
        self.stub.deactivate()


@pytest.fixture
def _quiet_server_log():
    """The moto server logs each request (werkzeug's log, on stderr): quieted, as the tests
    read the command's own stderr."""
    import logging

    server_log = logging.getLogger("werkzeug")
    level = server_log.level
    server_log.setLevel(logging.WARNING)
    yield
    server_log.setLevel(level)


@pytest.fixture
def fake_aws(_quiet_server_log, aws_client, monkeypatch):
    """``fake_aws()``: a new :class:`FakeAws` that ``boto3.client`` returns from now on; S3
    holds the bucket of ``PREFIX``."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="bucket")

    def make() -> FakeAws:
        fake = FakeAws(s3)
        monkeypatch.setattr(boto3, "client", fake.client)
        return fake

    return make


def _earlier_names(job_dir: Path) -> list[str]:
    """The names earlier versions gave the exported job ``job_dir``, as its job.json lists them."""
    return json.loads((job_dir / "job.json").read_text())["earlierNames"]


def _s3_objects(fake: FakeAws) -> dict[str, int]:
    """Every object in the bucket, with its number of lines."""
    listed = fake.s3.list_objects_v2(Bucket="bucket").get("Contents", [])
    return {
        o["Key"]: fake.s3.get_object(Bucket="bucket", Key=o["Key"])["Body"].read().count(b"\n")
        for o in listed
    }


def _summary(job: str, status: str, arn: str, request: dict, **more: object) -> dict:
    """A ListModelInvocationJobs summary of job ``job`` made from ``request``."""
    return {
        "jobArn": arn,
        "jobName": job,
        "modelId": request["modelId"],
        "roleArn": ROLE,
        "status": status,
        "submitTime": "2026-11-27T00:00:00Z",
        "inputDataConfig": request["inputDataConfig"],
        "outputDataConfig": request["outputDataConfig"],
        **more,
    }


def _arn(n: int) -> str:
    return f"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{n:012d}"


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
        "-",
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
    placeholder_run, tmp_path, capsys, fake_aws
):
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    with fake_aws() as fake:  # no response queued: any Bedrock call would fail the stubber
        assert _export(placeholder_run, tmp_path / "jobs", *flags) == 1
    captured = capsys.readouterr()
    job = _only_job(tmp_path / "jobs")
    assert _table_row(captured.out, job)[4] == (
        f"held: {PLACEHOLDERS} records hold a placeholder user turn"
    )
    assert captured.err == (
        f"1 of 1 jobs not submitted ({job}): see above for why and how to submit them\n"
    )
    assert fake.made == []  # no client: nothing to look up or upload
    assert _s3_objects(fake) == {}


MEDIA_TURNS = 5  # user turns that sent an image inline, in media_run
REFERENCE_TURNS = 3  # and user turns that sent one by S3 location


@pytest.fixture(scope="module")
def media_run(tmp_path_factory) -> Path:
    """The sample run with 5 of doc-summarizer's user turns as the ingest keeps a turn that
    sent an image inline (its placeholder, no bytes, then the question) and 3 as it keeps one
    that sent an image by S3 location (the block's JSON, then the question), their media_sent
    "image"."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    run = tmp_path_factory.mktemp("media") / "run"
    shutil.copytree(default_sample_run(), run)
    table = pq.read_table(run / "usage.parquet")
    apps = table.column("app").to_pylist()
    texts = table.column("user_text").to_pylist()
    chosen = [
        i for i, (a, t) in enumerate(zip(apps, texts, strict=True)) if a == "doc-summarizer" and t
    ]
    photo = "[[media image png 600x400 1588 bytes xxh3:a0e08c603308e508]]"
    for i in chosen[:MEDIA_TURNS]:
        texts[i] = f"{photo}\n{texts[i]}"
    s3_photo = '{"image":{"format":"png","source":{"s3Location":{"uri":"s3://b/scan.png"}}}}'
    for i in chosen[MEDIA_TURNS : MEDIA_TURNS + REFERENCE_TURNS]:
        texts[i] = f"{s3_photo}\n{texts[i]}"
    i = table.schema.get_field_index("user_text")
    table = table.set_column(i, table.schema.field(i), pa.array(texts, table.schema.field(i).type))
    sent = table.column("media_sent").to_pylist()  # as the ingest records those requests
    for at in chosen[: MEDIA_TURNS + REFERENCE_TURNS]:
        sent[at] = "image"
    i = table.schema.get_field_index("media_sent")
    table = table.set_column(i, table.schema.field(i), pa.array(sent, pa.string()))
    pq.write_table(table, run / "usage.parquet")
    return run


def test_requests_whose_user_turn_held_an_image_stay_out_of_the_job(media_run, tmp_path, capsys):
    """A record could send the model only the image's placeholder or its block's JSON, as
    text: as for a turn not logged, those requests stay on demand, and the job of the other
    2,698 is not held."""
    out = tmp_path / "jobs"
    assert _export(media_run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 0
    text = capsys.readouterr().out
    job = _only_job(out)
    assert _table_row(text, job) == [job, "us-east-1", "2698", "unchecked", "would-create"]
    assert "the 2,698 requests moved" in text
    inputs = [p.read_text() for p in (out / job / "input").glob("*.jsonl")]
    assert sum(t.count("\n") for t in inputs) == 2698
    assert not any("[[media " in t or "s3Location" in t for t in inputs)


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
        2000: (["2000", "unchecked", "would-create"], 0),
        706: (["706", "-", "held: 706 records, under the minimum of 1,500 a job"], 0),
    }
    assert "706 records, under the minimum of 1,500 a job (Bedrock rejects a smaller job)" in text
    # the cost line prices the 2,000 requests to submit, and tells the held 706 apart
    assert (
        "the 2,000 requests to submit cost $37.12 on demand over the logged 30 days; in batch "
        f"$18.56 (saving $18.56), priced with the sheet 'current' (as of {_sheet_date()}, "
        "discount 0%); not counted: 706 requests in 1 held job ($13.09 on demand, $6.55 in "
        "batch)\n"
    ) in text
    assert (
        "status unchecked: Bedrock was not asked which of these jobs exist (no AWS "
        "credentials); --apply asks first, and creates only those that do not\n"
    ) in text
    assert text.rstrip().endswith("1 of 2 jobs held back (above)")


def test_no_job_at_all_is_one_sentence(tmp_path, capsys):
    """A minimum over the group's 2,706 requests: no segment is eligible, nothing written."""
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--min-records", "3000"]
    flags += ["--max-records", "5000"]
    assert _export(default_sample_run(), tmp_path / "jobs", *flags) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "no job written: no segment of this run is eligible for batch inference: 2 score 0.6 "
        "or more but are blocked (1 with fewer than 3,000 requests for a job, 1 with no request "
        "a record can rebuild); none is named by --force-in; the run's 02_batch_inference "
        "notebook shows each one's score and blockers"
    ]
    assert _files(tmp_path / "jobs") == []


# the sample's segments that --force-in names below, and what keeps each out of a job
SUMMARIZER = "doc-summarizer:claude-sonnet-4:d12f1713"
SUMMARIZER_UNLOGGED = "doc-summarizer:claude-sonnet-4:889ecd5c"
UNLOGGED = (
    "no request's user turn was logged as text, so none can be rebuilt (bodies over 100 KB are "
    "read only with fetch_large_bodies)"
)
FAQ = "faq-helper:titan-text-express:45a21ea0"
# what stderr says of the segment --force-in faq-helper names: the command then exits 1
FAQ_LEFT_OUT = (
    f"1 segment named by --force-in cannot go in a batch job ({FAQ}): see above for why\n"
)


def test_segments_force_in_names_that_cannot_go_in_a_job_are_named_with_their_blockers(
    tmp_path, capsys
):
    """--force-in doc-summarizer, whose two segments are blocked: it said 'none is named by
    --force-in', though both were. Each is named with what keeps it out."""
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--min-records", "3000"]
    flags += ["--max-records", "5000", "--force-in", "doc-summarizer"]
    assert _export(default_sample_run(), tmp_path / "jobs", *flags) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1:] == [
        "no job written: no segment of this run is eligible for batch inference: the 2 "
        "segments --force-in names cannot go in a job (below); no other scores 0.6 or more; "
        "the run's 02_batch_inference notebook shows each one's score and blockers",
        f"  {SUMMARIZER} (score 0.94), named by --force-in, cannot go in a batch job: fewer "
        "than 3000 requests in the whole period for its job group, with the segments that "
        "move into it",
        f"  {SUMMARIZER_UNLOGGED} (score 0.89), named by --force-in, cannot go in a batch job: "
        f"{UNLOGGED}",
    ]
    assert captured.err == (
        f"2 segments named by --force-in cannot go in a batch job ({SUMMARIZER}, "
        f"{SUMMARIZER_UNLOGGED}): see above for why\n"
    )
    assert _files(tmp_path / "jobs") == []


def test_no_job_names_the_blocked_force_in_the_blocked_others_and_force_out(tmp_path, capsys):
    """faq-helper forced in (its model has no batch price), the one doc-summarizer segment
    that would move forced out, the other blocked: each said, with its count."""
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--force-in", "faq-helper"]
    flags += ["--force-out", "doc-summarizer"]
    assert _export(default_sample_run(), tmp_path / "jobs", *flags) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1:] == [
        "no job written: no segment of this run is eligible for batch inference: the segment "
        "--force-in names cannot go in a job (below); 1 other scores 0.6 or more but is "
        "blocked (1 with no request a record can rebuild); 1 reaching 0.6 without a blocker is "
        "named by --force-out; the run's 02_batch_inference notebook shows each one's score "
        "and blockers",
        f"  {FAQ} (score 0.44), named by --force-in, cannot go in a batch job: model has no "
        "batch price in the sheet",
    ]
    assert captured.err == FAQ_LEFT_OUT


def test_jobs_written_still_name_a_force_in_segment_left_out(tmp_path, capsys):
    """The jobs of the segment that moves are written; the one --force-in names that cannot
    go in a job is said so, not left to be missed in the table, and the command exits 1: it
    exited 0, so a scheduled export that asked for the segment and got no job for it passed."""
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--force-in", "faq-helper"]
    assert _export(default_sample_run(), tmp_path / "jobs", *flags) == 1
    captured = capsys.readouterr()
    assert (
        f"  {FAQ} (score 0.44), named by --force-in, cannot go in a batch job: model has no "
        "batch price in the sheet"
    ) in captured.out.splitlines()
    assert captured.err == FAQ_LEFT_OUT
    assert len(_files(tmp_path / "jobs")) > 0


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


def test_apply_submits_a_ready_job_once_and_exits_0(filled_run, tmp_path, capsys, fake_aws):
    out = tmp_path / "jobs"
    assert _export(filled_run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 0
    (job,) = [p.name for p in out.iterdir() if p.is_dir()]
    assert _table_row(capsys.readouterr().out, job)[3:] == ["unchecked", "would-create"]
    request = json.loads((out / job / "request.json").read_text())
    summary = _summary(job, "Submitted", _arn(1), request)
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    for exists in (False, True):  # submitted, then run again: found, not created twice
        with fake_aws() as fake:
            if exists:  # a job that exists has its inputs: nothing is uploaded again
                fake.listed(job, summary)
                fake.listed(bj.attempt_name(job, 2))  # and it was not resubmitted
            else:
                fake.not_found(out / job)
                fake.stub.add_response("create_model_invocation_job", {"jobArn": _arn(1)}, request)
            assert _export(filled_run, out, *flags) == 0
        captured = capsys.readouterr()
        row = _table_row(captured.out, job)
        assert row == [
            job,
            "us-east-1",
            "2711",  # turns filled: all 2,711
            "Submitted" if exists else "-",
            f"{'exists' if exists else 'created'} {_arn(1)}",
        ]
        assert captured.err == ""
        made = [("bedrock", "us-east-1")] + ([] if exists else [("s3", None)])
        assert fake.made == made
        assert _s3_objects(fake) == {
            f"batch/{job}/requests.json": 1,  # its request IDs, written first
            f"batch/{job}/input/part-0001.jsonl": 2711,
        }


def test_apply_submits_the_other_jobs_and_exits_1_for_a_force_in_segment_left_out(
    filled_run, tmp_path, capsys, fake_aws
):
    """--apply --force-in faq-helper (no batch price): doc-summarizer's job is uploaded and
    created all the same, and the command exits 1, naming the segment on stderr."""
    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--force-in", "faq-helper"]
    assert _export(filled_run, out, *flags) == 1
    capsys.readouterr()
    job = _only_job(out)
    request = json.loads((out / job / "request.json").read_text())
    with fake_aws() as fake:
        fake.not_found(out / job)
        fake.stub.add_response("create_model_invocation_job", {"jobArn": _arn(1)}, request)
        assert _export(filled_run, out, *flags, "--apply") == 1
    captured = capsys.readouterr()
    assert _table_row(captured.out, job)[4] == f"created {_arn(1)}"
    assert captured.err == FAQ_LEFT_OUT
    assert _s3_objects(fake) == {
        f"batch/{job}/requests.json": 1,
        f"batch/{job}/input/part-0001.jsonl": 2711,
    }


def test_apply_uploads_only_the_files_this_export_wrote(filled_run, tmp_path, capsys, fake_aws):
    """An --apply with 1,000 records a file whose job Bedrock refuses leaves 3 files in the
    job's folder and its S3 input location; run again with the default 50,000 (the same job,
    by name), the job reads each of its 2,711 records once: the folder holds its one file
    (and a file of the user's, not uploaded), and S3 that one file, the two others deleted
    before the job is created, and said so."""
    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    with fake_aws() as fake:
        fake.not_found(tmp_path / "named" / _job_name(filled_run, tmp_path))
        fake.stub.add_client_error(
            "create_model_invocation_job",
            "ValidationException",
            "The provided role cannot be assumed",
        )
        assert _export(filled_run, out, *flags, "--max-file-records", "1000") == 2
    job = _only_job(out)
    prefix = f"batch/{job}/input/"
    assert _s3_objects(fake) == {
        f"batch/{job}/requests.json": 1,
        f"{prefix}part-0001.jsonl": 1000,
        f"{prefix}part-0002.jsonl": 1000,
        f"{prefix}part-0003.jsonl": 711,
    }
    assert capsys.readouterr().err == (
        f"error: creating batch job {job} failed (ValidationException: The provided role "
        "cannot be assumed)\n"
    )
    request = json.loads((out / job / "request.json").read_text())
    (out / job / "input" / "notes.jsonl").write_text("{}\n")  # the user's: kept, not uploaded
    with fake_aws() as fake:
        fake.not_found(out / job)
        fake.stub.add_response("create_model_invocation_job", {"jobArn": _arn(1)}, request)
        assert _export(filled_run, out, *flags) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in (out / job / "input").iterdir()) == [
        "notes.jsonl",
        "part-0001.jsonl",
    ]
    assert _s3_objects(fake) == {
        f"batch/{job}/requests.json": 1,
        f"{prefix}part-0001.jsonl": 2711,
    }
    for n in (2, 3):
        assert (
            f"{job}: deleted s3://bucket/{prefix}part-000{n}.jsonl, an input file an earlier "
            "upload left (another split)\n"
        ) in text
    assert _table_row(text, job)[4] == f"created {_arn(1)}"


def _job_name(run: Path, tmp_path: Path) -> str:
    """The name of the sample's one job (a dry run's, in a folder of its own)."""
    scratch = tmp_path / "named"
    assert _export(run, scratch, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 0
    return _only_job(scratch)


@pytest.mark.parametrize("status", ["Failed", "Expired"])
def test_a_job_that_ended_unfinished_is_told_and_resubmitted_on_request(
    filled_run, tmp_path, capsys, fake_aws, status
):
    """A job of the same name that Failed (or Expired) holds no result: --apply says so, with
    its status, ARN and message, and exits 1; with --resubmit it is submitted anew as
    <name>-r2, its inputs in a location of its own; run again, that one exists."""
    out = tmp_path / "jobs"
    job = _job_name(filled_run, tmp_path)
    capsys.readouterr()
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    request = json.loads((tmp_path / "named" / job / "request.json").read_text())
    ended = _summary(job, status, _arn(1), request, message="The job could not read its input.")
    again = bj.attempt_name(job, 2)
    with fake_aws() as fake:
        fake.listed(job, ended)
        fake.listed(again)
        fake.unlisted_earlier(tmp_path / "named" / job)
        assert _export(filled_run, out, *flags) == 1
    captured = capsys.readouterr()
    assert _table_row(captured.out, job)[3:] == [status, f"unfinished {_arn(1)}"]
    why = {
        "Failed": "failed",
        "Expired": ("expired: it was scheduled but did not start within its timeout"),
    }[status]
    fix = {
        "Failed": "fix the cause, then run again with --resubmit",
        "Expired": (
            "run again with --resubmit (and a longer --timeout-hours, at most 168, if the queue "
            "was long)"
        ),
    }[status]
    assert (
        f"{job}: not done: the job ({_arn(1)}) {why}: The job could not read its input.\n"
        f"  {fix}: it submits all 2,711 records anew as {again}, reading "
        f"s3://bucket/batch/{again}/input/\n"  # it processed none: none is billed twice
    ) in captured.out
    assert captured.err == (
        f"1 of 1 jobs did not process their records ({job}: {status}): see above for why and "
        "how to resubmit them\n"
    )
    assert _s3_objects(fake) == {}  # nothing uploaded, nothing created
    resubmission = json.loads(json.dumps(request))
    resubmission["jobName"] = resubmission["clientRequestToken"] = again
    resubmission["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] = (
        f"s3://bucket/batch/{again}/input/"
    )
    resubmission["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] = (
        f"s3://bucket/batch/{again}/output/"
    )
    for created in (False, True):
        with fake_aws() as fake:
            if created:  # the cut name holds neither search: one list call each
                fake.listed(job, ended)
                fake.listed(again, _summary(again, "InProgress", _arn(2), resubmission))
                fake.listed(bj.attempt_name(job, 3))
            else:
                fake.listed(job, ended)
                fake.listed(again)
                fake.unlisted_earlier(tmp_path / "named" / job)
                fake.stub.add_response(
                    "create_model_invocation_job", {"jobArn": _arn(2)}, resubmission
                )
            assert _export(filled_run, out, *flags, "--resubmit") == 0
        captured = capsys.readouterr()
        row = _table_row(captured.out, again)
        assert row[3:] == (
            ["InProgress", f"exists {_arn(2)}"] if created else ["-", f"resubmitted {_arn(2)}"]
        )
        assert (f"{again}: resubmits {job} ({status}, {_arn(1)})\n" in captured.out) != created
        assert captured.err == ""
        assert _s3_objects(fake) == {
            f"batch/{again}/requests.json": 1,
            f"batch/{again}/input/part-0001.jsonl": 2711,
        }


def test_a_stopped_job_says_resubmitting_bills_its_processed_records_again(
    filled_run, tmp_path, capsys, fake_aws
):
    """AWS bills a stopped job for the tokens it processed: the advice to --resubmit says the
    2,000 of its 2,711 records it processed are billed again, and how to pay only for the
    rest; resubmitted, the line naming the job it replaces says so too."""
    out = tmp_path / "jobs"
    job = _job_name(filled_run, tmp_path)
    capsys.readouterr()
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    request = json.loads((tmp_path / "named" / job / "request.json").read_text())
    counts = {"totalRecordCount": 2711, "processedRecordCount": 2000}
    stopped = _summary(job, "Stopped", _arn(1), request, **counts)
    again = bj.attempt_name(job, 2)
    with fake_aws() as fake:
        fake.listed(job, stopped)
        fake.listed(again)
        fake.unlisted_earlier(tmp_path / "named" / job)
        assert _export(filled_run, out, *flags) == 1
    text = capsys.readouterr().out
    assert (
        f"{job}: not done: the job ({_arn(1)}) was stopped before it processed all of its "
        "records: 2,000 of 2,711 records processed\n"
        "  to run them after all, run again with --resubmit: it submits all 2,711 records anew "
        f"as {again}, reading s3://bucket/batch/{again}/input/, and the 2,000 records it "
        "processed are billed again; to pay only for the rest, submit the records without a "
        f"result in s3://bucket/batch/{job}/output/ yourself\n"
    ) in text
    resubmission = bs.request_for_attempt(request, 2)
    with fake_aws() as fake:
        fake.listed(job, stopped)
        fake.listed(again)
        fake.unlisted_earlier(tmp_path / "named" / job)
        fake.stub.add_response("create_model_invocation_job", {"jobArn": _arn(2)}, resubmission)
        assert _export(filled_run, out, *flags, "--resubmit") == 0
    text = capsys.readouterr().out
    assert _table_row(text, again)[3:] == ["-", f"resubmitted {_arn(2)}"]
    assert (
        f"{again}: resubmits {job} (Stopped, {_arn(1)}); the 2,000 records it processed are "
        "billed again\n"
    ) in text


def test_a_job_being_stopped_is_not_resubmitted_until_it_has_stopped(
    filled_run, tmp_path, capsys, fake_aws
):
    """A job Stopping has not ended: --resubmit creates nothing (no create is queued), says to
    wait until it is Stopped, and exits 1."""
    out = tmp_path / "jobs"
    job = _job_name(filled_run, tmp_path)
    capsys.readouterr()
    request = json.loads((tmp_path / "named" / job / "request.json").read_text())
    counts = {"totalRecordCount": 2711, "processedRecordCount": 2000}
    stopping = _summary(job, "Stopping", _arn(1), request, **counts)
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply", "--resubmit"]
    with fake_aws() as fake:
        fake.listed(job, stopping)
        fake.listed(bj.attempt_name(job, 2))
        fake.unlisted_earlier(tmp_path / "named" / job)
        assert _export(filled_run, out, *flags) == 1
    captured = capsys.readouterr()
    assert _table_row(captured.out, job)[3:] == ["Stopping", f"unfinished {_arn(1)}"]
    assert (
        f"{job}: not done: the job ({_arn(1)}) is being stopped: it will not process its "
        "remaining records: 2,000 of 2,711 records processed\n"
        "  wait until its status is Stopped, then run again: --resubmit does not submit a job "
        "anew while it is being stopped (it is billed for the records it has processed, and a "
        "new job would bill them again)\n"
    ) in captured.out
    assert captured.err == (
        f"1 of 1 jobs did not process their records ({job}: Stopping): see above for why and "
        "when to run again\n"
    )
    assert _s3_objects(fake) == {}


# which of the names earlier versions gave a job: record IDs of 11 base-62 digits, of 10 hex
EARLIER = {"base 62 IDs": 0, "hex IDs": 1}


@pytest.mark.parametrize("which", EARLIER)
def test_a_job_submitted_under_an_earlier_versions_name_is_found_not_created_again(
    filled_run, tmp_path, capsys, fake_aws, which
):
    """Bedrock holds the job, Completed, under a name an earlier version gave the same
    requests (job.json's earlierNames): --apply finds it there, the table names it so and
    says so, and nothing is uploaded or created (no create is queued); exit 0."""
    out = tmp_path / "jobs"
    job = _job_name(filled_run, tmp_path)
    capsys.readouterr()
    request = json.loads((tmp_path / "named" / job / "request.json").read_text())
    names = _earlier_names(tmp_path / "named" / job)
    assert len(names) == 2 and job not in names
    earlier = names[EARLIER[which]]
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    with fake_aws() as fake:
        fake.listed(job)
        for name in names[: names.index(earlier)]:
            fake.listed(name)
        fake.listed(earlier, _summary(earlier, "Completed", _arn(1), request))
        fake.listed(bj.attempt_name(earlier, 2))  # found, Completed: no other name is asked
        assert _export(filled_run, out, *flags) == 0
    captured = capsys.readouterr()
    assert _table_row(captured.out, earlier) == [
        earlier,
        "us-east-1",
        "2711",
        "Completed",
        f"exists (under an earlier version's name) {_arn(1)}",
    ]
    assert "nothing to submit: 2,711 requests in 1 job submitted before" in captured.out
    assert captured.err == ""
    assert fake.made == [("bedrock", "us-east-1")]  # no S3 client: nothing uploaded
    assert _s3_objects(fake) == {}


@pytest.mark.parametrize("which", EARLIER)
def test_a_job_failed_under_an_earlier_versions_name_is_resubmitted_after_it(
    filled_run, tmp_path, capsys, fake_aws, which
):
    """The job failed under a name an earlier version gave it: --apply says so, naming it,
    and --resubmit submits it anew as that name's -r2, uploading its inputs to a location of
    its own (the failed job's is left as it is)."""
    out = tmp_path / "jobs"
    job = _job_name(filled_run, tmp_path)
    capsys.readouterr()
    request = json.loads((tmp_path / "named" / job / "request.json").read_text())
    names = _earlier_names(tmp_path / "named" / job)
    earlier = names[EARLIER[which]]
    again = bj.attempt_name(earlier, 2)
    failed = _summary(earlier, "Failed", _arn(1), request, message="The role was refused.")
    failed_input = f"batch/{earlier}/input/part-0001.jsonl"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    resubmission = bs.request_for_attempt(request, 2, earlier)
    assert resubmission["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] == (
        f"s3://bucket/batch/{again}/input/"
    )
    for resubmit in (False, True):
        with fake_aws() as fake:
            fake.s3.put_object(Bucket="bucket", Key=failed_input, Body=b"an earlier upload\n")
            fake.listed(job)
            for name in names:
                fake.listed(name, *([failed] if name == earlier else []))
                if name == earlier:  # the cut name holds no earlier search
                    fake.listed(again)
            if resubmit:
                fake.stub.add_response(
                    "create_model_invocation_job", {"jobArn": _arn(2)}, resubmission
                )
            code = _export(filled_run, out, *flags, *(["--resubmit"] if resubmit else []))
        captured = capsys.readouterr()
        if not resubmit:
            assert code == 1
            assert _table_row(captured.out, earlier)[3:] == [
                "Failed",
                f"unfinished (under an earlier version's name) {_arn(1)}",
            ]
            assert (
                f"{job}: not done: the job, under the name an earlier version gave it, "
                f"{earlier} ({_arn(1)}) failed: The role was refused.\n"
                "  fix the cause, then run again with --resubmit: it submits all 2,711 records "
                f"anew as {again}, reading s3://bucket/batch/{again}/input/\n"
            ) in captured.out
            assert _s3_objects(fake) == {failed_input: 1}
            continue
        assert code == 0
        assert _table_row(captured.out, again)[3:] == [
            "-",
            f"resubmitted (under an earlier version's name) {_arn(2)}",
        ]
        assert f"{again}: resubmits {earlier} (Failed, {_arn(1)})\n" in captured.out
        assert _s3_objects(fake) == {
            failed_input: 1,  # the failed job's input, as it was
            f"batch/{again}/requests.json": 1,
            f"batch/{again}/input/part-0001.jsonl": 2711,
        }


STOPS = ["create refused", "upload refused", "ctrl-c in upload", "ctrl-c in create", "timeout"]


class _Interrupt:
    """A botocore ``before-send`` handler that raises Ctrl-C's ``KeyboardInterrupt`` at the
    ``n``-th request it sees (before it is sent)."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def __call__(self, **_: object) -> None:
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


@pytest.mark.parametrize("stop", STOPS)
def test_an_apply_stopped_part_way_says_what_it_did(
    filled_run, tmp_path, capsys, fake_aws, monkeypatch, stop
):
    """Two jobs (2,000 and 711 records); the first is created, then the second's create is
    refused, its upload is, or Ctrl-C comes: the table names the created job's ARN and the job
    it stopped at, the S3 objects written are listed, and the error (or the stop) follows. A
    create sent without an answer (Ctrl-C in it, a read timeout after botocore's retries) may
    have made the job: it reads maybe-created, with how to look for it, not "not created"."""
    from botocore.exceptions import ReadTimeoutError
    from test_batch_jobs import _Refused

    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--max-records", "2000"]
    assert _export(filled_run, out, *flags) == 0
    capsys.readouterr()
    jobs = {
        json.loads((d / "job.json").read_text())["records"]: d.name
        for d in out.iterdir()
        if d.is_dir()
    }
    first, second = jobs[2000], jobs[711]
    endpoint = "https://bedrock.us-east-1.amazonaws.com/model-invocation-job"
    with fake_aws() as fake:
        for job in (first, second):
            fake.not_found(out / job)
        request = json.loads((out / first / "request.json").read_text())
        fake.stub.add_response("create_model_invocation_job", {"jobArn": _arn(1)}, request)
        if stop == "create refused":
            fake.stub.add_client_error(
                "create_model_invocation_job",
                "ServiceQuotaExceededException",
                "Too many concurrent jobs",
            )
        elif stop == "upload refused":
            fake.s3.meta.events.register("before-send.s3.PutObject", _Refused(n=4))
        elif stop == "ctrl-c in upload":
            fake.s3.meta.events.register("before-send.s3.PutObject", _Interrupt(n=4))
        else:
            create = fake.bedrock.create_model_invocation_job
            calls = []

            def unanswered(**kwargs):
                calls.append(kwargs)
                if len(calls) == 2:  # sent, and no answer came
                    if stop == "timeout":
                        raise ReadTimeoutError(endpoint_url=endpoint)
                    raise KeyboardInterrupt
                return create(**kwargs)

            monkeypatch.setattr(fake.bedrock, "create_model_invocation_job", unanswered)
        code = _export(filled_run, out, *flags, "--apply")
    captured = capsys.readouterr()
    key = f"s3://bucket/batch/{second}/input/part-0001.jsonl"
    assert (code, captured.err) == {
        "create refused": (
            2,
            f"error: creating batch job {second} failed (ServiceQuotaExceededException: Too "
            "many concurrent jobs)\n",
        ),
        "upload refused": (
            2,
            f"error: uploading {out / second / 'input' / 'part-0001.jsonl'} to {key} failed "
            "(AccessDenied: Access Denied); these credentials need s3:PutObject on that key "
            "(and kms:GenerateDataKey when the bucket encrypts with a KMS key)\n",
        ),
        "ctrl-c in upload": (130, "interrupted\n"),
        "ctrl-c in create": (130, "interrupted\n"),
        "timeout": (
            2,
            f'error: Read timeout on endpoint URL: "{endpoint}"; the connection kept failing '
            "after every retry: check the network and run again\n",
        ),
    }[stop]
    unanswered = stop in ("ctrl-c in create", "timeout")
    assert _table_row(captured.out, first)[3:] == ["-", f"created {_arn(1)}"]
    assert _table_row(captured.out, second)[3:] == [
        "-",
        "maybe-created" if unanswered else "stopped-here",
    ]
    lines = captured.out.splitlines()
    at = lines.index(
        f"stopped at {second}: created 1 of the 2 jobs to create (ARNs above), "
        + ("1 may have been created, 0 not created" if unanswered else "1 not created")
    )
    said = [
        f"  uploaded s3://bucket/batch/{first}/requests.json (job created)",
        f"  uploaded s3://bucket/batch/{first}/input/part-0001.jsonl (job created)",
    ]
    listed = f"s3://bucket/batch/{second}/requests.json"
    if unanswered:
        said.insert(
            0,
            f"{second}: may have been created: its create was sent and Bedrock did not answer; "
            "see whether it was with `aws bedrock list-model-invocation-jobs --name-contains "
            f"{second} --region us-east-1`. A run again finds it; one not yet listed, Bedrock "
            "does not make twice (it ignores a create with the clientRequestToken it made the "
            "job for)",
        )
        said += [
            f"  uploaded {listed} (job may have been created)",
            f"  uploaded {key} (job may have been created)",
        ]
    elif stop == "create refused":
        said += [f"  uploaded {listed} (job not created)", f"  uploaded {key} (job not created)"]
    else:  # its input's upload stopped: its request list was written first
        said.append(f"  uploaded {listed} (job not created)")
    assert lines[at + 1 : at + 1 + len(said)] == said
    assert lines[at + 1 + len(said)].startswith("once the cause (below) is fixed, run the same")
    assert len(_s3_objects(fake)) == (4 if unanswered or stop == "create refused" else 3)


def test_a_dry_run_looks_up_the_jobs_when_it_can(filled_run, tmp_path, capsys, fake_aws):
    """With credentials a dry run asks Bedrock (read only) which jobs exist, as --apply does:
    a job submitted before reads `exists`, with its status, and is not counted as to submit;
    nothing is written to S3 or created."""
    out = tmp_path / "jobs"
    job = _job_name(filled_run, tmp_path)
    capsys.readouterr()
    request = json.loads((tmp_path / "named" / job / "request.json").read_text())
    with fake_aws() as fake:
        fake.listed(job, _summary(job, "Completed", _arn(1), request))
        fake.listed(bj.attempt_name(job, 2))
        assert _export(filled_run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 0
    text = capsys.readouterr().out
    assert _table_row(text, job)[3:] == ["Completed", f"exists {_arn(1)}"]
    assert (
        "nothing to submit: 2,711 requests in 1 job submitted before ($50.67 on demand, $25.34 "
        f"in batch), priced with the sheet 'current' (as of {_sheet_date()}, discount 0%)\n"
    ) in text
    assert "status unchecked" not in text
    assert fake.made == [("bedrock", "us-east-1")]
    assert _s3_objects(fake) == {}


def test_a_dry_run_says_what_apply_would_find_in_s3(filled_run, tmp_path, capsys, fake_aws):
    """A job's S3 input location holding an earlier upload's part file and an object of the
    user's: the dry run says --apply would delete the one and not create the job for the
    other (ListObjectsV2 only: nothing is deleted)."""
    out = tmp_path / "jobs"
    job = _job_name(filled_run, tmp_path)
    capsys.readouterr()
    prefix = f"batch/{job}/input/"
    with fake_aws() as fake:
        for name in ("part-0002.jsonl", "README.txt"):
            fake.s3.put_object(Bucket="bucket", Key=prefix + name, Body=b"x\n")
        fake.not_found(tmp_path / "named" / job)
        assert _export(filled_run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 0
    text = capsys.readouterr().out
    assert _table_row(text, job)[3:] == [
        "-",
        "would-refuse: its S3 input location holds 1 other object",
    ]
    assert (
        f"{job}: --apply would refuse it, and create no job: s3://bucket/{prefix} holds an "
        f"object that is not job {job}'s input files ({prefix}README.txt), which the job would "
        "read too. Move or delete them (e.g. `aws s3 rm`), or export to another S3 prefix, and "
        "run again\n"
        f"{job}: --apply would delete 1 input file an earlier upload left in "
        f"s3://bucket/{prefix} (the same records split another way): part-0002.jsonl\n"
    ) in text
    assert _s3_objects(fake) == {prefix + "part-0002.jsonl": 1, prefix + "README.txt": 1}


def test_apply_looks_at_every_jobs_s3_input_before_creating_any(
    filled_run, tmp_path, capsys, fake_aws
):
    """Three jobs (1,000, 1,000 and 711 records); the first's and the last's S3 input
    locations hold an object of the user's. The dry run's table says what --apply does: it
    refuses those two and so creates none, the second included; --apply then creates no job
    and uploads nothing (no create is queued), and its error names both locations."""
    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--max-records", "1000"]
    assert _export(filled_run, out, *flags) == 0
    capsys.readouterr()
    jobs = sorted(
        (json.loads((d / "job.json").read_text())["records"], d.name)
        for d in out.iterdir()
        if d.is_dir()
    )
    assert [records for records, _ in jobs] == [711, 1000, 1000]
    a, b = sorted(name for records, name in jobs if records == 1000)
    last = jobs[0][1]
    ours = {f"batch/{job}/input/notes.txt": 1 for job in (a, last)}
    for run in ("dry run", "--apply"):
        with fake_aws() as fake:
            for key in ours:
                fake.s3.put_object(Bucket="bucket", Key=key, Body=b"mine\n")
            for job in (a, b, last):
                fake.not_found(out / job)
            code = _export(filled_run, out, *flags, *(["--apply"] if run == "--apply" else []))
        captured = capsys.readouterr()
        refused = "would-refuse" if run == "dry run" else "refused"
        assert {job: _table_row(captured.out, job)[3:] for job in (a, b, last)} == {
            a: ["-", f"{refused}: its S3 input location holds 1 other object"],
            b: ["-", "would-not-create" if run == "dry run" else "not-created"],
            last: ["-", f"{refused}: its S3 input location holds 1 other object"],
        }
        assert _s3_objects(fake) == ours  # nothing uploaded, nothing deleted
        if run == "dry run":
            assert code == 0
            cost = next(line for line in captured.out.splitlines() if " on demand " in line)
            assert cost.endswith(
                "; but --apply would submit none of them while 2 jobs stay refused for other "
                "objects in the S3 input location (below)"
            )
            assert captured.out.rstrip().endswith(
                "dry run: nothing uploaded or submitted (add --apply); 2 jobs refused for other "
                "objects in their S3 input location (above): --apply would create none"
            )
            continue
        assert code == 2
        held = [
            f"s3://bucket/batch/{job}/input/ holds an object that is not job {job}'s input "
            f"files (batch/{job}/input/notes.txt), which the job would read too"
            for job in (a, last)
        ]
        assert captured.err == (
            f"error: {held[0]}; {held[1]}: no job created. Move or delete them (e.g. `aws s3 "
            "rm`), or export to another S3 prefix, and run again\n"
        )
        assert fake.made == [("bedrock", "us-east-1"), ("s3", None)]


NOT_AUTHORIZED = (
    "User: arn:aws:iam::123456789012:user/analyst is not authorized to perform: "
    "bedrock:ListModelInvocationJobs"
)


@pytest.mark.parametrize("run", ["dry run", "--apply"])
def test_without_permission_to_list_jobs_the_permission_is_named(
    filled_run, tmp_path, capsys, fake_aws, run
):
    """Bedrock refuses ListModelInvocationJobs: the dry run says it was asked and refused, and
    that --apply needs the permission and fails without it; it still looks at the job's S3
    input location (a file of the user's there: would-refuse). --apply stops with one error
    line naming the permission, before anything is uploaded or created."""
    out = tmp_path / "jobs"
    job = _job_name(filled_run, tmp_path)
    capsys.readouterr()
    key = f"batch/{job}/input/notes.txt"
    with fake_aws() as fake:
        fake.s3.put_object(Bucket="bucket", Key=key, Body=b"mine\n")
        fake.stub.add_client_error(
            "list_model_invocation_jobs",
            service_error_code="AccessDeniedException",
            service_message=NOT_AUTHORIZED,
            http_status_code=403,
            expected_params={"nameContains": job, "maxResults": 100},
        )
        flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX]
        code = _export(filled_run, out, *flags, *(["--apply"] if run == "--apply" else []))
    captured = capsys.readouterr()
    assert _s3_objects(fake) == {key: 1}
    if run == "--apply":
        assert code == 2
        assert captured.err == (
            f"error: listing the batch jobs whose name holds {job} failed "
            f"(AccessDeniedException: {NOT_AUTHORIZED}); these credentials need "
            "bedrock:ListModelInvocationJobs\n"
        )
        assert fake.made == [("bedrock", "us-east-1")]  # no S3 client: nothing written
        return
    assert code == 0
    assert _table_row(captured.out, job)[3:] == [
        "unchecked",
        "would-refuse: its S3 input location holds 1 other object",
    ]
    assert (
        f"status unchecked: Bedrock refused to say which of these jobs exist "
        f"(AccessDeniedException: {NOT_AUTHORIZED}): --apply needs "
        "bedrock:ListModelInvocationJobs, and fails without it\n"
    ) in captured.out
    assert "Bedrock was not asked" not in captured.out
    assert f"{job}: --apply would refuse it, and create no job: s3://bucket/" in captured.out


def test_a_dry_run_without_permission_to_list_s3_says_apply_needs_it(
    filled_run, tmp_path, capsys, fake_aws
):
    """S3 refuses the listing of the job's input location: the dry run names the permission,
    and that --apply looks there first and stops without it."""
    from test_batch_jobs import _Refused

    out = tmp_path / "jobs"
    job = _job_name(filled_run, tmp_path)
    capsys.readouterr()
    with fake_aws() as fake:
        fake.not_found(tmp_path / "named" / job)
        fake.s3.meta.events.register("before-send.s3.ListObjectsV2", _Refused())
        assert _export(filled_run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 0
    uri = f"s3://bucket/batch/{job}/input/"
    assert (
        f"{job}: {uri} not looked at (listing {uri} failed (AccessDenied: Access Denied); these "
        "credentials need s3:ListBucket on the bucket bucket); --apply looks there before it "
        "creates any job, and stops if it cannot\n"
    ) in capsys.readouterr().out


# --- the prices the cost line names ------------------------------------------------------------


def _sheet_date() -> str:
    """The date of the 'current' sheet's rows that price the sample's doc-summarizer (the
    override leaves the row's date as it was), not the sheet's newest: 2026-11-28, the
    embedding models' rows'."""
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


def test_the_cost_line_shows_amounts_under_a_cent(tmp_path, capsys):
    """A discount of 99.999% leaves the sample's $50.21 on demand and $25.11 in batch at
    $0.00050 and $0.00025: the line read "$0.00 on demand ...; in batch $0.00 (saving $0.00)"."""
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--discount-pct", "99.999"]
    assert _export(default_sample_run(), tmp_path, *flags) == 0
    assert (
        "the 2,706 requests moved cost $0.00050 on demand over the logged 30 days; in batch "
        f"$0.00025 (saving $0.00025), priced with the sheet 'current' (as of {_sheet_date()}, "
        "discount 99.999%)\n"
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


# --- requests a job submitted before holds: the same requests split otherwise ---------------

# doc-summarizer's requests, in the order the export writes them: the first 6 are exported
# first, the next 4 are a set of the same group no job holds; the first 3 make one job
FIRST, LATER, THREE = (0, 6), (6, 10), (0, 3)


def _doc_run(base: Path, rows: tuple[int, int]) -> Path:
    """The sample run cut to doc-summarizer's requests ``rows`` (by time), their user turns
    written in: one job group (doc-summarizer, us-east-1, its model ID)."""
    import shutil

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    run = base / f"run-{rows[0]}-{rows[1]}"
    shutil.copytree(default_sample_run(), run)
    table = pq.read_table(run / "usage.parquet")
    table = table.filter(pc.equal(table.column("app"), "doc-summarizer")).sort_by("timestamp")
    table = table.slice(rows[0], rows[1] - rows[0])
    i = table.schema.get_field_index("user_text")
    texts = [t or "The quarterly report, in full." for t in table.column("user_text").to_pylist()]
    field = table.schema.field(i)
    table = table.set_column(i, field, pa.array(texts, field.type))
    pq.write_table(table, run / "usage.parquet")
    return run


@pytest.fixture(scope="module")
def doc_runs(tmp_path_factory) -> dict[tuple[int, int], Path]:
    base = tmp_path_factory.mktemp("resplit")
    return {rows: _doc_run(base, rows) for rows in (FIRST, LATER, THREE)}


def _split_flags(max_records: int) -> list[str]:
    """An export of at least 1 and at most ``max_records`` records a job."""
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--min-records", "1"]
    return [*flags, "--max-records", str(max_records)]


def _jobs(run: Path, out: Path, max_records: int, capsys) -> list[str]:
    """The jobs an export of ``run`` writes (a dry run without credentials), in the order of
    their requests in the run."""
    import pyarrow.parquet as pq

    assert _export(run, out, *_split_flags(max_records)) == 0
    capsys.readouterr()
    ids = pq.read_table(run / "usage.parquet")["request_id"].to_pylist()
    place = {rid: i for i, rid in enumerate(ids)}
    first = {d.name: place.get(_requests(out, d.name)[0]) for d in out.iterdir() if d.is_dir()}
    return sorted((name for name, at in first.items() if at is not None), key=first.get)


def _requests(out: Path, job: str) -> list[str]:
    return [line.split(",")[1] for line in (out / job / "records.csv").read_text().splitlines()[1:]]


def _request(out: Path, job: str) -> dict:
    return json.loads((out / job / "request.json").read_text())


def _apply_first(run: Path, out: Path, fake_aws, capsys) -> list[str]:
    """--apply the run's requests (6: two jobs; 3: one) with 3 a job, each job created (no
    other job of their group under the prefix: nothing more is asked of Bedrock); their
    names."""
    names = _jobs(run, out, 3, capsys)
    with fake_aws() as fake:
        for job in names:
            fake.not_found(out / job)
        for n, job in enumerate(names, start=1):
            fake.stub.add_response(
                "create_model_invocation_job", {"jobArn": _arn(n)}, _request(out, job)
            )
        assert _export(run, out, *_split_flags(3), "--apply") == 0
    text = capsys.readouterr().out
    assert [_table_row(text, job)[3:] for job in names] == [
        ["-", f"created {_arn(n)}"] for n in range(1, len(names) + 1)
    ]
    return names


def test_the_request_list_is_written_beside_each_jobs_input(doc_runs, tmp_path, capsys, fake_aws):
    """Each job created gets <prefix>/<job>/requests.json first: its request IDs, in its
    records' order, and the records a job its export allowed."""
    out = tmp_path / "jobs"
    a, b = _apply_first(doc_runs[FIRST], out, fake_aws, capsys)
    with fake_aws() as fake:
        objects = _s3_objects(fake)
        body = fake.s3.get_object(Bucket="bucket", Key=f"batch/{a}/requests.json")["Body"]
        listed = json.loads(body.read())
    assert objects == {
        f"batch/{a}/requests.json": 1,
        f"batch/{a}/input/part-0001.jsonl": 3,
        f"batch/{b}/requests.json": 1,
        f"batch/{b}/input/part-0001.jsonl": 3,
    }
    assert listed == {
        "tool": "bedrock-finops",
        "kind": "batch-job-requests",
        "jobName": a,
        "modelId": _request(out, a)["modelId"],
        "maxRecordsPerJob": 3,
        "minRecordsPerJob": 1,
        "requestIds": _requests(out, a),
    }
    assert len(listed["requestIds"]) == 3


def _listed_group(fake, a: str, b: str, out_a: Path) -> None:
    """Bedrock answers the search for the group's stem with job a Completed, b InProgress."""
    fake.listed(
        bj.name_stem(a),
        _summary(a, "Completed", _arn(1), _request(out_a, a)),
        _summary(b, "InProgress", _arn(2), _request(out_a, b)),
    )


@pytest.mark.parametrize("run", ["dry run", "--apply"])
def test_the_same_requests_split_otherwise_are_refused_not_billed_twice(
    doc_runs, tmp_path, capsys, fake_aws, run
):
    """6 requests applied with --max-records 3 (jobs a and b), then exported with
    --max-records 2: three jobs of other names, each holding requests a or b holds. The dry
    run says --apply would refuse all three, naming how many of each one's requests which job
    holds, and to export with --max-records 3; --apply creates none (no create is queued),
    uploads nothing, and exits 2 naming the fix."""
    out = tmp_path / "jobs"
    a, b = _apply_first(doc_runs[FIRST], out, fake_aws, capsys)
    first = {job: set(_requests(out, job)) for job in (a, b)}
    again = tmp_path / "again"
    x, y, z = _jobs(doc_runs[FIRST], again, 2, capsys)
    assert not {x, y, z} & {a, b}  # other names: the name lookup alone would create them
    assert [len(_requests(again, job)) for job in (x, y, z)] == [2, 2, 2]
    # x holds 2 of a's requests, y one of a's and one of b's, z 2 of b's
    assert [
        [len(set(_requests(again, job)) & first[held]) for held in (a, b)] for job in (x, y, z)
    ] == [[2, 0], [1, 1], [0, 2]]
    with fake_aws() as fake:
        objects = _s3_objects(fake)
        for job in (x, y, z):
            fake.not_found(again / job)
        _listed_group(fake, a, b, out)
        code = _export(
            doc_runs[FIRST], again, *_split_flags(2), *(["--apply"] if run == "--apply" else [])
        )
    captured = capsys.readouterr()
    refused = "would-refuse" if run == "dry run" else "refused"
    assert {job: _table_row(captured.out, job)[3:] for job in (x, y, z)} == {
        x: ["-", f"{refused}: 2 of its 2 requests held by another job"],
        y: ["-", f"{refused}: 2 of its 2 requests held by 2 other jobs"],
        z: ["-", f"{refused}: 2 of its 2 requests held by another job"],
    }
    lead = "--apply would refuse it, and create no job" if run == "dry run" else "refused"
    fix = (
        "export them with --max-records 3, as the export that submitted those jobs did: the "
        "same requests split the same way are the same jobs, found as submitted; to run them "
        "again knowingly, export to another --s3-prefix"
    )
    held_a = f"{a} (Completed, exported with --max-records 3)"
    held_b = f"{b} (InProgress, exported with --max-records 3)"
    assert (
        f"{x}: {lead}: 2 of its 2 requests are held by {held_a}\n"
        f"{y}: {lead}: 1 of its 2 requests is held by {held_a}; 1 by {held_b}\n"
        f"{z}: {lead}: 2 of its 2 requests are held by {held_b}\n"
        f"  {fix}\n"
    ) in captured.out
    assert _s3_objects(fake) == objects  # nothing uploaded
    if run == "dry run":
        assert code == 0
        cost = next(line for line in captured.out.splitlines() if " on demand " in line)
        assert cost.endswith(
            "; but --apply would submit none of them while 3 jobs stay refused for requests "
            "jobs submitted before hold (below)"
        )
        assert captured.out.rstrip().endswith(
            "dry run: nothing uploaded or submitted (add --apply); 3 jobs refused for requests "
            "jobs submitted before hold (above): --apply would create none"
        )
        return
    assert code == 2
    assert captured.err == (
        "error: no job created: 3 jobs refused: their requests are held in part or whole by "
        f"jobs submitted before (above): {fix}\n"
    )
    assert fake.made == [("bedrock", "us-east-1"), ("s3", None)]


def test_a_job_that_ended_unfinished_holds_none_of_the_requests(
    doc_runs, tmp_path, capsys, fake_aws
):
    """Job b Failed (its records not processed: resubmitting it is --resubmit's case): split
    with --max-records 2, only the requests a holds count. z, whose 2 requests only b held, is
    refused by no one; the dry run says --apply would not create it while x and y are
    refused."""
    out = tmp_path / "jobs"
    a, b = _apply_first(doc_runs[FIRST], out, fake_aws, capsys)
    again = tmp_path / "again"
    x, y, z = _jobs(doc_runs[FIRST], again, 2, capsys)
    with fake_aws() as fake:
        for job in (x, y, z):
            fake.not_found(again / job)
        fake.listed(
            bj.name_stem(a),
            _summary(a, "Completed", _arn(1), _request(out, a)),
            _summary(b, "Failed", _arn(2), _request(out, b), message="The role was refused."),
        )
        assert _export(doc_runs[FIRST], again, *_split_flags(2)) == 0
    text = capsys.readouterr().out
    assert {job: _table_row(text, job)[3:] for job in (x, y, z)} == {
        x: ["-", "would-refuse: 2 of its 2 requests held by another job"],
        y: ["-", "would-refuse: 1 of its 2 requests held by another job"],
        z: ["-", "would-not-create"],
    }
    assert (
        f"{y}: --apply would refuse it, and create no job: 1 of its 2 requests is held by {a} "
        "(Completed, exported with --max-records 3)\n"
    ) in text
    assert b not in text


def test_a_refused_job_names_the_unfinished_job_holding_its_other_requests(
    doc_runs, tmp_path, capsys, fake_aws
):
    """Job a Completed, job b PartiallyCompleted (2 of its 3 records processed, billed):
    split with --max-records 2, y holds one request of each. Its refusal names both: a holds
    one, and b, unfinished, processed records of the other, so they were billed too."""
    out = tmp_path / "jobs"
    a, b = _apply_first(doc_runs[FIRST], out, fake_aws, capsys)
    again = tmp_path / "again"
    x, y, z = _jobs(doc_runs[FIRST], again, 2, capsys)
    counts = {"totalRecordCount": 3, "processedRecordCount": 2}
    with fake_aws() as fake:
        for job in (x, y, z):
            fake.not_found(again / job)
        fake.listed(
            bj.name_stem(a),
            _summary(a, "Completed", _arn(1), _request(out, a)),
            _summary(b, "PartiallyCompleted", _arn(2), _request(out, b), **counts),
        )
        assert _export(doc_runs[FIRST], again, *_split_flags(2)) == 0
    text = capsys.readouterr().out
    assert {job: _table_row(text, job)[3:] for job in (x, y, z)} == {
        x: ["-", "would-refuse: 2 of its 2 requests held by another job"],
        y: ["-", "would-refuse: 1 of its 2 requests held by another job"],
        z: ["-", "would-not-create: 2 of its 2 requests in an unfinished job"],
    }
    assert (
        f"{y}: --apply would refuse it, and create no job: 1 of its 2 requests is held by {a} "
        f"(Completed, exported with --max-records 3); 1 of its 2 requests was in {b} "
        f"(PartiallyCompleted, {_arn(2)}, exported with --max-records 3), which processed 2 of "
        "its 3 records\n"
    ) in text


RUNS = ["dry run", "--apply", "--apply --resubmit"]


@pytest.mark.parametrize("run", RUNS)
def test_requests_an_unfinished_job_processed_are_billed_again_only_with_resubmit(
    doc_runs, tmp_path, capsys, fake_aws, run
):
    """Job a (3 requests) ended PartiallyCompleted, 2 of its 3 records processed and billed.
    Exported again with --max-records 2, x and y (other names) hold its 3 requests: --apply
    creates neither (each would bill again what a processed), says why and that --resubmit
    creates them, and exits 1; the dry run says --apply would not create them. With
    --resubmit both are created, and the line of each names a and says its processed records
    are billed again, as resubmitting a itself would."""
    out = tmp_path / "jobs"
    (a,) = _apply_first(doc_runs[THREE], out, fake_aws, capsys)
    again = tmp_path / "again"
    x, y = _jobs(doc_runs[THREE], again, 2, capsys)
    assert [len(_requests(again, job)) for job in (x, y)] == [2, 1]
    counts = {"totalRecordCount": 3, "processedRecordCount": 2}
    partial = _summary(a, "PartiallyCompleted", _arn(1), _request(out, a), **counts)
    apply, resubmit = run != "dry run", run.endswith("--resubmit")
    flags = run.split() if apply else []
    with fake_aws() as fake:
        objects = _s3_objects(fake)
        for job in (x, y):
            fake.not_found(again / job)
        fake.listed(bj.name_stem(a), partial)
        if resubmit:
            for n, job in enumerate((x, y), start=2):
                fake.stub.add_response(
                    "create_model_invocation_job", {"jobArn": _arn(n)}, _request(again, job)
                )
        code = _export(doc_runs[THREE], again, *_split_flags(2), *flags)
    captured = capsys.readouterr()
    held_by = f"{a} (PartiallyCompleted, {_arn(1)}, exported with --max-records 3), which "
    held_by += "processed 2 of its 3 records"
    if resubmit:
        assert code == 0
        assert [_table_row(captured.out, job)[3:] for job in (x, y)] == [
            ["-", f"created {_arn(2)}"],
            ["-", f"created {_arn(3)}"],
        ]
        assert (
            f"{x}: 2 of its 2 requests were in {held_by}: those it processed are billed again\n"
            f"{y}: 1 of its 1 request was in {held_by}: those it processed are billed again\n"
        ) in captured.out
        assert captured.err == ""
        assert _s3_objects(fake) == {
            **objects,
            f"batch/{x}/requests.json": 1,
            f"batch/{x}/input/part-0001.jsonl": 2,
            f"batch/{y}/requests.json": 1,
            f"batch/{y}/input/part-0001.jsonl": 1,
        }
        return
    not_created = "not-created" if apply else "would-not-create"
    assert [_table_row(captured.out, job)[3:] for job in (x, y)] == [
        ["-", f"{not_created}: 2 of its 2 requests in an unfinished job"],
        ["-", f"{not_created}: 1 of its 1 request in an unfinished job"],
    ]
    lead = "not created" if apply else "--apply would not create it"
    assert (
        f"{x}: {lead}: 2 of its 2 requests were in {held_by}: created, it would bill again those "
        "that job processed\n"
        f"{y}: {lead}: 1 of its 1 request was in {held_by}: created, it would bill again those "
        "that job processed\n"
        "  to run them after all, run again with --resubmit: it creates the job, and the "
        f"requests {a} processed are billed again; to pay only for the rest, submit those "
        f"without a result in s3://bucket/batch/{a}/output/ yourself\n"
    ) in captured.out
    assert (
        "nothing to submit: 3 requests in 2 jobs kept back for requests of unfinished jobs (below)"
    ) in captured.out
    assert _s3_objects(fake) == objects  # nothing uploaded
    if not apply:
        assert code == 0
        assert captured.out.rstrip().endswith(
            "dry run: nothing uploaded or submitted (add --apply); 2 jobs kept back for "
            "requests of unfinished jobs (above): --apply would not create them"
        )
        return
    assert code == 1
    assert captured.err == (
        f"2 of 2 jobs not created ({x}, {y}): their requests were in jobs that ended "
        "unfinished, having processed some: see above for why and how to create them\n"
    )


def test_a_new_set_of_requests_of_the_same_group_is_created(doc_runs, tmp_path, capsys, fake_aws):
    """After jobs a and b hold the first 6 requests, the next 4 of the same group (3 a job:
    jobs c and d) are created: Bedrock lists a and b, their request lists are read, and none
    of c's or d's requests is in them."""
    out = tmp_path / "jobs"
    a, b = _apply_first(doc_runs[FIRST], out, fake_aws, capsys)
    c, d = _jobs(doc_runs[LATER], tmp_path / "later-names", 3, capsys)
    with fake_aws() as fake:
        for job in (c, d):
            fake.not_found(tmp_path / "later-names" / job)
        _listed_group(fake, a, b, out)
        for n, job in enumerate((c, d), start=3):
            fake.stub.add_response(
                "create_model_invocation_job",
                {"jobArn": _arn(n)},
                _request(tmp_path / "later-names", job),
            )
        assert _export(doc_runs[LATER], out, *_split_flags(3), "--apply") == 0
    captured = capsys.readouterr()
    assert [_table_row(captured.out, job)[3:] for job in (c, d)] == [
        ["-", f"created {_arn(3)}"],
        ["-", f"created {_arn(4)}"],
    ]
    assert captured.err == ""
    objects = _s3_objects(fake)
    assert {key: n for key, n in objects.items() if c in key or d in key} == {
        f"batch/{c}/requests.json": 1,
        f"batch/{c}/input/part-0001.jsonl": 3,
        f"batch/{d}/requests.json": 1,
        f"batch/{d}/input/part-0001.jsonl": 1,
    }


@pytest.mark.parametrize("kept", [True, False], ids=["records.csv kept", "records.csv gone"])
def test_a_job_an_earlier_version_submitted_is_checked_from_the_export_folder(
    doc_runs, tmp_path, capsys, fake_aws, kept
):
    """Jobs a and b as an earlier version left them: no request list in S3. Exported again
    with --max-records 2 into the --out that holds their folders, their records.csv stands
    in: the three jobs are refused. Into another --out, what they hold is not known: the jobs
    are created, and a line names each of a and b as not checked."""
    out = tmp_path / "jobs"
    a, b = _apply_first(doc_runs[FIRST], out, fake_aws, capsys)
    with fake_aws() as fake:
        for job in (a, b):
            fake.s3.delete_object(Bucket="bucket", Key=f"batch/{job}/requests.json")
    again = out if kept else tmp_path / "elsewhere"
    x, y, z = _jobs(doc_runs[FIRST], tmp_path / "names", 2, capsys)
    with fake_aws() as fake:
        for job in (x, y, z):
            fake.not_found(tmp_path / "names" / job)
        _listed_group(fake, a, b, out)
        if not kept:
            for n, job in enumerate((x, y, z), start=3):
                fake.stub.add_response(
                    "create_model_invocation_job",
                    {"jobArn": _arn(n)},
                    _request(tmp_path / "names", job),
                )
        code = _export(doc_runs[FIRST], again, *_split_flags(2), "--apply")
    captured = capsys.readouterr()
    if kept:
        assert code == 2
        assert _table_row(captured.out, y)[3:] == [
            "-",
            "refused: 2 of its 2 requests held by 2 other jobs",
        ]
        assert (
            f"{y}: refused: 1 of its 2 requests is held by {a} (Completed, submitted by an "
            f"earlier version); 1 by {b} (InProgress, submitted by an earlier version)\n"
            f"{z}: refused: 2 of its 2 requests are held by {b} (InProgress, submitted by an "
            "earlier version)\n"
            "  export them with the --max-records (and --min-records) the export that submitted "
            "those jobs used, so that the same jobs come out and are found as submitted, or "
            "export a run whose requests no job submitted before holds; to run them again "
            "knowingly, export to another --s3-prefix\n"
        ) in captured.out
        assert "holds no requests.json" not in captured.out  # their records.csv stood in
        return
    assert code == 0
    assert [_table_row(captured.out, job)[4] for job in (x, y, z)] == [
        f"created {_arn(n)}" for n in (3, 4, 5)
    ]
    for job, status in ((a, "Completed"), (b, "InProgress")):
        assert (
            f"{job} ({status}): its folder holds no requests.json (an earlier version "
            f"submitted it, or the list was removed), and {again / job / 'records.csv'} is not "
            "there to stand in: the jobs created were not checked against it (a request it "
            "holds is billed again; the --max-records its export used finds that export's jobs "
            "as submitted)\n"
        ) in captured.out
