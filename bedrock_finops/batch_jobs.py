"""Batch inference jobs: quota-aware splitting, the job request, export, submission, CLI.

The records themselves (one JSONL line per request: ``recordId`` and the ``modelInput`` body,
rebuilt from the usage table and ``prompts.parquet``) are built in ``batch_records``.

Splitting follows the quotas AWS sets per model and account (look them up in Service Quotas,
service "Amazon Bedrock"; the defaults here are the commonly seen values, not guarantees).
Submitting is a dry run unless ``apply=True``, and is idempotent: the job name and
``clientRequestToken`` are derived from the job's content, and a job whose name already exists
is not created again.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from bedrock_finops.batch_records import PLACEHOLDER_USER_TEXT, SegmentRecords, new_spool

MIN_TIMEOUT_HOURS, MAX_TIMEOUT_HOURS = 24, 168
_JOB_NAME_RE = re.compile(r"^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}$")
_ROLE_ARN_RE = re.compile(r"^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$")
# the s3Uri pattern create_model_invocation_job accepts: a bucket name, then key parts
_S3_BUCKET_RE = re.compile(r"^[a-z0-9][-.a-z0-9]{1,61}[a-z0-9]$")
_S3_URI_RE = re.compile(r"^s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](/[-!_*'().a-zA-Z0-9]+)*/?$")
_S3_URI_MAX = 1024
GIB = 1024**3


@dataclass(frozen=True)
class BatchQuotas:
    """Per-job limits. Service Quotas names (per model, e.g. "... for Claude Sonnet 4"):

    - ``min_records_per_job``: "Minimum number of records per batch inference job"
    - ``max_records_per_file``: "Records per input file per batch inference job"
    - ``max_records_per_job``: "Records per batch inference job"
    - ``max_file_bytes``: "Batch inference input file size (in GB)"
    - ``max_job_bytes``: "Batch inference job size (in GB)"
    """

    min_records_per_job: int = 100
    max_records_per_file: int = 50_000
    max_records_per_job: int = 50_000
    max_file_bytes: int = 1 * GIB
    max_job_bytes: int = 5 * GIB

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"batch quota {name} must be a positive integer, got {value!r}")
        if self.max_records_per_file > self.max_records_per_job:
            raise ValueError("max_records_per_file cannot exceed max_records_per_job")
        if self.max_file_bytes > self.max_job_bytes:
            raise ValueError("max_file_bytes cannot exceed max_job_bytes")
        if self.min_records_per_job > self.max_records_per_job:
            raise ValueError("min_records_per_job cannot exceed max_records_per_job")


def job_quotas(settings: dict[str, Any], named: Callable[[str], str] | None = None) -> BatchQuotas:
    """The per-job record limits from a run's settings (``min_records_per_job``,
    ``max_records_per_job``, ``max_records_per_file``; one missing takes the default). Each
    is a positive whole number and the minimum is not over the maximum; a file holds at most
    a job's records, so a larger file limit is the job's. ``named(key)`` says how an error
    names a setting (a params key, a CLI flag). The one rule for the params check, the
    notebook and ``batch-export``."""
    values = {**_RECORD_LIMITS, **{k: v for k, v in settings.items() if k in _RECORD_LIMITS}}
    named = named or (lambda key: f"{key} {values[key]!r}")
    counts = {}
    for name in _RECORD_LIMITS:
        counts[name] = _whole(values[name])
        if counts[name] is None or counts[name] < 1:
            raise ValueError(
                f"{named(name)} must be a positive whole number of records (Service Quotas: "
                f"{QUOTA_NAMES[name]!r})"
            )
    if counts["min_records_per_job"] > counts["max_records_per_job"]:
        raise ValueError(
            f"{named('min_records_per_job')} is over {named('max_records_per_job')}: a job "
            "cannot hold more than the maximum; lower the minimum or raise the maximum"
        )
    counts["max_records_per_file"] = min(
        counts["max_records_per_file"], counts["max_records_per_job"]
    )
    return BatchQuotas(**counts)


QUOTA_NAMES = {
    "min_records_per_job": "Minimum number of records per batch inference job",
    "max_records_per_file": "Records per input file per batch inference job",
    "max_records_per_job": "Records per batch inference job",
    "max_file_bytes": "Batch inference input file size (in GB)",
    "max_job_bytes": "Batch inference job size (in GB)",
}


_RECORD_LIMITS = {
    "min_records_per_job": BatchQuotas.min_records_per_job,
    "max_records_per_job": BatchQuotas.max_records_per_job,
    "max_records_per_file": BatchQuotas.max_records_per_file,
}


# --- splitting -------------------------------------------------------------------------------


@dataclass
class JobPlan:
    """One batch job: its files (lists of line indexes) and its totals."""

    files: list[list[int]] = field(default_factory=list)
    file_bytes: list[int] = field(default_factory=list)  # each file's size, as it fills
    records: int = 0
    bytes: int = 0
    below_min_records: bool = False


def split_lines(lines: Sequence[bytes], quotas: BatchQuotas) -> list[JobPlan]:
    """Pack JSONL lines, in order, into jobs and files within the quotas (see ``split_sizes``)."""
    return split_sizes([len(line) for line in lines], quotas)


def split_sizes(sizes: Sequence[int], quotas: BatchQuotas) -> list[JobPlan]:
    """Pack lines of these byte sizes, in order, into jobs and files within the quotas.

    Greedy by records and bytes; a short last job is topped up from the one before it when
    that keeps both within the limits. A job still under ``min_records_per_job`` is flagged
    (``below_min_records``): Bedrock would reject it. Each job and file holds a run of
    consecutive lines.
    """
    jobs: list[JobPlan] = []
    for i, size in enumerate(sizes):
        if size > quotas.max_file_bytes:
            raise ValueError(
                f"record {i} is {size:,} bytes, over max_file_bytes {quotas.max_file_bytes:,}: "
                "it cannot go into any batch input file"
            )
        job = jobs[-1] if jobs else None
        if (
            job is None
            or job.records >= quotas.max_records_per_job
            or job.bytes + size > quotas.max_job_bytes
        ):
            job = JobPlan()
            jobs.append(job)
        _append(job, i, size, quotas)
    _top_up_last(jobs, sizes, quotas)
    for job in jobs:
        job.below_min_records = job.records < quotas.min_records_per_job
    return jobs


def _append(job: JobPlan, i: int, size: int, quotas: BatchQuotas) -> None:
    current = job.files[-1] if job.files else None
    if (
        current is None
        or len(current) >= quotas.max_records_per_file
        or job.file_bytes[-1] + size > quotas.max_file_bytes
    ):
        current = []
        job.files.append(current)
        job.file_bytes.append(0)
    current.append(i)
    job.file_bytes[-1] += size
    job.records += 1
    job.bytes += size


def _top_up_last(jobs: list[JobPlan], sizes: Sequence[int], quotas: BatchQuotas) -> None:
    """Move records from the second-to-last job into a last job that is under the minimum."""
    if len(jobs) < 2 or jobs[-1].records >= quotas.min_records_per_job:
        return
    prev, last = jobs[-2], jobs[-1]
    indexes = [i for f in prev.files for i in f] + [i for f in last.files for i in f]
    need = quotas.min_records_per_job - last.records
    if prev.records - need < quotas.min_records_per_job:
        return  # both cannot reach the minimum
    moved = indexes[prev.records - need : prev.records]
    new_last_bytes = last.bytes + sum(sizes[i] for i in moved)
    if new_last_bytes > quotas.max_job_bytes:
        return
    rebuilt_prev, rebuilt_last = JobPlan(), JobPlan()
    for i in indexes[: prev.records - need]:
        _append(rebuilt_prev, i, sizes[i], quotas)
    for i in indexes[prev.records - need :]:
        _append(rebuilt_last, i, sizes[i], quotas)
    jobs[-2:] = [rebuilt_prev, rebuilt_last]


# --- job request -----------------------------------------------------------------------------


def job_name(prefix: str, digest: str) -> str:
    """A valid job name (``[a-zA-Z0-9-]``, <= 63 chars) ending in a content digest."""
    clean = re.sub(r"[^a-zA-Z0-9]+", "-", prefix).strip("-") or "batch"
    name = f"{clean[: 63 - len(digest) - 1]}-{digest}"
    if not _JOB_NAME_RE.match(name):
        raise ValueError(f"cannot build a valid job name from {prefix!r}")
    return name


def check_role_arn(role_arn: str, named: str = "role_arn") -> None:
    """The service role a job runs as: an IAM role ARN. ``named``: how errors name it."""
    if not _ROLE_ARN_RE.match(role_arn or ""):
        raise ValueError(
            f"{named} {role_arn!r} is not an IAM role ARN: give the service role Bedrock "
            "assumes to read the inputs and write the outputs, arn:aws:iam::<account>:role/<name>"
        )


def check_s3_location(uri: str, named: str = "S3 location") -> None:
    """An S3 location a batch job accepts: the pattern and length of
    ``create_model_invocation_job``'s ``s3Uri``."""
    uri = str(uri)
    if not _S3_URI_RE.match(uri):
        bucket = uri.removeprefix("s3://").partition("/")[0]
        if not uri.startswith("s3://"):
            hint = f" (did you mean s3://{uri}?)" if "://" not in uri else ""
        elif not _S3_BUCKET_RE.match(bucket):
            hint = f"; {bucket!r} is not a bucket name (3-63 lowercase letters, digits, . and -)"
        else:
            hint = "; Bedrock takes only letters, digits and -!_*'(). between the /s of the key"
        raise ValueError(
            f"{named} {uri!r} is not an s3:// location: give s3://<bucket>/<prefix>{hint}"
        )
    if len(uri) > _S3_URI_MAX:
        raise ValueError(f"{named} is {len(uri):,} characters: Bedrock takes {_S3_URI_MAX:,}")


