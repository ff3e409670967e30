"""Requests a job to create shares with jobs submitted before: no ``batch-export --apply`` bills
a request twice because an export split it into another job.

A job's name is a digest of its work, so the same records split the same way are found as
submitted (``batch_submit``). Split another way (another ``--max-records``), the same requests
make jobs of other names. So each job created gets a request list first, beside its input
location (``<prefix>/<job>/requests.json``: its request IDs and the records a job its export
allowed), and before any job is created, the other jobs of its group under the prefix that
Bedrock lists on their way or done are found and their request lists intersected with its own
(``find_overlaps``). A job sharing requests with one is refused. A job sharing requests with
one that ended unfinished having processed some of them (AWS billed those) is not created
unless asked (``resubmit``), as resubmitting that job itself would not be
(``settle_unfinished``). A job an earlier version submitted has no request list: the export
folder's ``records.csv`` of it stands in when ``--out`` still holds it; else it is named as
not checked. ``guard_plan`` is the check as ``batch-export`` and ``batch_submit.submit_jobs``
run it."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bedrock_finops.batch_jobs import attempt_name, name_stem
from bedrock_finops.batch_submit import (
    NOT_ENDED_STATUSES,
    OVERLAPS_CHECKED,
    UNFINISHED_STATUSES,
    BatchSubmitError,
    aws_write_error,
    billed_again,
    jobs_named,
    split_s3_uri,
)
from bedrock_finops.sources.own_output import mark

REQUEST_LIST = "requests.json"
REQUEST_LIST_KIND = "batch-job-requests"
_ATTEMPT_RE = re.compile(r"-r([0-9]+)$")


def job_request_ids(directory: Path) -> list[str]:
    """The request IDs of an exported job's records, in order (its ``records.csv``)."""
    table = pd.read_csv(directory / "records.csv", usecols=["request_id"], dtype=str)
    return table["request_id"].tolist()


@dataclass
class JobRequests:
    """A job to submit as the check sees it: its export's name, the names earlier versions
    gave it (its ``job.json``'s ``earlierNames``), and its request IDs (its ``records.csv``)."""

    name: str
    earlier_names: Sequence[str]
    request_ids: Sequence[str]


def exported_job_requests(job: Any) -> JobRequests:
    """The :class:`JobRequests` of an exported job (anything with ``name``,
    ``earlier_names`` and ``directory``: ``batch_jobs.ExportedJob``, a pending job)."""
    return JobRequests(job.name, list(job.earlier_names), job_request_ids(job.directory))


