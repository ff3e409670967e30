"""What ``batch-export`` does with the jobs it exported: which are held back and why, looking
the others up in Bedrock, looking at their S3 input locations, refusing those whose requests
jobs submitted before hold (``batch_overlap``), uploading and creating them with ``--apply``
(``batch_submit``), and what it says of each, on a dry run or a stop part way."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bedrock_finops.batch_jobs import ExportedJob
from bedrock_finops.batch_overlap import Overlaps, job_request_ids, put_request_list
from bedrock_finops.batch_records import PLACEHOLDER_USER_TEXT, record_user_text
from bedrock_finops.batch_submit import (
    FOREIGN_FIX,
    MAYBE_CREATED,
    NOT_ENDED_STATUSES,
    BatchSubmitError,
    InputLocation,
    bedrock_clients,
    billed_again,
    create_jobs,
    foreign_objects_error,
    input_location,
    look_up_jobs,
    request_for_attempt,
    upload_job,
)
from bedrock_finops.media_blocks import (
    MEDIA_KINDS,
    MEDIA_MARK,
    PLACEHOLDER_RE,
    any_media,
    media_sent_by_row,
)


def counted(n: int, noun: str) -> str:
    """``"1 job"`` / ``"3 jobs"``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@dataclass
class Placeholders:
    """The records of a job's input files that hold, as text, what stood for something the
    request sent, counted per file: submitted, the model would answer that text. ``user_text``:
    a user turn that was not logged (:data:`PLACEHOLDER_USER_TEXT`); ``media``: images or
    documents sent inline, which the usage table keeps as placeholders (``[[media image png
    ...]]``), never their bytes, with the kinds found and one placeholder as it is written;
    ``referenced``: media sent by reference (an S3 location, a URL), which the usage table
    keeps as the block's JSON, with the kinds found."""

    user_text: dict[Path, int] = field(default_factory=dict)
    media: dict[Path, int] = field(default_factory=dict)
    media_kinds: set[str] = field(default_factory=set)
    media_example: str = ""
    referenced: dict[Path, int] = field(default_factory=dict)
    referenced_kinds: set[str] = field(default_factory=set)


# a media placeholder as a record's JSON line holds it: JSON escapes none of its marks
_MEDIA_MARK = MEDIA_MARK.encode()
_MEDIA_RE = re.compile(PLACEHOLDER_RE.pattern.encode())
# a JSON object inside a record's text, as its line holds it (a block sent by reference is one)
_JSON_IN_TEXT = b'{\\"'
TURNS_PER_SEARCH = 4096  # user turns searched for media sent by reference at a time


def placeholder_records(files: Sequence[Path]) -> Placeholders:
    """What placeholders a job's input files still hold (see :class:`Placeholders`), once a
    record however many it holds. Read a line at a time (an input file can be 1 GB; a record
    is one line); the user turn of a record whose text holds a JSON object is read back
    (``batch_records.record_user_text``) and searched as ``user_text`` is
    (``media_blocks.media_sent_by_row``), a few thousand at a time."""
    needle = PLACEHOLDER_USER_TEXT.encode()
    found = Placeholders()
    for path in files:
        unlogged = media = referenced = 0
        turns: list[str] = []  # user turns holding a JSON object, not searched yet
        with path.open("rb") as fh:
            for line in fh:
                unlogged += needle in line
                media += _media_in(line, found)
                if _JSON_IN_TEXT in line and (turn := _user_turn(line)) is not None:
                    turns.append(turn)
                    if len(turns) == TURNS_PER_SEARCH:
                        referenced += _referenced_in(turns, found)
                        turns.clear()
        referenced += _referenced_in(turns, found)
        if unlogged:
            found.user_text[path] = unlogged
        if media:
            found.media[path] = media
        if referenced:
            found.referenced[path] = referenced
    return found


