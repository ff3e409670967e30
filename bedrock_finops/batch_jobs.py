"""Batch inference jobs: quota-aware splitting, the job request and the export.

The ``bedrock-finops batch-export`` command is ``batch_export_cli``; submitting the exported
jobs (looking them up, uploading their inputs, creating them) is ``batch_submit``.

The records themselves (one JSONL line per request: ``recordId`` and the ``modelInput`` body,
rebuilt from the usage table and ``prompts.parquet``) are built in ``batch_records``.

Splitting follows the quotas AWS sets per model and account (look them up in Service Quotas,
service "Amazon Bedrock"; the defaults here are the commonly seen values, not guarantees).
The job name and ``clientRequestToken`` are derived from the job's work (its records' request
IDs and bodies, model ID and record form: ``work_digest``), so submitting is idempotent
(``batch_submit``); ``job.json`` lists the names earlier versions gave the same job."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from bedrock_finops.batch_records import (
    RECORD_DIGEST_SIZE,
    SegmentRecords,
    earlier_record_id,
    line_with_record_id,
    new_spool,
)
from bedrock_finops.sources.own_output import BATCH_JOB_KIND, mark

MIN_TIMEOUT_HOURS, MAX_TIMEOUT_HOURS = 24, 168
# the patterns of create_model_invocation_job's jobName and clientRequestToken (botocore's
# bedrock service model): a token takes no '.' or '+', which a job name may hold
JOB_NAME_PATTERN = r"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}"
TOKEN_PATTERN = r"[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}"
JOB_NAME_MAX, TOKEN_MAX = 63, 256
_JOB_NAME_RE = re.compile(JOB_NAME_PATTERN)
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_TOKEN_DIGEST_LENGTH = 12
_NAME_DIGEST_LENGTH = 12  # hex digits of the digest a job's name ends in
# a job's input files, as _write_jobs names them: the only files of a job's input folder (and
# of its S3 input location) this tool removes when they are not the export's own
PART_FILE_RE = re.compile(r"part-[0-9]{4,}\.jsonl")
_ROLE_ARN_RE = re.compile(r"^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$")
# the s3Uri pattern create_model_invocation_job accepts: a bucket name, then key parts
_S3_BUCKET_RE = re.compile(r"^[a-z0-9][-.a-z0-9]{1,61}[a-z0-9]$")
_S3_URI_RE = re.compile(r"^s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](/[-!_*'().a-zA-Z0-9]+)*/?$")
_S3_URI_MAX = 1024
# a job's tags, as the Tag shape of botocore's bedrock service model takes them: keys of 1-128
# and values of up to 256 letters, digits, whitespace and ._:/=+@- (\s read as ASCII
# whitespace, the narrower reading); at most 200 tags
TAG_PATTERN = r"[a-zA-Z0-9\s._:/=+@-]*"
TAG_KEY_MAX, TAG_VALUE_MAX, TAGS_MAX = 128, 256, 200
_TAG_RE = re.compile(TAG_PATTERN, re.ASCII)
_NOT_TAG_TEXT_RE = re.compile(r"[^a-zA-Z0-9 ._:/=+@-]+")
_TAG_DIGEST_LENGTH = 10
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
        counts[name] = whole_number(values[name])
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
    name = f"{clean[: JOB_NAME_MAX - len(digest) - 1]}-{digest}"
    if not _JOB_NAME_RE.fullmatch(name):
        raise ValueError(f"cannot build a valid job name from {prefix!r}")
    return name


def attempt_name(name: str, attempt: int) -> str:
    """The name job ``name`` is submitted under the ``attempt``-th time: ``name`` itself,
    then ``<name>-r2``, ``-r3``, ... (a job of the same name cannot be created twice). Where
    that passes 63 characters, the readable part before the name's last ``-`` is cut and the
    digest after it kept."""
    if attempt == 1:
        return name
    if attempt < 1:
        raise ValueError(f"attempt {attempt} is not a submission's number (1, 2, ...)")
    suffix = f"-r{attempt}"
    if len(name) + len(suffix) <= JOB_NAME_MAX:
        return name + suffix
    head, _, digest = name.rpartition("-")
    if not head:
        return name[: JOB_NAME_MAX - len(suffix)] + suffix
    keep = max(1, JOB_NAME_MAX - len(suffix) - len(digest) - 1)
    return f"{head[:keep].rstrip('-')}-{digest}"[: JOB_NAME_MAX - len(suffix)] + suffix


def name_stem(name: str) -> str:
    """The start the names of job ``name``'s group share: the group before the digest a name
    ends in (the same for every digest, an earlier version's included), cut where
    ``attempt_name`` cuts it for a 99th attempt, so it starts every attempt's name too."""
    head, _, digest = name.rpartition("-")
    if not head:
        return name
    keep = max(1, JOB_NAME_MAX - len("-r99") - len(digest) - 1)
    return head[:keep].rstrip("-") or head[:keep]


def request_token(name: str) -> str:
    """The ``clientRequestToken`` for job ``name``: the name itself when the token's pattern
    takes it (every name ``job_name`` makes), else the name's runs of letters and digits and
    a digest of the whole name, so that two names never share a token."""
    if len(name) <= TOKEN_MAX and _TOKEN_RE.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_TOKEN_DIGEST_LENGTH]
    readable = "-".join(re.findall(r"[a-zA-Z0-9]+", name))
    return f"{readable[: TOKEN_MAX - len(digest) - 1]}-{digest}" if readable else digest