def check_s3_prefix(prefix: str, named: str = "s3_prefix") -> None:
    """Where the job folders go: an S3 location with room for ``<job name>/output/``."""
    check_s3_location(prefix, named)
    # each job reads <prefix>/<job name, up to 63>/input/ and writes .../output/
    if len(prefix.rstrip("/")) + 1 + 63 + len("/output/") > _S3_URI_MAX:
        raise ValueError(
            f"{named} is {len(prefix):,} characters: a job's S3 location would pass "
            f"Bedrock's {_S3_URI_MAX:,}; give a shorter prefix"
        )


def check_timeout_hours(timeout_hours: Any, named: str | None = None) -> None:
    """``timeoutDurationInHours``: a whole number of hours in the range Bedrock accepts."""
    hours = _whole(timeout_hours)
    if hours is None or not MIN_TIMEOUT_HOURS <= hours <= MAX_TIMEOUT_HOURS:
        raise ValueError(
            f"{named or f'timeout_hours {timeout_hours!r}'} is not a job timeout: Bedrock takes "
            f"{MIN_TIMEOUT_HOURS} to {MAX_TIMEOUT_HOURS} hours"
        )


def _whole(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (not a bool), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def job_request(
    *,
    name: str,
    role_arn: str,
    model_id: str,
    input_s3_uri: str,
    output_s3_uri: str,
    style: str = "InvokeModel",
    timeout_hours: int = 24,
    client_request_token: str | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``bedrock.create_model_invocation_job``, validated."""
    if not _JOB_NAME_RE.match(name) or len(name) > 63:
        raise ValueError(f"job name {name!r} is not valid: [a-zA-Z0-9-+.], 1-63 characters")
    check_role_arn(role_arn)
    for label, uri in (("input", input_s3_uri), ("output", output_s3_uri)):
        check_s3_location(uri, f"the job's {label} location")
    check_timeout_hours(timeout_hours)
    if style not in ("InvokeModel", "Converse"):
        raise ValueError(f"modelInvocationType must be InvokeModel or Converse, got {style!r}")
    request: dict[str, Any] = {
        "jobName": name,
        "roleArn": role_arn,
        "clientRequestToken": client_request_token or name,
        "modelId": model_id,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_s3_uri, "s3InputFormat": "JSONL"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_s3_uri}},
        "timeoutDurationInHours": int(timeout_hours),
        "modelInvocationType": style,
    }
    if tags:
        request["tags"] = [{"key": k, "value": v} for k, v in sorted(tags.items())]
    return request


# --- export ----------------------------------------------------------------------------------


@dataclass
class ExportedJob:
    name: str
    directory: Path
    files: list[Path]
    records: int
    bytes: int
    below_min_records: bool
    request: dict[str, Any]
    region: str | None = None  # the Region to submit the job in (a job runs in one Region)


def export_segment(
    records: SegmentRecords,
    out_dir: Path,
    *,
    segment: str,
    model_id: str,
    role_arn: str,
    s3_prefix: str,
    quotas: BatchQuotas | None = None,
    timeout_hours: int = 24,
    tags: dict[str, str] | None = None,
    region: str | None = None,
) -> list[ExportedJob]:
    """Write one segment's jobs: ``<out>/<job>/part-NNNN.jsonl``, ``request.json``, ``records.csv``
    and ``job.json`` (the Region to submit in, the model ID, the record count).

    ``request.json`` holds exactly the ``create_model_invocation_job`` arguments; the Region is
    not one of them (it is the client's), so it is in ``job.json``: create the client there.

    ``s3_prefix`` is where the job folders will be uploaded (``s3://bucket/prefix``); each job
    reads ``<prefix>/<job>/input/`` and writes to ``<prefix>/<job>/output/``.
    """
    quotas = quotas or BatchQuotas()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    if records.spool is None:  # held records: spooled here, so there is one way to write
        spool, sizes = new_spool(Path(out_dir)), []
    else:
        spool, sizes = records.spool, records.sizes
    try:
        if records.spool is None:
            with spool.open("wb") as tmp:
                for line in records.lines():
                    tmp.write(line)
                    sizes.append(len(line))
        return _write_jobs(
            records, spool, sizes, Path(out_dir), segment, model_id, role_arn,
            s3_prefix, quotas, timeout_hours, tags, region,
        )  # fmt: skip
    finally:
        if records.spool is None:
            spool.unlink(missing_ok=True)


def _write_jobs(
    records: SegmentRecords,
    spool: Path,
    sizes: Sequence[int],
    out_dir: Path,
    segment: str,
    model_id: str,
    role_arn: str,
    s3_prefix: str,
    quotas: BatchQuotas,
    timeout_hours: int,
    tags: dict[str, str] | None,
    region: str | None,
) -> list[ExportedJob]:
    """Copy each job's run of lines from ``spool`` into its files (see ``export_segment``)."""
    plans = split_sizes(sizes, quotas)
    record_ids = records.record_ids or [r["recordId"] for r in records.records]
    starts = [0]
    for size in sizes:
        starts.append(starts[-1] + size)
    prefix = s3_prefix.rstrip("/")
    exported = []
    with spool.open("rb") as src:
        for plan in plans:
            indexes = [i for f in plan.files for i in f]
            sha = hashlib.sha256()  # over the job's lines, read a block at a time
            _copy_range(src, starts[indexes[0]], starts[indexes[-1] + 1], sha.update)
            sha.update(f"|{model_id}|{records.style}".encode())
            name = job_name(segment, sha.hexdigest()[:12])
            job_dir = out_dir / name
            (job_dir / "input").mkdir(parents=True, exist_ok=True)
            paths = []
            for n, file_idx in enumerate(plan.files, start=1):
                path = job_dir / "input" / f"part-{n:04d}.jsonl"
                with path.open("wb") as dst:
                    _copy_range(src, starts[file_idx[0]], starts[file_idx[-1] + 1], dst.write)
                paths.append(path)
            pd.DataFrame(
                {
                    "recordId": [record_ids[i] for i in indexes],
                    "request_id": [records.request_ids[i] for i in indexes],
                }
            ).to_csv(job_dir / "records.csv", index=False)
            request = job_request(
                name=name,
                role_arn=role_arn,
                model_id=model_id,
                input_s3_uri=f"{prefix}/{name}/input/",
                output_s3_uri=f"{prefix}/{name}/output/",
                style=records.style,
                timeout_hours=timeout_hours,
                client_request_token=name,
                tags=tags,
            )
            (job_dir / "request.json").write_text(json.dumps(request, indent=2) + "\n")
            spec = {"jobName": name, "region": region, "modelId": model_id, "records": plan.records}
            (job_dir / "job.json").write_text(json.dumps(spec, indent=2) + "\n")
            exported.append(
                ExportedJob(
                    name,
                    job_dir,
                    paths,
                    plan.records,
                    plan.bytes,
                    plan.below_min_records,
                    request,
                    region,
                )
            )
    return exported


def _copy_range(src: BinaryIO, start: int, end: int, sink: Callable[[bytes], Any]) -> None:
    """Feed bytes ``start:end`` of ``src`` to ``sink`` in blocks of at most 8 MiB."""
    src.seek(start)
    left = end - start
    while left > 0:
        block = src.read(min(left, 8 << 20))
        if not block:
            raise OSError(f"spool file ended {left:,} bytes early")
        sink(block)
        left -= len(block)


# --- submission ------------------------------------------------------------------------------


def existing_job_arns(client: Any, names: Iterable[str]) -> dict[str, str]:
    """``{jobName: jobArn}`` for the given names that already exist in the account/region."""
    found: dict[str, str] = {}
    for name in dict.fromkeys(names):  # unique, in the order given
        kwargs: dict[str, Any] = {"nameContains": name, "maxResults": 100}
        while True:
            page = client.list_model_invocation_jobs(**kwargs)
            for job in page.get("invocationJobSummaries", []):
                if job["jobName"] == name:
                    found[name] = job["jobArn"]
            token = page.get("nextToken")
            if not token or name in found:
                break
            kwargs["nextToken"] = token
    return found


def submit_jobs(
    requests: Sequence[dict[str, Any]],
    client: Any = None,
    *,
    apply: bool = False,
    regions: Sequence[str | None] | None = None,
    before_create: Callable[[int], Any] | None = None,
) -> pd.DataFrame:
    """Create the batch jobs; a dry run unless ``apply``. Existing job names are skipped.

    ``regions`` (aligned with ``requests``, from each job's ``job.json``): without a ``client``,
    each job is created by a Bedrock client in its own Region (a job runs in one Region).
    ``before_create(i)`` runs just before request ``i`` is created, not for a job that exists
    (the CLI uploads a job's inputs there, so a second ``--apply`` uploads nothing again).
    Returns one row per job: jobName, region, action (would-create | created | exists), jobArn.
    """
    columns = ["jobName", "region", "action", "jobArn"]
    regions = list(regions) if regions is not None else [None] * len(requests)
    if len(regions) != len(requests):
        raise ValueError("regions must have one entry per request")
    rows = []
    if not apply:
        for req, region in zip(requests, regions, strict=True):
            rows.append(
                {
                    "jobName": req["jobName"],
                    "region": region,
                    "action": "would-create",
                    "jobArn": None,
                }
            )
        return pd.DataFrame(rows, columns=columns)
    clients: dict[str | None, Any] = {}
    for region in dict.fromkeys(regions):
        if client is not None:
            where = getattr(getattr(client, "meta", None), "region_name", None)
            if region and where and where != region:
                raise ValueError(f"job for {region} given a Bedrock client for {where}")
            clients[region] = client
        else:
            import boto3

            clients[region] = (
                boto3.client("bedrock", region_name=region) if region else boto3.client("bedrock")
            )
    existing: dict[str | None, dict[str, str]] = {
        region: existing_job_arns(
            c, [r["jobName"] for r, rg in zip(requests, regions, strict=True) if rg == region]
        )
        for region, c in clients.items()
    }
    for i, (req, region) in enumerate(zip(requests, regions, strict=True)):
        client = clients[region]
        if req["jobName"] in existing[region]:
            arn = existing[region][req["jobName"]]
            rows.append(
                {"jobName": req["jobName"], "region": region, "action": "exists", "jobArn": arn}
            )
            continue
        if before_create is not None:
            before_create(i)
        arn = client.create_model_invocation_job(**req)["jobArn"]
        rows.append(
            {"jobName": req["jobName"], "region": region, "action": "created", "jobArn": arn}
        )
    return pd.DataFrame(rows, columns=columns)


def upload_job(s3_client: Any, job: ExportedJob) -> list[str]:
    """Upload a job's input files to the s3 URI its request reads (same key, same bytes).

    Each file is streamed from disk in one PUT (an input file is at most 1 GB, a PUT takes
    5 GB), so AWS errors arrive as the ``ClientError`` they are.
    """
    uri = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
    bucket, _, key_prefix = uri.removeprefix("s3://").partition("/")
    keys = []
    for path in job.files:
        key = f"{key_prefix.rstrip('/')}/{path.name}"
        with path.open("rb") as body:
            s3_client.put_object(Bucket=bucket, Key=key, Body=body)
        keys.append(f"s3://{bucket}/{key}")
    return keys


# --- CLI: `bedrock-finops batch-export` ------------------------------------------------------


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch-export",
        help="write ready batch inference jobs for the eligible segments (submit with --apply)",
        description=(
            "Score a run's segments for batch inference, write JSONL inputs and "
            "create_model_invocation_job requests for the eligible ones, and optionally upload "
            "and submit them (dry run unless --apply; jobs that already exist are skipped). "
            "An option not given takes the run's own setting (its manifest.json), else the "
            "02_batch_inference notebook's default (timeout 24 h, 100 to 50,000 records a job)."
        ),
    )
    p.add_argument(
        "--run",
        "--run-dir",
        dest="run_dir",
        default="",
        help="run folder with usage.parquet (empty: sample)",
    )
    p.add_argument("--out", required=True, help="local folder for the job files")
    p.add_argument("--role-arn", required=True, help="service role Bedrock assumes for the job")
    p.add_argument("--s3-prefix", required=True, help="s3://bucket/prefix the jobs read and write")
    # unset, each of these is the run's own setting (its manifest), so the export is the one
    # its 02_batch_inference notebook showed; else the notebook's default
    p.add_argument("--price-sheet", help="current, seed or a CSV path")
    p.add_argument("--price-overrides", help="CSV of your negotiated prices")
    p.add_argument("--discount-pct", type=float, help="flat negotiated discount, percent")
    p.add_argument("--force-in", nargs="*", help="apps or segment ids to include")
    p.add_argument("--force-out", nargs="*", help="apps or segment ids to exclude")
    p.add_argument("--timeout-hours", type=int, help="job timeout, 24-168")
    p.add_argument("--min-records", type=int, help="minimum records per job")
    p.add_argument("--max-records", type=int, help="records per job")
    p.add_argument("--max-file-records", type=int, help="records per input file")
    p.add_argument("--apply", action="store_true", help="upload the inputs and create the jobs")
    p.set_defaults(func=_cmd_export)


def placeholder_records(job_dir: Path) -> dict[Path, int]:
    """Each of a job's input files that still holds records with a placeholder user turn, and
    how many: submitted, the model would answer the placeholder. Read a line at a time (an
    input file can be 1 GB; a record is one line)."""
    needle = PLACEHOLDER_USER_TEXT.encode()
    found: dict[Path, int] = {}
    for path in sorted((job_dir / "input").glob("*.jsonl")):
        with path.open("rb") as fh:
            count = sum(needle in line for line in fh)
        if count:
            found[path] = count
    return found


def _records(n: int, verb: tuple[str, str] | None = None) -> str:
    """``"1 record holds"`` / ``"5 records hold"``: ``verb`` is (singular, plural)."""
    text = f"{n:,} record{'' if n == 1 else 's'}"
    return text if verb is None else f"{text} {verb[n != 1]}"


@dataclass
class PendingJob:
    """An exported job and, when it is held back from submission, why (``held``)."""

    name: str
    directory: Path
    request: dict[str, Any]
    region: str | None
    records: int
    min_records: int
    below_min_records: bool
    placeholders: dict[Path, int] = field(default_factory=dict)  # input file: records

    @property
    def held(self) -> str:
        """The table's action for a held job ("held: ..."), empty for a job to submit."""
        reasons = []
        if self.below_min_records:
            reasons.append(
                f"{_records(self.records)}, under the minimum of {self.min_records:,} a job"
            )
        if self.placeholders:
            n = sum(self.placeholders.values())
            reasons.append(f"{_records(n, ('holds', 'hold'))} a placeholder user turn")
        return f"held: {'; '.join(reasons)}" if reasons else ""


def pending_jobs(jobs: pd.DataFrame, min_records: int) -> list[PendingJob]:
    """The exported jobs (``export_jobs``'s table), each with its request and what holds it
    back: under the minimum records a job (Bedrock would reject it), or a placeholder user
    turn in its input files (the model would answer the placeholder)."""
    out = []
    for job in jobs.itertuples(index=False):
        directory = Path(job.directory)
        out.append(
            PendingJob(
                name=job.job_name,
                directory=directory,
                request=json.loads((directory / "request.json").read_text()),
                region=job.region,
                records=int(job.records),
                min_records=min_records,
                below_min_records=bool(job.below_min_records),
                placeholders=placeholder_records(directory),
            )
        )
    return out


def submission_table(pending: Sequence[PendingJob], submitted: pd.DataFrame) -> pd.DataFrame:
    """One row per exported job: jobName, region, records, action, jobArn. ``submitted`` is
    ``submit_jobs``'s table for the jobs not held, in the same order; a held job's action
    says why it is held."""
    done = iter(submitted.to_dict("records"))
    rows = []
    for job in pending:
        if job.held:
            action, arn = job.held, ""
        else:
            row = next(done)
            if row["jobName"] != job.name:
                raise ValueError(f"submitted {row['jobName']!r} where {job.name!r} was expected")
            action, arn = row["action"], row["jobArn"] or ""
        rows.append(
            {
                "jobName": job.name,
                "region": job.region,
                "records": job.records,
                "action": action,
                "jobArn": arn,
            }
        )
    return pd.DataFrame(rows, columns=["jobName", "region", "records", "action", "jobArn"])


def held_lines(job: PendingJob) -> list[str]:
    """Why a held job is not submitted, and how to get it submitted."""
    lines = []
    if job.below_min_records:
        lines.append(
            f"{job.name}: not submitted: {_records(job.records)}, under the minimum of "
            f"{job.min_records:,} a job (Bedrock rejects a smaller job). Export a longer period, "
            "or pass --min-records if your account's quota is lower"
        )
    if job.placeholders:
        n = sum(job.placeholders.values())
        lines.append(
            f"{job.name}: not submitted: {_records(n, ('holds', 'hold'))} the placeholder "
            f"{PLACEHOLDER_USER_TEXT!r} where the user turn was not logged, in:"
        )
        for path, count in job.placeholders.items():
            lines.append(f"  {path} ({_records(count)})")
        lines.append(
            "  re-ingest the logs with fetch_large_bodies and export again; or write the turns "
            "into those files in place of the placeholder, upload them and submit the job's "
            "request.json yourself (batch-export writes its files anew on each run)"
        )
    return lines


def _no_jobs_sentence(bp: Any) -> str:
    """Why an export wrote no job."""
    if bp.eligible.empty:
        return (
            "no job written: no segment of this run is eligible for batch inference (none "
            f"scores {bp.params['threshold']:g} or more without a blocker, and none is named "
            "by --force-in); the run's 02_batch_inference notebook shows each one's score"
        )
    if bp.moved.empty:
        return (
            f"no job written: the {len(bp.eligible):,} eligible segments stay on demand, as "
            "their prompt caching saves more than batch would (see the run's "
            "02_batch_inference notebook)"
        )
    return "no job written: the moved segments' requests fall in no batch job"


def _cost_line(bp: Any, catalog: Any) -> str:
    """What the exported requests cost on demand and would cost in batch, with the prices:
    the sheet, the overrides file when one replaces some of its rows, and the discount."""
    rows = bp.rows
    as_of = catalog.as_of.date() if catalog.as_of is not None else "undated"
    overrides = f" and the overrides in {catalog.overrides}" if catalog.overrides else ""
    return (
        f"the {len(rows):,} requests moved cost ${rows['current_usd'].sum():,.2f} on demand "
        f"over the logged {bp.period.get('days', '?')} days; in batch "
        f"${rows['batch_usd'].sum():,.2f} (saving ${rows['savings_usd'].sum():,.2f}), priced "
        f"with the sheet {catalog.sheet_name!r}{overrides} (as of {as_of}, discount "
        f"{catalog.discount_pct:g}%)"
    )


def _cadence_lines(bp: Any) -> list[str]:
    """The jobs written hold the logged period's requests; each segment's own cadence says how
    often to submit its traffic from now on."""
    from bedrock_finops.strategies.batch_findings import job_cadence

    window = bp.params["job_window_days"]
    lines = [
        "these jobs hold the logged period's requests (to test the move on real traffic); "
        "from now on, submit each segment's requests as a job:"
    ]
    for seg in bp.moved.itertuples():
        lines.append(f"  {seg.app} ({seg.segment}): {job_cadence(seg.days_per_job, window)}")
    return lines


# the notebook's parameters the export follows, and the flag that overrides each
_RUN_SETTINGS = {
    "price_sheet": "price_sheet",
    "price_overrides": "price_overrides",
    "discount_pct": "discount_pct",
    "threshold": None,
    "window_hours": None,
    "business_hours": None,
    "business_time_zone": None,
    "job_window_days": None,
    "min_records_per_job": "min_records",
    "max_records_per_job": "max_records",
    "max_records_per_file": "max_file_records",
    "force_in": "force_in",
    "force_out": "force_out",
    "timeout_hours": "timeout_hours",
}
_NOTEBOOK_DEFAULTS = {
    "price_sheet": "current",
    "price_overrides": "",
    "discount_pct": 0.0,
    "threshold": 0.6,
    "window_hours": 4,
    "business_hours": [8, 18],
    "business_time_zone": "UTC",
    "job_window_days": 1,
    "min_records_per_job": 100,
    "max_records_per_job": 50_000,
    "max_records_per_file": 50_000,
    "force_in": [],
    "force_out": [],
    "timeout_hours": 24,
}


def export_settings(run_dir: Path, flags: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The settings a CLI export uses, and where they came from: the run's own (the
    ``common`` and ``02_batch_inference`` params in its ``manifest.json``), else the
    notebook's defaults; a flag given on the command line wins over both."""
    settings = dict(_NOTEBOOK_DEFAULTS)
    origin = "the notebook's defaults (no manifest.json in the run)"
    manifest = run_dir / "manifest.json"
    if manifest.is_file():
        params = json.loads(manifest.read_text()).get("params") or {}
        for section in ("common", "02_batch_inference"):
            own = dict(params.get(section) or {})
            if "business_hours_utc" in own:  # a run made before business_time_zone existed
                own["business_hours"] = own.pop("business_hours_utc")
                own["business_time_zone"] = "UTC"
            settings.update({k: v for k, v in own.items() if k in settings})
        origin = f"the run's own ({manifest})"
    for name, flag in _RUN_SETTINGS.items():
        if flag is not None and flags.get(flag) is not None:
            settings[name] = flags[flag]
    return settings, origin


class BatchExportError(ValueError):
    """A ``batch-export`` input that cannot work: the message names the flag (or the run's
    setting) and the fix. Raised before any job file is written."""


def _named(name: str, value: Any, flags: dict[str, Any]) -> str:
    """How an error names a setting: the flag as given, else the run's own setting."""
    flag = "--" + str(_RUN_SETTINGS[name]).replace("_", "-")
    if flags.get(str(_RUN_SETTINGS[name])) is not None:
        return f"{flag} {value}"
    return f"the run's {name} {value!r} (its manifest.json; {flag} overrides it)"


def check_export_inputs(
    *, out: Path, role_arn: str, s3_prefix: str, settings: dict[str, Any], flags: dict[str, Any]
) -> BatchQuotas:
    """Check what ``batch-export`` was given before it reads the run or writes a job file
    (the job request checks the same, but only once the inputs are written); returns the
    per-job quotas. Raises :class:`BatchExportError`."""
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise BatchExportError(f"--out {out}: {existing} is a file; give a folder for the jobs")
    try:
        check_role_arn(role_arn, "--role-arn")
        check_s3_prefix(s3_prefix, "--s3-prefix")
        check_timeout_hours(
            settings["timeout_hours"], _named("timeout_hours", settings["timeout_hours"], flags)
        )
    except ValueError as exc:
        raise BatchExportError(str(exc)) from None
    try:
        return job_quotas(settings, lambda key: _named(key, settings[key], flags))
    except ValueError as exc:
        raise BatchExportError(str(exc)) from None


def _check_aws_credentials() -> None:
    """``--apply`` uploads and submits: without credentials, say so before writing the jobs."""
    import boto3
    from botocore.exceptions import NoCredentialsError

    if boto3.session.Session().get_credentials() is None:
        raise NoCredentialsError()


def _cmd_export(args: Any) -> int:
    from bedrock_finops.notebook import default_sample_run, open_run, sample_run_path
    from bedrock_finops.strategies import batch_inference as bi

    # the settings and flags are checked before the run is read (or the sample built)
    s, origin = export_settings(Path(args.run_dir or sample_run_path()), vars(args))
    quotas = check_export_inputs(
        out=Path(args.out),
        role_arn=args.role_arn,
        s3_prefix=args.s3_prefix,
        settings=s,
        flags=vars(args),
    )
    if args.apply:
        _check_aws_credentials()
    run_dir = Path(args.run_dir) if args.run_dir else default_sample_run()
    print(f"settings: {origin}, flags over them")
    try:
        # the user turns are read from usage.parquet where needed, not held (~3 GB a month)
        ctx = open_run(
            run_dir,
            price_sheet=s["price_sheet"],
            price_overrides=s["price_overrides"],
            discount_pct=s["discount_pct"],
            user_text=False,
        )
        bp = bi.plan(
            ctx.usage,
            ctx.catalog,
            prompts=ctx.prompts,
            priced=ctx.priced,
            threshold=s["threshold"],
            window_hours=s["window_hours"],
            business_hours=s["business_hours"],
            business_time_zone=s["business_time_zone"],
            job_window_days=s["job_window_days"],
            min_records_per_job=quotas.min_records_per_job,
            force_in=s["force_in"],
            force_out=s["force_out"],
            user_text=ctx.user_text_column,
        )
    except ValueError as exc:  # the run's settings or a flag: the price sheet, force_in, ...
        raise BatchExportError(str(exc)) from exc
    jobs = bi.export_jobs(
        bp,
        ctx.usage,
        ctx.prompts,
        args.out,
        role_arn=args.role_arn,
        s3_prefix=args.s3_prefix,
        quotas=quotas,
        timeout_hours=int(s["timeout_hours"]),
        user_text=ctx.user_text_column,
    )
    if jobs.empty:
        print(_no_jobs_sentence(bp))
        return 0
    print(
        jobs[["job_name", "region", "records", "files", "bytes", "below_min_records"]].to_string()
    )
    print(_cost_line(bp, ctx.catalog))
    for line in _cadence_lines(bp):
        print(line)
    pending = pending_jobs(jobs, quotas.min_records_per_job)
    ready = [job for job in pending if not job.held]
    upload = None
    if args.apply:
        import boto3

        s3 = boto3.client("s3")

        def upload(i: int) -> None:  # only for a job about to be created
            job = ready[i]
            files = sorted((job.directory / "input").glob("*.jsonl"))
            upload_job(
                s3,
                ExportedJob(job.name, job.directory, files, 0, 0, False, job.request, job.region),
            )

    result = submit_jobs(
        [job.request for job in ready],
        apply=args.apply,
        regions=[job.region for job in ready],
        before_create=upload,
    )
    print(submission_table(pending, result).to_string(index=False))
    held = [job for job in pending if job.held]
    for job in held:
        for line in held_lines(job):
            print(line)
    if not args.apply:
        note = f"; {len(held)} of {len(pending)} jobs held back (above)" if held else ""
        print(f"dry run: nothing uploaded or submitted (add --apply){note}")
        return 0
    if held:
        names = ", ".join(job.name for job in held)
        print(
            f"{len(held)} of {len(pending)} jobs not submitted ({names}): see above for why "
            "and how to submit them",
            file=sys.stderr,
        )
        return 1
    return 0