def _user_turn(line: bytes) -> str | None:
    """The user turn a record's line sends, as text (None for a line that is no record)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record_user_text(record.get("modelInput")) if isinstance(record, dict) else None


def _referenced_in(turns: list[str], found: Placeholders) -> int:
    """How many of ``turns`` hold a media block sent by reference, as its JSON; the kinds are
    noted in ``found``."""
    if not turns:
        return 0
    kinds = media_sent_by_row(pd.Series(turns, dtype=object), inline=False)
    found.referenced_kinds.update(kind for kind, rows in kinds.items() if rows.any())
    return int(any_media(kinds).sum())


def _media_in(line: bytes, found: Placeholders) -> bool:
    """Whether a record's line holds a media placeholder; its kinds (and the first one seen)
    are noted in ``found``."""
    if _MEDIA_MARK not in line:  # most records: no media, no regex
        return False
    matches = [m.group(0).decode("utf-8", "replace") for m in _MEDIA_RE.finditer(line)]
    for text in matches:
        found.media_kinds.add(text.split(" ")[1])  # "[[media image png ...]]": image
    if matches and not found.media_example:
        found.media_example = matches[0]
    return bool(matches)


def media_names(kinds: set[str]) -> str:
    """``"images"``, ``"images and documents"``: the kinds of media found, named."""
    plural = {"image": "images", "document": "documents", "video": "videos", "audio": "audio"}
    names = [plural[k] for k in MEDIA_KINDS if k in kinds] or ["media"]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


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
    files: list[Path] = field(default_factory=list)  # the input files the export wrote
    placeholders: Placeholders = field(default_factory=Placeholders)  # what its files hold
    earlier_names: list[str] = field(default_factory=list)  # as earlier versions named it

    @property
    def held(self) -> str:
        """The table's action for a held job ("held: ..."), empty for a job to submit."""
        reasons = []
        if self.below_min_records:
            reasons.append(
                f"{_records(self.records)}, under the minimum of {self.min_records:,} a job"
            )
        if self.placeholders.user_text:
            n = sum(self.placeholders.user_text.values())
            reasons.append(f"{_records(n, ('holds', 'hold'))} a placeholder user turn")
        if self.placeholders.media:
            n = sum(self.placeholders.media.values())
            names = media_names(self.placeholders.media_kinds)
            reasons.append(f"{_records(n, ('holds', 'hold'))} a placeholder for inline {names}")
        if self.placeholders.referenced:
            n = sum(self.placeholders.referenced.values())
            names = media_names(self.placeholders.referenced_kinds)
            held = _records(n, ("holds", "hold"))
            reasons.append(f"{held} the JSON of {names} sent by reference")
        return f"held: {'; '.join(reasons)}" if reasons else ""


def pending_jobs(jobs: pd.DataFrame, min_records: int) -> list[PendingJob]:
    """The exported jobs (``export_jobs``'s table), each with its request and what holds it
    back: under the minimum records a job (Bedrock would reject it), or, in its input files,
    a placeholder for a user turn not logged or for images or documents sent inline, or the
    JSON of media sent by reference (the model would answer that text)."""
    out = []
    for job in jobs.itertuples(index=False):
        directory = Path(job.directory)
        spec = json.loads((directory / "job.json").read_text(encoding="utf-8"))
        files = [directory / "input" / name for name in spec["inputFiles"]]
        out.append(
            PendingJob(
                name=job.job_name,
                directory=directory,
                request=json.loads((directory / "request.json").read_text(encoding="utf-8")),
                region=job.region,
                records=int(job.records),
                min_records=min_records,
                below_min_records=bool(job.below_min_records),
                files=files,
                placeholders=placeholder_records(files),
                earlier_names=list(spec.get("earlierNames", [])),
            )
        )
    return out


TABLE_COLUMNS = ["jobName", "region", "records", "status", "action", "jobArn"]
# after the action of a job found under a name an earlier version gave it (its jobName, or
# the name its resubmission is named after)
EARLIER_NAME = " (under an earlier version's name)"