def request_list_location(request: dict[str, Any]) -> tuple[str, str]:
    """``(bucket, key)`` of the request list of the job ``request`` creates: beside its input
    location, not inside it (a job reads every object there)."""
    bucket, prefix = split_s3_uri(request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"])
    return bucket, prefix.removesuffix("input/") + REQUEST_LIST


def request_list_body(request: dict[str, Any], request_ids: Sequence[str], split: dict) -> bytes:
    """The request list of the job ``request`` creates: this tool's mark, the job's name, model
    ID and the records a job the export allowed (``split``: ``maxRecordsPerJob``,
    ``minRecordsPerJob``), so a later export told to split otherwise can say how to split as
    this one did, then its request IDs. One line of JSON."""
    body = {
        **mark(REQUEST_LIST_KIND),
        "jobName": request["jobName"],
        "modelId": request["modelId"],
        **split,
        "requestIds": list(request_ids),
    }
    return (json.dumps(body, separators=(",", ":")) + "\n").encode()


def put_request_list(
    s3_client: Any, request: dict[str, Any], request_ids: Sequence[str], split: dict
) -> str:
    """Write the request list of the job ``request`` creates (before the job is: a job without
    one could not be checked against); its URI. The same job's list is the same object."""
    from botocore.exceptions import ClientError

    bucket, key = request_list_location(request)
    body = request_list_body(request, request_ids, split)
    try:
        s3_client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except ClientError as exc:
        raise aws_write_error(
            exc,
            "uploading",
            f"the request list of job {request['jobName']} to s3://{bucket}/{key}",
            "s3:PutObject on that key (and kms:GenerateDataKey when the bucket encrypts with a "
            "KMS key)",
        ) from exc
    return f"s3://{bucket}/{key}"


# --- the jobs submitted before ---------------------------------------------------------------


@dataclass
class SubmittedJob:
    """A job of the group Bedrock lists on its way or done, or unfinished having processed
    (and been billed for) some of its records, and the requests it holds (None: not known, a
    job an earlier version submitted whose ``records.csv`` is gone)."""

    name: str
    status: str
    request_ids: frozenset[str] | None
    max_records: int | None = None  # the records a job its export allowed, when recorded
    min_records: int | None = None
    from_out: bool = False  # its requests read from --out's records.csv (no request list)
    summary: dict[str, Any] = field(default_factory=dict)  # ListModelInvocationJobs' summary

    @property
    def unfinished(self) -> bool:
        """Whether it ended (or is being stopped) without processing all its records."""
        return self.status in UNFINISHED_STATUSES

    @property
    def said(self) -> str:
        """The job, its status and, when known, how its export split: ``name (Completed,
        exported with --max-records 3)``."""
        return f"{self.name} ({self.status}{self._how})"

    @property
    def ended(self) -> str:
        """An unfinished job, its ARN and how far it got: ``name (PartiallyCompleted, ARN,
        exported with --max-records 3), which processed 2 of its 3 records``."""
        arn = f", {self.summary['jobArn']}" if self.summary.get("jobArn") else ""
        return f"{self.name} ({self.status}{arn}{self._how}), which {self._progress}"

    @property
    def _how(self) -> str:
        if self.max_records is not None:
            return f", exported with --max-records {self.max_records}"
        return ", submitted by an earlier version" if self.from_out else ""

    @property
    def _progress(self) -> str:
        if self.status in NOT_ENDED_STATUSES:
            return "is being stopped"
        processed = self.summary.get("processedRecordCount")
        total = self.summary.get("totalRecordCount")
        if processed is None:
            return "processed part of its records"
        of = f" of its {total:,}" if total is not None else ""
        counted = total if total is not None else processed
        return f"processed {processed:,}{of} record{'' if counted == 1 else 's'}"

    @property
    def output(self) -> str:
        """Its S3 output location (its results), or "its output" when not told."""
        config = self.summary.get("outputDataConfig", {}).get("s3OutputDataConfig", {})
        return config.get("s3Uri") or f"{self.name}'s output"


def billed_when_unfinished(summary: dict[str, Any]) -> bool:
    """Whether the unfinished job ``summary`` processed, and so was billed for, some of its
    records: one being stopped may (and may process more), one stopped or ended part way did
    unless it says it processed none, one that failed or expired only when it says it
    processed some (``batch_submit.billed_again``; AWS: an expired job did not start)."""
    return summary["status"] in NOT_ENDED_STATUSES or bool(billed_again(summary))


@dataclass
class Holder:
    """A job submitted before that holds ``held`` of a job's requests."""

    job: SubmittedJob
    held: int


@dataclass
class Overlaps:
    """What ``find_overlaps`` found, by the row of the plan of each job to create: the jobs
    submitted before holding some of its requests (``held``: on their way or done;
    ``unfinished``: ended unfinished having processed some of their records), and its record
    count; the jobs of its group whose requests are not known (``unseen``); and, on a dry run,
    the rows not checked, with why (``unread``)."""

    held: dict[int, list[Holder]] = field(default_factory=dict)
    unfinished: dict[int, list[Holder]] = field(default_factory=dict)
    records: dict[int, int] = field(default_factory=dict)
    unseen: list[SubmittedJob] = field(default_factory=list)
    unread: dict[int, str] = field(default_factory=dict)
    split: tuple[int, int] | None = None  # this export's (max, min) records a job
    out_dir: Path | None = None

    def held_text(self, i: int) -> str:
        """``2 of its 2 requests are held by A (Completed, ...); 1 by B (...)``, then those
        unfinished jobs hold (:meth:`unfinished_text`), which the refusal also stands for."""
        held = self._shares(i, [(h.held, h.job.said) for h in self.held[i]], "held by", "by")
        return f"{held}; {self.unfinished_text(i)}" if i in self.unfinished else held

    def action(self, i: int, *, apply: bool) -> str:
        """The table's action for refused row ``i``, in short."""
        held = sum(h.held for h in self.held[i])
        jobs = len(self.held[i])
        refused = "refused" if apply else "would-refuse"
        other = "another job" if jobs == 1 else f"{jobs:,} other jobs"
        return f"{refused}: {held:,} of its {self._requests(i)} held by {other}"

    def _requests(self, i: int) -> str:
        """``2 requests`` (row ``i``'s)."""
        n = self.records[i]
        return f"{n:,} request{'' if n == 1 else 's'}"

    def fix(self, rows: Sequence[int]) -> str:
        """How to export the requests of the refused ``rows`` so none is submitted twice."""
        splits = {
            (h.job.max_records, h.job.min_records)
            for i in rows
            for h in self.held[i]
            if h.job.max_records is not None
        }
        unknown = any(h.job.max_records is None for i in rows for h in self.held[i])
        again = "; to run them again knowingly, export to another --s3-prefix"
        if len(splits) == 1 and not unknown and splits != {self.split}:
            ((most, least),) = splits
            flags = [f"--max-records {most}"]
            if self.split is not None and least is not None and least != self.split[1]:
                flags.append(f"--min-records {least}")
            return (
                f"export them with {' '.join(flags)}, as the export that submitted those jobs "
                "did: the same requests split the same way are the same jobs, found as "
                f"submitted{again}"
            )
        if splits == {self.split} and not unknown:
            return (
                "those jobs were exported with this split, so what they hold besides these "
                "requests, or how their records are built, differs (another run, or another "
                f"version): export a run whose requests no job submitted before holds{again}"
            )
        return (
            "export them with the --max-records (and --min-records) the export that submitted "
            "those jobs used, so that the same jobs come out and are found as submitted, or "
            f"export a run whose requests no job submitted before holds{again}"
        )

    def refused_lines(self, plan: Sequence[dict[str, Any]], *, apply: bool) -> list[str]:
        """One line per job refused for requests other jobs hold, then the fix (once, when it
        is the same for all; else after each job's line)."""
        lead = "refused" if apply else "--apply would refuse it, and create no job"
        rows = sorted(self.held)
        fixes = {i: f"  {self.fix([i])}" for i in rows}
        lines = []
        for i in rows:
            lines.append(f"{plan[i]['request']['jobName']}: {lead}: {self.held_text(i)}")
            if len(set(fixes.values())) > 1:
                lines.append(fixes[i])
        if len(set(fixes.values())) == 1:
            lines.append(fixes[rows[0]])
        return lines

    def unfinished_text(self, i: int) -> str:
        """``2 of its 2 requests were in A (PartiallyCompleted, ARN, ...), which processed 2 of
        its 3 records; 1 in B (...)``: the unfinished jobs holding row ``i``'s requests."""
        holders = [(h.held, h.job.ended) for h in self.unfinished[i]]
        return self._shares(i, holders, "in", "in", past=True)

    def _shares(
        self, i: int, holders: list[tuple[int, str]], first_how: str, how: str, past: bool = False
    ) -> str:
        """Row ``i``'s requests each job of ``holders`` (count, the job said) holds, the first
        in a sentence of its own (``2 of its 2 requests are held by A``), the rest after it
        (``1 by B``)."""
        (count, job), *rest = holders
        verb = ("was", "were") if past else ("is", "are")
        said = [f"{count:,} of its {self._requests(i)} {verb[count != 1]} {first_how} {job}"]
        said += [f"{n:,} {how} {other}" for n, other in rest]
        return "; ".join(said)

    def unfinished_action(self, i: int, *, apply: bool) -> str:
        """The table's action for row ``i``, kept back for requests unfinished jobs hold."""
        held = sum(h.held for h in self.unfinished[i])
        jobs = len(self.unfinished[i])
        which = "an unfinished job" if jobs == 1 else f"{jobs:,} unfinished jobs"
        kept = "not-created" if apply else "would-not-create"
        return f"{kept}: {held:,} of its {self._requests(i)} in {which}"

    def being_stopped(self, i: int) -> list[SubmittedJob]:
        """The jobs being stopped among those holding row ``i``'s requests: they have not
        ended, and ``resubmit`` does not create a job holding requests of theirs."""
        return [h.job for h in self.unfinished.get(i, []) if h.job.status in NOT_ENDED_STATUSES]

    def kept_back_lines(self, plan: Sequence[dict[str, Any]], *, apply: bool) -> list[str]:
        """One line per job kept back for requests unfinished jobs processed (``plan``'s rows
        ``settle_unfinished`` marked ``KEPT_BACK``), then how to create it (once, when it is
        the same for all; else after each job's line)."""
        lead = "not created" if apply else "--apply would not create it"
        rows = [i for i, step in enumerate(plan) if step.get(KEPT_BACK)]
        fixes = {i: f"  {self._unfinished_fix(i)}" for i in rows}
        lines = []
        for i in rows:
            jobs = "that job" if len(self.unfinished[i]) == 1 else "those jobs"
            lines.append(
                f"{plan[i]['job']}: {lead}: {self.unfinished_text(i)}: created, it would bill "
                f"again those {jobs} processed"
            )
            if len(set(fixes.values())) > 1:
                lines.append(fixes[i])
        if rows and len(set(fixes.values())) == 1:
            lines.append(fixes[rows[0]])
        return lines

    def _unfinished_fix(self, i: int) -> str:
        """How to create row ``i``'s job, kept back for requests unfinished jobs processed."""
        stopping = self.being_stopped(i)
        if stopping:
            names = " and ".join(job.name for job in stopping)
            return (
                f"wait until {names} {'is' if len(stopping) == 1 else 'are'} Stopped, then run "
                "again: --resubmit does not create a job holding requests of a job being "
                "stopped (it is billed for the records it has processed, and may process more)"
            )
        jobs = [h.job for h in self.unfinished[i]]
        names = " and ".join(job.name for job in jobs)
        outputs = " and ".join(job.output for job in jobs)
        return (
            "to run them after all, run again with --resubmit: it creates the job, and the "
            f"requests {names} processed are billed again; to pay only for the rest, submit "
            f"those without a result in {outputs} yourself"
        )

    def error(self, plan: Sequence[dict[str, Any]]) -> BatchSubmitError:
        """The error when the jobs of ``held`` rows are refused and no job is created (for a
        caller of ``batch_submit.submit_jobs``, which prints nothing): each refused job's
        line, then the fix."""
        said = "; ".join(line.strip() for line in self.refused_lines(plan, apply=True))
        return BatchSubmitError(f"no job created: {said}")

    def unseen_lines(self, *, apply: bool) -> list[str]:
        """One line per job of a group whose requests are not known: the jobs of its group
        this export creates are not checked against it."""
        created = (
            "the jobs created were not checked against it"
            if apply
            else "--apply creates the jobs unchecked against it"
        )
        lines = []
        for job in self.unseen:
            gone = self.out_dir / job.name / "records.csv" if self.out_dir else "records.csv"
            lines.append(
                f"{job.name} ({job.status}): its folder holds no {REQUEST_LIST} (an earlier "
                f"version submitted it, or the list was removed), and {gone} is not there to "
                f"stand in: {created} (a request it holds is billed again; the --max-records its "
                "export used finds that export's jobs as submitted)"
            )
        return lines

    def unread_lines(self, plan: Sequence[dict[str, Any]]) -> list[str]:
        """One line per group not checked on a dry run, with why."""
        lines, said = [], set()
        for i, why in sorted(self.unread.items()):
            if why in said:
                continue
            said.add(why)
            name = plan[i]["request"]["jobName"]
            lines.append(
                f"{name}: requests held by other jobs not checked ({why}); --apply checks before "
                "it creates any job, and stops if it cannot"
            )
        return lines


def is_own_folder(names: Sequence[str], folder: str) -> bool:
    """Whether the S3 folder ``folder`` is one of the jobs ``names`` (this export's jobs and
    the names earlier versions gave them) or one of their attempts."""
    if folder in names:
        return True
    found = _ATTEMPT_RE.search(folder)
    if found is None:
        return False
    attempt = int(found.group(1))
    return attempt > 1 and any(attempt_name(name, attempt) == folder for name in names)


def _job_folders(s3_client: Any, bucket: str, root: str, stem: str) -> list[str]:
    """The job folders under ``root`` whose names start with ``stem`` (one ``ListObjectsV2``
    with a ``/`` delimiter per 1,000 of them: their objects are not listed)."""
    from botocore.exceptions import ClientError

    folders = []
    try:
        pages = s3_client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=root + stem, Delimiter="/"
        )
        for page in pages:
            folders += [p["Prefix"][len(root) : -1] for p in page.get("CommonPrefixes", [])]
    except ClientError as exc:
        raise aws_write_error(
            exc, "listing", f"s3://{bucket}/{root}{stem}", f"s3:ListBucket on the bucket {bucket}"
        ) from exc
    return folders