def tag_value(text: str) -> str:
    """``text`` as a tag value Bedrock takes: itself when it fits, else a readable form (accents
    dropped, each run of other characters an ``_``, cut to fit) and ``@`` and a digest of
    ``text``, so two texts that read alike stay two values, the same on every export."""
    if len(text) <= TAG_VALUE_MAX and _TAG_RE.fullmatch(text):
        return text
    unaccented = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )
    readable = _NOT_TAG_TEXT_RE.sub("_", unaccented)
    digest = hashlib.sha256(text.encode()).hexdigest()[:_TAG_DIGEST_LENGTH]
    return f"{readable[: TAG_VALUE_MAX - _TAG_DIGEST_LENGTH - 1]}@{digest}"


def check_tags(tags: dict[str, str]) -> None:
    """Raise ValueError unless Bedrock takes these job tags (see :data:`TAG_PATTERN`): it
    refuses the whole request otherwise, once the inputs are uploaded."""
    if len(tags) > TAGS_MAX:
        raise ValueError(f"{len(tags)} tags: a batch job takes at most {TAGS_MAX}")
    for key, value in tags.items():
        for part, text, low, high in (
            ("key", key, 1, TAG_KEY_MAX),
            ("value", value, 0, TAG_VALUE_MAX),
        ):
            if not low <= len(text) <= high or not _TAG_RE.fullmatch(text):
                raise ValueError(
                    f"tag {part} {text!r} is not one Bedrock takes: {low}-{high} letters, "
                    "digits, spaces and ._:/=+@- (batch_jobs.tag_value makes a value fit)"
                )


def check_role_arn(role_arn: str, named: str | None = None) -> None:
    """The service role a job runs as: an IAM role ARN. ``named``: how errors name it, with
    its value (``role_arn 'x'``, ``--role-arn x (command line)``)."""
    if not _ROLE_ARN_RE.match(role_arn or ""):
        raise ValueError(
            f"{named or f'role_arn {role_arn!r}'} is not an IAM role ARN: give the service role "
            "Bedrock assumes to read the inputs and write the outputs, "
            "arn:aws:iam::<account>:role/<name>"
        )


def check_s3_location(uri: str, name: str = "S3 location", named: str | None = None) -> None:
    """An S3 location a batch job accepts: the pattern and length of
    ``create_model_invocation_job``'s ``s3Uri``. Errors name it as ``named``, with its value
    (by default ``name`` and the value), or as ``name`` alone for its length."""
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
            f"{named or f'{name} {uri!r}'} is not an s3:// location: give "
            f"s3://<bucket>/<prefix>{hint}"
        )
    if len(uri) > _S3_URI_MAX:
        raise ValueError(f"{name} is {len(uri):,} characters: Bedrock takes {_S3_URI_MAX:,}")


def check_s3_prefix(prefix: str, name: str = "s3_prefix", named: str | None = None) -> None:
    """Where the job folders go: an S3 location with room for ``<job name>/output/``
    (``name`` and ``named`` as :func:`check_s3_location`'s)."""
    check_s3_location(prefix, name, named)
    # each job reads <prefix>/<job name, up to 63>/input/ and writes .../output/
    if len(prefix.rstrip("/")) + 1 + 63 + len("/output/") > _S3_URI_MAX:
        raise ValueError(
            f"{name} is {len(prefix):,} characters: a job's S3 location would pass "
            f"Bedrock's {_S3_URI_MAX:,}; give a shorter prefix"
        )


def check_timeout_hours(timeout_hours: Any, named: str | None = None) -> None:
    """``timeoutDurationInHours``: a whole number of hours in the range Bedrock accepts."""
    hours = whole_number(timeout_hours)
    if hours is None or not MIN_TIMEOUT_HOURS <= hours <= MAX_TIMEOUT_HOURS:
        raise ValueError(
            f"{named or f'timeout_hours {timeout_hours!r}'} is not a job timeout: Bedrock takes "
            f"{MIN_TIMEOUT_HOURS} to {MAX_TIMEOUT_HOURS} hours"
        )