def submission_table(
    pending: Sequence[PendingJob], submitted: Sequence[dict[str, Any]]
) -> pd.DataFrame:
    """One row per exported job: jobName (as submitted: a resubmission's own), region,
    records, status (Bedrock's; "-" where there is no job, "unchecked" where it was not
    asked), action, jobArn. ``submitted`` holds the rows (``batch_submit.SUBMISSION_COLUMNS``)
    of the jobs not held, in the same order, or of those settled so far (the rest then read
    ``not-created``); a held job's action says why it is held, and that of a job found under
    a name an earlier version gave it says so (:data:`EARLIER_NAME`)."""
    done = iter(submitted)
    rows = []
    for job in pending:
        row = {"jobName": job.name, "region": job.region, "records": job.records}
        if job.held:
            row.update(status="-", action=job.held, jobArn="")
            rows.append(row)
            continue
        settled = next(done, None)
        if settled is None:
            row.update(status="-", action="not-created", jobArn="")
        elif settled["job"] != job.name:
            raise ValueError(f"submitted {settled['job']!r} where {job.name!r} was expected")
        else:
            earlier = settled.get("found") not in (None, job.name)
            row.update(
                jobName=settled["jobName"],
                status=settled["status"],
                action=settled["action"] + (EARLIER_NAME if earlier else ""),
                jobArn=settled["jobArn"] or "",
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def held_lines(job: PendingJob) -> list[str]:
    """Why a held job is not submitted, and how to get it submitted."""
    lines = []
    if job.below_min_records:
        lines.append(
            f"{job.name}: not submitted: {_records(job.records)}, under the minimum of "
            f"{job.min_records:,} a job (Bedrock rejects a smaller job). Export a longer period, "
            "or pass --min-records if your account's quota is lower"
        )
    found = job.placeholders
    if found.user_text:
        n = sum(found.user_text.values())
        lines.append(
            f"{job.name}: not submitted: {_records(n, ('holds', 'hold'))} the placeholder "
            f"{PLACEHOLDER_USER_TEXT!r} where the user turn was not logged, in:"
        )
        for path, count in found.user_text.items():
            lines.append(f"  {path} ({_records(count)})")
        lines.append(
            "  re-ingest the logs with fetch_large_bodies and export again; or write the turns "
            "into those files in place of the placeholder, upload them and submit the job's "
            "request.json yourself (batch-export writes its files anew on each run)"
        )
    if found.media:
        n = sum(found.media.values())
        names = media_names(found.media_kinds)
        lines.append(
            f"{job.name}: not submitted: {_records(n, ('holds', 'hold'))} a placeholder such "
            f"as {found.media_example!r} in place of the {names} "
            f"{('its user turn', 'their user turns')[n != 1]} sent inline (the usage table "
            "keeps no media bytes; the model would answer the placeholder's text), in:"
        )
        for path, count in found.media.items():
            lines.append(f"  {path} ({_records(count)})")
        lines.append(_rebuild_with_media(names))
    if found.referenced:
        n = sum(found.referenced.values())
        names = media_names(found.referenced_kinds)
        lines.append(
            f"{job.name}: not submitted: {_records(n, ('holds', 'hold'))} as text the JSON of "
            f"the {names} {('its user turn', 'their user turns')[n != 1]} sent by reference "
            "(an S3 location or URL), not the media blocks (a record carries the user turn "
            "as text only; the model would answer the JSON), in:"
        )
        for path, count in found.referenced.items():
            lines.append(f"  {path} ({_records(count)})")
        lines.append(_rebuild_with_media(names))
    return lines


def _rebuild_with_media(names: str) -> str:
    """What to do with records whose user turn's media a record could not carry."""
    return (
        "  such requests stay on demand (the batch plan leaves them out of its jobs); or "
        f"rebuild those records with the {names} themselves, from your own copy of the "
        "requests, upload them and submit the job's request.json yourself"
    )


@dataclass
class JobLookup:
    """The ready jobs' submissions so far, as Bedrock lists them, and its clients."""

    clients: dict[str | None, Any]
    attempts: list[list[dict[str, Any]]] | None  # None: not looked up (a dry run that could not)
    unchecked: str = ""  # the line saying why not
    credentials: bool = True  # False: a dry run without AWS credentials, which asks nothing


def look_up(ready: Sequence[PendingJob], *, apply: bool) -> JobLookup:
    """Ask Bedrock (read only: ``ListModelInvocationJobs``) which of the ready jobs exist, under
    their names or those earlier versions gave them, and how they stand. ``--apply`` must
    know, and stops on an error (one naming the permission when access is denied); a dry run
    looks when it can, and says why not when it cannot (no credentials; no permission, which
    --apply needs; no network)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from bedrock_finops.sources.source_errors import SourceError

    requests, regions = [job.request for job in ready], [job.region for job in ready]
    earlier = [job.earlier_names for job in ready]
    if not ready:
        return JobLookup({}, [])
    if apply:
        clients = bedrock_clients(regions)
        return JobLookup(clients, look_up_jobs(requests, regions, clients, earlier))
    try:
        if boto3.session.Session().get_credentials() is None:
            not_asked = (
                "status unchecked: Bedrock was not asked which of these jobs exist (no AWS "
                "credentials); --apply asks first, and creates only those that do not"
            )
            return JobLookup({}, None, not_asked, credentials=False)
        clients = bedrock_clients(regions)
        return JobLookup(clients, look_up_jobs(requests, regions, clients, earlier))
    except (BotoCoreError, ClientError, BatchSubmitError, SourceError) as exc:
        return JobLookup({}, None, _lookup_failed_line(exc))


def _lookup_failed_line(exc: Exception) -> str:
    """What a dry run says when Bedrock was asked which jobs exist and did not say: refused
    (--apply needs the permission, and fails without it), or the error."""
    from botocore.exceptions import ClientError

    from bedrock_finops.batch_submit import ACCESS_DENIED_CODES

    cause = exc.__cause__ if isinstance(exc.__cause__, ClientError) else exc
    said = _error_said(cause)
    if getattr(cause, "response", {}).get("Error", {}).get("Code") in ACCESS_DENIED_CODES:
        return (
            f"status unchecked: Bedrock refused to say which of these jobs exist ({said}): "
            "--apply needs bedrock:ListModelInvocationJobs, and fails without it"
        )
    return (
        f"status unchecked: asking Bedrock which of these jobs exist failed ({said}); --apply "
        "asks first, and stops if that fails"
    )


def _error_said(exc: BaseException) -> str:
    """An AWS error in a few words: its code and message."""
    error = getattr(exc, "response", {}).get("Error", {})
    if error:
        return f"{error.get('Code')}: {error.get('Message')}"
    return f"{type(exc).__name__}: {exc}"


def upload_and_create(
    pending: Sequence[PendingJob],
    plan: Sequence[dict[str, Any]],
    clients: dict[str | None, Any],
    *,
    s3_client: Any = None,
    overlaps: Overlaps | None = None,
    split: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Upload the request list (``batch_overlap.put_request_list``, with the export's
    ``split``) and the inputs of each job ``plan`` creates, just before creating it
    (``upload_job``: its S3 input location then holds exactly its files). First every such
    location is looked at: when one holds an object that is not its job's, or a job's requests
    are held by a job submitted before (``overlaps``), no job is created (the table says which
    are refused, the lines and the error why). When an error or Ctrl-C stops this part way,
    print what was done (the jobs created, the S3 objects written) and what was not, then let
    the error go on. ``s3_client``: the S3 client to use (else one is made)."""
    import boto3

    ready = [job for job in pending if not job.held]
    overlaps = overlaps or Overlaps()
    s3: list[Any] = [s3_client] if s3_client is not None else []
    if any(step["request"] is not None for step in plan):
        if not s3:  # made for the first look at an input location
            s3.append(boto3.client("s3"))
        blocked = look_at_inputs(ready, plan, s3[0], strict=True).blocked
        if blocked or overlaps.held:
            rows = refused_rows(plan, blocked, apply=True, overlaps=overlaps)
            print(submission_table(pending, rows).to_string(index=False), flush=True)
            for line in overlaps.refused_lines(plan, apply=True):
                print(line, flush=True)
            raise refusal_error(plan, blocked, overlaps)
    writes: list[tuple[str, str, str]] = []  # (job name as submitted, uploaded|deleted, URI)
    log: list[dict[str, Any]] = []

    def upload(i: int, request: dict[str, Any]) -> None:
        job, name = ready[i], request["jobName"]
        # first: a job created without its request list could not be checked against
        listed = put_request_list(s3[0], request, job_request_ids(job.directory), split or {})
        wrote(name, "uploaded", listed)
        exported = ExportedJob(
            name, job.directory, job.files, job.records, 0, False, request, job.region
        )
        upload_job(s3[0], exported, lambda what, uri: wrote(name, what, uri))

    def wrote(name: str, what: str, uri: str) -> None:
        writes.append((name, what, uri))
        if what == "deleted":  # said as it happens: the table comes once every job is done
            print(f"{name}: deleted {uri}, an input file an earlier upload left (another split)")

    try:
        return create_jobs(plan, clients, before_create=upload, log=log)
    except BaseException:
        with contextlib.suppress(OSError):  # a closed stdout: the error still goes on
            for line in stopped_lines(pending, plan, log, writes):
                print(line, flush=True)
        raise


def stopped_lines(
    pending: Sequence[PendingJob],
    plan: Sequence[dict[str, Any]],
    log: Sequence[dict[str, Any]],
    writes: Sequence[tuple[str, str, str]],
) -> list[str]:
    """What ``--apply`` did before it stopped (``log``: the rows settled, a create that got
    no answer as ``MAYBE_CREATED``; ``writes``: the S3 objects written) and what it did not."""
    settled = list(log)
    maybe = [row for row in log if row["action"] == MAYBE_CREATED]
    if len(log) < len(plan) and not maybe:
        step = {k: v for k, v in plan[len(log)].items() if k != "request"}
        settled.append({**step, "action": "stopped-here", "status": "-", "jobArn": None})
    created = [row for row in log if row["action"] in ("created", "resubmitted")]
    to_create = [step for step in plan if step["request"] is not None]
    stopped_at = bool(settled) and settled[-1]["action"] in ("stopped-here", MAYBE_CREATED)
    where = f" at {settled[-1]['jobName']}" if stopped_at else ""
    unsure = f", {len(maybe):,} may have been created" if maybe else ""
    lines = [
        submission_table(pending, settled).to_string(index=False),
        f"stopped{where}: created {len(created):,} of the {len(to_create):,} jobs to create "
        f"(ARNs above){unsure}, {len(to_create) - len(created) - len(maybe):,} not created",
    ]
    lines += [maybe_created_line(row) for row in maybe]
    made = {row["jobName"] for row in created}
    unknown = {row["jobName"] for row in maybe}
    for name, what, uri in writes:
        job = "job created" if name in made else "job not created"
        lines.append(f"  {what} {uri} ({'job may have been created' if name in unknown else job})")
    lines.append(
        "once the cause (below) is fixed, run the same command again: a job created is found "
        "and not created twice; a job's S3 inputs are checked and uploaded again before it is"
    )
    return lines


def maybe_created_line(row: dict[str, Any]) -> str:
    """What to know of a job whose create was sent and got no answer: Bedrock may have made
    it, how to see whether it did, and that a run again does not make it twice."""
    name = row["jobName"]
    region = f" --region {row['region']}" if row.get("region") else ""
    return (
        f"{name}: may have been created: its create was sent and Bedrock did not answer; see "
        f"whether it was with `aws bedrock list-model-invocation-jobs --name-contains "
        f"{name}{region}`. A run again finds it; one not yet listed, Bedrock does not make twice "
        "(it ignores a create with the clientRequestToken it made the job for)"
    )


_UNFINISHED = {
    "Failed": ("failed", "fix the cause, then run again with --resubmit"),
    "Stopped": (
        "was stopped before it processed all of its records",
        "to run them after all, run again with --resubmit",
    ),
    "Expired": (
        "expired: it was scheduled but did not start within its timeout",
        "run again with --resubmit (and a longer --timeout-hours, at most 168, if the queue "
        "was long)",
    ),
    "PartiallyCompleted": (
        "ended with only part of its records processed",
        "to run the rest, run again with --resubmit",
    ),
}


def unfinished_lines(
    job: PendingJob, row: dict[str, Any], done: Sequence[dict[str, Any]]
) -> list[str]:
    """Why a job that did not process its records is not done (its last submission's status,
    ARN and message), and how to submit it anew (``--resubmit``: its next attempt's name, where
    its inputs go, and the records it bills a second time); for a job being stopped, to wait
    until it has stopped."""
    last = done[-1] if done else {}
    found = done[0]["jobName"] if done else job.name  # the name of its first submission
    status = row["status"]
    detail = f": {row['detail']}" if row["detail"] else ""
    if row["jobName"] != found:
        who = f"its resubmission {row['jobName']}"
    elif found != job.name:
        who = f"the job, under the name an earlier version gave it, {found}"
    else:
        who = "the job"
    if status in NOT_ENDED_STATUSES:
        why = "is being stopped: it will not process its remaining records"
        fix = (
            "wait until its status is Stopped, then run again: --resubmit does not submit a job "
            "anew while it is being stopped (it is billed for the records it has processed, and "
            "a new job would bill them again)"
        )
        return [f"{job.name}: not done: {who} ({row['jobArn']}) {why}{detail}", f"  {fix}"]
    nxt = request_for_attempt(job.request, len(done) + 1, found)
    reads = nxt["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
    why, then = _UNFINISHED.get(status, (f"is {status}", "run again with --resubmit"))
    fix = (
        f"{then}: it submits all {counted(job.records, 'record')} anew as {nxt['jobName']}, "
        f"reading {reads}"
    )
    again = billed_again(last)
    if again:
        output = last.get("outputDataConfig", {}).get("s3OutputDataConfig", {}).get("s3Uri", "")
        fix += (
            f", and {again}; to pay only for the rest, submit the records without a result in "
            f"{output or 'its output'} yourself"
        )
    return [f"{job.name}: not done: {who} ({row['jobArn']}) {why}{detail}", f"  {fix}"]


@dataclass
class InputsSeen:
    """The S3 input location of each job a plan creates, as looked at (by the plan row's
    index), and each one that could not be, with why."""

    locations: dict[int, InputLocation]
    unread: dict[int, str]

    @property
    def blocked(self) -> dict[int, InputLocation]:
        """The locations holding an object that is not their job's: --apply creates no job."""
        return {i: where for i, where in self.locations.items() if where.foreign}

    def of_jobs_to_create(self, plan: Sequence[dict[str, Any]]) -> InputsSeen:
        """Those of the rows of ``plan`` that still have a job to create (a job kept back
        since they were looked at is not)."""
        return InputsSeen(
            {i: where for i, where in self.locations.items() if plan[i]["request"] is not None},
            {i: why for i, why in self.unread.items() if plan[i]["request"] is not None},
        )


def look_at_inputs(
    ready: Sequence[PendingJob],
    plan: Sequence[dict[str, Any]],
    s3: Any = None,
    *,
    strict: bool = False,
) -> InputsSeen:
    """Look (read only: ``ListObjectsV2``) at the S3 input location of each job ``plan``
    creates: the input files an earlier upload left there, and any other object. ``strict``
    (--apply): a location that cannot be listed raises; else it is said in ``unread``."""
    import boto3
    from botocore.exceptions import BotoCoreError

    from bedrock_finops.sources.source_errors import SourceError

    seen = InputsSeen({}, {})
    for i, (job, step) in enumerate(zip(ready, plan, strict=True)):
        request = step["request"]
        if request is None:
            continue
        uri = request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        try:
            s3 = s3 or boto3.client("s3")
            seen.locations[i] = input_location(s3, uri, [path.name for path in job.files])
        except (BotoCoreError, BatchSubmitError, SourceError) as exc:
            if strict:
                raise
            seen.unread[i] = str(exc)
    return seen


def refused_rows(
    plan: Sequence[dict[str, Any]],
    blocked: dict[int, InputLocation],
    *,
    apply: bool,
    overlaps: Overlaps | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``plan`` (without its requests) as --apply leaves them when the S3 input
    locations ``blocked`` (by row) hold objects not their jobs', or jobs submitted before hold
    some of a job's requests (``overlaps``): it creates no job, so each such one reads refused,
    with why, and each other one to create is not created. A dry run (``apply`` False) says
    what --apply would do."""
    held = overlaps.held if overlaps is not None else {}
    rows = []
    for i, step in enumerate(plan):
        row = {k: v for k, v in step.items() if k != "request"}
        if (blocked or held) and step["request"] is not None:
            verb = "create" if step["action"] == "would-create" else "resubmit"
            refused = "refused" if apply else "would-refuse"
            if i in blocked:
                said = counted(len(blocked[i].foreign), "other object")
                row["action"] = f"{refused}: its S3 input location holds {said}"
            elif i in held:
                row["action"] = overlaps.action(i, apply=apply)
            else:
                row["action"] = f"not-{verb}d" if apply else f"would-not-{verb}"
        rows.append(row)
    return rows


def refusal_error(
    plan: Sequence[dict[str, Any]], blocked: dict[int, InputLocation], overlaps: Overlaps
) -> Exception:
    """The error when --apply creates no job: the input locations holding objects not their
    jobs' (each named), and the jobs whose requests jobs submitted before hold (the lines
    above name them), with the fix."""
    if blocked and not overlaps.held:
        return foreign_objects_error(
            [(plan[i]["request"]["jobName"], where) for i, where in blocked.items()]
        )
    said = []
    if blocked:
        said.append(
            "; ".join(
                where.foreign_text(plan[i]["request"]["jobName"]) for i, where in blocked.items()
            )
            + f" ({FOREIGN_FIX[0].lower()}{FOREIGN_FIX[1:]})"
        )
    n = len(overlaps.held)
    said.append(
        f"{counted(n, 'job')} refused: {'its' if n == 1 else 'their'} requests are held in part "
        f"or whole by jobs submitted before (above): {overlaps.fix(sorted(overlaps.held))}"
    )
    return BatchSubmitError(f"no job created: {'; '.join(said)}")


def s3_preview_lines(plan: Sequence[dict[str, Any]], inputs: InputsSeen) -> list[str]:
    """What ``--apply`` would find in the S3 input location of each job it would create
    (``look_at_inputs``): input files an earlier upload left, which it would delete, or other
    objects, for which it would create no job."""
    lines = []
    for i, step in enumerate(plan):
        if i not in inputs.locations and i not in inputs.unread:
            continue  # nothing to create, or not looked at all
        request = step["request"]
        name, uri = request["jobName"], request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        if i in inputs.unread:
            lines.append(
                f"{name}: {uri} not looked at ({inputs.unread[i]}); --apply looks there before "
                "it creates any job, and stops if it cannot"
            )
            continue
        where = inputs.locations[i]
        if where.foreign:
            lines.append(
                f"{name}: --apply would refuse it, and create no job: {where.foreign_text(name)}. "
                f"{FOREIGN_FIX}"
            )
        if where.stale:
            files = ", ".join(key.rpartition("/")[2] for key in where.stale)
            lines.append(
                f"{name}: --apply would delete {counted(len(where.stale), 'input file')} an "
                f"earlier upload left in {uri} (the same records split another way): {files}"
            )
    return lines