def _request_list(s3_client: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The request list at ``key`` (None when there is none)."""
    from botocore.exceptions import ClientError

    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise aws_write_error(
            exc, "reading", f"s3://{bucket}/{key}", "s3:GetObject on the keys under the prefix"
        ) from exc
    try:
        listed = json.loads(body)
        ids = listed["requestIds"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BatchSubmitError(
            f"s3://{bucket}/{key} is not a request list this tool wrote ({exc}): move it away "
            "and run again"
        ) from None
    return {**listed, "requestIds": frozenset(str(i) for i in ids)}


def _submitted_job(
    s3_client: Any, bucket: str, root: str, name: str, summary: dict, out_dir: Path | None
) -> SubmittedJob:
    """Job ``name`` of the group (``summary``: as Bedrock lists it) with the requests it
    holds: from its request list, else from ``--out``'s ``records.csv`` of it, else not
    known."""
    status = summary["status"]
    listed = _request_list(s3_client, bucket, f"{root}{name}/{REQUEST_LIST}")
    if listed is not None:
        return SubmittedJob(
            name,
            status,
            listed["requestIds"],
            listed.get("maxRecordsPerJob"),
            listed.get("minRecordsPerJob"),
            summary=summary,
        )
    records = out_dir / name / "records.csv" if out_dir is not None else None
    if records is not None and records.is_file():
        ids = frozenset(job_request_ids(records.parent))
        return SubmittedJob(name, status, ids, from_out=True, summary=summary)
    return SubmittedJob(name, status, None, summary=summary)


@dataclass
class _Group:
    """The jobs to create whose group's folders share one listing: rows of the plan."""

    region: str | None
    bucket: str
    root: str  # the key prefix of the job folders
    stem: str
    rows: list[int] = field(default_factory=list)


def _groups(jobs: Sequence[JobRequests], plan: Sequence[dict[str, Any]]) -> list[_Group]:
    """The jobs to create, by Region, S3 prefix and name stem (``batch_jobs.name_stem``)."""
    groups: dict[tuple[Any, ...], _Group] = {}
    for i, (job, step) in enumerate(zip(jobs, plan, strict=True)):
        request = step["request"]
        if request is None:
            continue
        bucket, key = split_s3_uri(request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"])
        root = key.removesuffix(f"{request['jobName']}/input/")
        stem = name_stem(job.name)
        group = groups.setdefault(
            (step["region"], bucket, root, stem), _Group(step["region"], bucket, root, stem)
        )
        group.rows.append(i)
    return list(groups.values())


def find_overlaps(
    jobs: Sequence[JobRequests],
    plan: Sequence[dict[str, Any]],
    clients: dict[str | None, Any],
    s3_client: Any,
    *,
    out_dir: Path | None = None,
    split: tuple[int, int] | None = None,
    strict: bool = False,
) -> Overlaps:
    """Which requests of each job ``plan`` creates are held by a job submitted before: a job
    of the same group (its name's stem) under the same S3 prefix that Bedrock lists on its way
    or done (``held``), or that ended unfinished having processed, and been billed for, some
    of its records (``unfinished``: ``billed_when_unfinished``; one that processed none holds
    none). Read only.

    ``jobs``: the jobs the plan's rows are of; their own names, the names earlier versions
    gave them and their attempts are not others (an unfinished job of the same name is
    ``plan_submissions``' case). The calls, per group: one ``ListObjectsV2`` of its job
    folders; when it finds folders of other jobs, one ``ListModelInvocationJobs`` of the
    names holding the stem, and one ``GetObject`` of the request list of each job on its way
    or done, or unfinished having processed records. ``split``: this export's (max, min)
    records a job. ``strict`` (--apply): an error raises; else the group's rows are
    ``unread``."""
    from botocore.exceptions import BotoCoreError

    from bedrock_finops.sources.source_errors import SourceError

    found = Overlaps(split=split, out_dir=out_dir)
    names = [n for job in jobs for n in (job.name, *job.earlier_names)]
    for group in _groups(jobs, plan):
        try:
            submitted = _submitted_jobs(group, names, clients, s3_client, out_dir)
        except (BotoCoreError, BatchSubmitError, SourceError) as exc:
            if strict:
                raise
            found.unread.update({i: str(exc) for i in group.rows})
            continue
        seen = {job.name for job in found.unseen}
        found.unseen += [
            job for job in submitted if job.request_ids is None and job.name not in seen
        ]
        for i in group.rows:
            ids = set(jobs[i].request_ids)
            found.records[i] = len(ids)
            holders = [
                Holder(job, len(ids & job.request_ids))
                for job in submitted
                if job.request_ids is not None and not ids.isdisjoint(job.request_ids)
            ]
            going = [h for h in holders if not h.job.unfinished]
            if going:
                found.held[i] = going
            if len(going) < len(holders):
                found.unfinished[i] = [h for h in holders if h.job.unfinished]
    return found


def _submitted_jobs(
    group: _Group,
    names: Sequence[str],
    clients: dict[str | None, Any],
    s3_client: Any,
    out_dir: Path | None,
) -> list[SubmittedJob]:
    """The other jobs of ``group`` under its prefix that Bedrock lists on their way or done,
    or unfinished having processed some of their records."""
    folders = _job_folders(s3_client, group.bucket, group.root, group.stem)
    others = [folder for folder in folders if not is_own_folder(names, folder)]
    if not others:
        return []
    listed = jobs_named(clients[group.region], group.stem)
    out = []
    for name in others:
        job = listed.get(name)
        if job is None:
            continue  # not created (a create that failed)
        if job["status"] in UNFINISHED_STATUSES and not billed_when_unfinished(job):
            continue  # ended having processed none of its records: none was billed
        out.append(_submitted_job(s3_client, group.bucket, group.root, name, job, out_dir))
    return out


# a plan row ``settle_unfinished`` keeps back: its requests are in unfinished jobs, which
# processed (and were billed for) some of them, and it was not asked to bill them again
KEPT_BACK = "kept_back"


def settle_unfinished(
    plan: Sequence[dict[str, Any]], overlaps: Overlaps, *, resubmit: bool, apply: bool
) -> list[dict[str, Any]]:
    """``plan`` (``batch_submit.plan_submissions``' rows) with each job to create that holds
    requests of unfinished jobs (``overlaps.unfinished``) settled as ``resubmit`` settles an
    unfinished job of its own name: without it, or while one of those jobs is being stopped,
    the job is not created (no request; its action says why, and it is marked
    :data:`KEPT_BACK`); with it, it is created, and its detail names those jobs and says the
    records they processed are billed again. A row refused for requests jobs on their way or
    done hold (``overlaps.held``) is left as it is."""
    settled = []
    for i, step in enumerate(plan):
        if i not in overlaps.unfinished or step["request"] is None or i in overlaps.held:
            settled.append(step)
        elif resubmit and not overlaps.being_stopped(i):
            they = "it" if len(overlaps.unfinished[i]) == 1 else "they"
            again = f"{overlaps.unfinished_text(i)}: those {they} processed are billed again"
            detail = f"{step['detail']}; {again}" if step["detail"] else again
            settled.append({**step, "detail": detail})
        else:
            action = overlaps.unfinished_action(i, apply=apply)
            detail = overlaps.unfinished_text(i)
            settled.append(
                {**step, "action": action, "status": "-", "jobArn": None, "detail": detail}
                | {"request": None, KEPT_BACK: True}
            )
    return settled


def guard_plan(
    jobs: Sequence[JobRequests],
    plan: Sequence[dict[str, Any]],
    clients: dict[str | None, Any],
    s3_client: Any,
    *,
    resubmit: bool,
    apply: bool,
    out_dir: Path | None = None,
    split: tuple[int, int] | None = None,
) -> tuple[list[dict[str, Any]], Overlaps]:
    """The check against billing a request twice, before any job ``plan`` creates is: which
    of their requests jobs submitted before hold (``find_overlaps``; with ``apply`` an error
    raises), and the plan with the jobs holding requests unfinished jobs processed settled
    (``settle_unfinished``). The jobs of ``Overlaps.held`` rows must not be created, nor any
    other (the caller refuses them); ``put_request_list`` writes each job's list before its
    create. With ``apply``, each row of a job to create that no such job holds requests of is
    marked :data:`~bedrock_finops.batch_submit.OVERLAPS_CHECKED`, which ``create_jobs``
    requires."""
    overlaps = find_overlaps(
        jobs, plan, clients, s3_client, out_dir=out_dir, split=split, strict=apply
    )
    settled = settle_unfinished(plan, overlaps, resubmit=resubmit, apply=apply)
    if apply:
        settled = [
            {**step, OVERLAPS_CHECKED: True}
            if step["request"] is not None and i not in overlaps.held
            else step
            for i, step in enumerate(settled)
        ]
    return settled, overlaps