def whole_number(value: Any) -> int | None:
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
    """Keyword arguments for ``bedrock.create_model_invocation_job``, validated. The
    ``clientRequestToken`` is ``request_token(name)`` unless one is given."""
    if not _JOB_NAME_RE.fullmatch(name) or len(name) > JOB_NAME_MAX:
        raise ValueError(f"job name {name!r} is not valid: [a-zA-Z0-9-+.], 1-63 characters")
    token = client_request_token or request_token(name)
    if not _TOKEN_RE.fullmatch(token) or len(token) > TOKEN_MAX:
        raise ValueError(
            f"client request token {token!r} is not valid: letters and digits, runs of them "
            "joined by -, 1-256 characters"
        )
    check_role_arn(role_arn)
    for label, uri in (("input", input_s3_uri), ("output", output_s3_uri)):
        check_s3_location(uri, f"the job's {label} location")
    check_timeout_hours(timeout_hours)
    if style not in ("InvokeModel", "Converse"):
        raise ValueError(f"modelInvocationType must be InvokeModel or Converse, got {style!r}")
    request: dict[str, Any] = {
        "jobName": name,
        "roleArn": role_arn,
        "clientRequestToken": token,
        "modelId": model_id,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_s3_uri, "s3InputFormat": "JSONL"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_s3_uri}},
        "timeoutDurationInHours": int(timeout_hours),
        "modelInvocationType": style,
    }
    if tags:
        check_tags(tags)
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
    earlier_names: list[str] = field(default_factory=list)  # as earlier versions named it


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
    """Write one segment's jobs: ``<out>/<job>/input/part-NNNN.jsonl``, ``request.json``,
    ``records.csv`` and ``job.json`` (this tool's mark, the Region to submit in, the model ID,
    the record count, the input files, and ``earlierNames``: the names earlier versions gave
    the same job, under which ``batch_submit`` finds it too).

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
    digests = records.record_digests()
    exported = []
    with spool.open("rb") as src:
        for plan in plans:
            indexes = [i for f in plan.files for i in f]
            lines = range(indexes[0], indexes[-1] + 1)
            work = digests[lines.start * RECORD_DIGEST_SIZE : lines.stop * RECORD_DIGEST_SIZE]
            name = job_name(segment, work_digest(model_id, records.style, work))
            earlier = line_digests(src, starts, lines, records, model_id)
            earlier_names = [
                n for n in dict.fromkeys(job_name(segment, d) for d in earlier) if n != name
            ]
            job_dir = out_dir / name
            (job_dir / "input").mkdir(parents=True, exist_ok=True)
            paths = []
            for n, file_idx in enumerate(plan.files, start=1):
                path = job_dir / "input" / part_file_name(n)
                with path.open("wb") as dst:
                    _copy_range(src, starts[file_idx[0]], starts[file_idx[-1] + 1], dst.write)
                paths.append(path)
            remove_stale_parts(job_dir / "input", {path.name for path in paths})
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
                tags=tags,
            )
            (job_dir / "request.json").write_text(
                json.dumps(request, indent=2) + "\n", encoding="utf-8"
            )
            spec = {
                **mark(BATCH_JOB_KIND),  # first: an ingest does not read the folder as logs
                "jobName": name,
                "region": region,
                "modelId": model_id,
                "records": plan.records,
                "inputFiles": [path.name for path in paths],  # the files the job reads
                # a job found in Bedrock under one of these is this job (batch_submit)
                "earlierNames": earlier_names,
            }
            (job_dir / "job.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
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
                    earlier_names,
                )
            )
    return exported


def work_digest(model_id: str, style: str, record_digests: bytes) -> str:
    """The digest a job's name ends in: a SHA-256 of what identifies its work, its model ID
    and record form and each record's ``batch_records.record_digest`` (request ID and
    ``modelInput``), in order. Not of the records' recordIds, which a version may spell
    otherwise, nor of how they are split into files: the same work keeps its name."""
    sha = hashlib.sha256(json.dumps([model_id, style]).encode() + b"\n")
    sha.update(record_digests)
    return sha.hexdigest()[:_NAME_DIGEST_LENGTH]


def line_digests(
    src: BinaryIO, starts: Sequence[int], lines: range, records: SegmentRecords, model_id: str
) -> list[str]:
    """The digests earlier versions ended a job's name in: a SHA-256 of its JSONL ``lines``
    (of the spool ``src``, line ``i`` at ``starts[i]``) and ``|model ID|record form``, over
    the lines as written (recordIds of 11 letters and digits), then over them with the
    recordIds of 10 hex digits the versions before gave (``batch_records.earlier_record_id``).
    """
    as_written, hex_ids = hashlib.sha256(), hashlib.sha256()
    src.seek(starts[lines.start])
    for i in lines:
        line = src.read(starts[i + 1] - starts[i])
        as_written.update(line)
        hex_ids.update(line_with_record_id(line, earlier_record_id(records.request_ids[i])))
    tail = f"|{model_id}|{records.style}".encode()
    for sha in (as_written, hex_ids):
        sha.update(tail)
    return [sha.hexdigest()[:_NAME_DIGEST_LENGTH] for sha in (as_written, hex_ids)]


def part_file_name(n: int) -> str:
    """The name of a job's ``n``-th input file (from 1)."""
    return f"part-{n:04d}.jsonl"


def remove_stale_parts(input_dir: Path, keep: set[str]) -> list[Path]:
    """Remove the input files an earlier export of this job left in ``input_dir`` (named as
    ``part_file_name`` names them, not in ``keep``): the same records split another way, which
    the job would read twice. Other files are the user's and stay (they are not uploaded)."""
    stale = sorted(
        path
        for path in input_dir.iterdir()
        if path.is_file() and PART_FILE_RE.fullmatch(path.name) and path.name not in keep
    )
    for path in stale:
        path.unlink()
    return stale


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
