"""Submitting exported batch inference jobs to Amazon Bedrock: a dry run unless ``apply``.

Idempotent: a job whose name already exists is not created again (its name and
``clientRequestToken`` are derived from its content, ``batch_jobs.job_request``), nor one that
exists under a name an earlier version gave the same job (``found_attempts``). A job that
ended without processing its records (Failed, Stopped, Expired, ...) is reported as such, and
submitted anew only when asked (``resubmit``), under the name of its next attempt
(``batch_jobs.attempt_name``); one being stopped, only once it has stopped. Before a job is
created, its S3 input location is made to hold exactly its input files (``upload_job``), and
``submit_jobs`` checks that no job of its group submitted before holds its requests
(``batch_overlap.guard_plan``, as ``batch-export`` does) and writes its request list.

``plan_submissions`` and ``create_jobs``, the steps ``submit_jobs`` and ``batch-export``
build on, stay public, but no job is created unchecked through them: ``plan_submissions``
only plans, and ``create_jobs`` refuses a plan ``guard_plan`` did not check (a row without
:data:`OVERLAPS_CHECKED`), as ``submit_jobs`` refuses a job it cannot check."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bedrock_finops.batch_jobs import (
    PART_FILE_RE,
    BatchQuotas,
    ExportedJob,
    attempt_name,
    request_token,
)

# --- submission ------------------------------------------------------------------------------

# ListModelInvocationJobs' statuses (botocore's ModelInvocationJobStatus): a job on its way or
# done holds its records; one that ended, or is being stopped, before processing all of them
# does not, and only a new job processes them (``resubmit``). A status AWS adds later is taken
# as on its way: it is never submitted twice for it.
GOING_STATUSES = frozenset({"Submitted", "Validating", "Scheduled", "InProgress", "Completed"})
UNFINISHED_STATUSES = frozenset({"Failed", "Stopping", "Stopped", "Expired", "PartiallyCompleted"})
# unfinished but not ended: a job being stopped becomes Stopped, and is not submitted anew
# before (it may still process records, and is billed for those it has)
NOT_ENDED_STATUSES = frozenset({"Stopping"})
# AWS bills a job stopped (or being stopped) for the tokens it processed, and one that ended
# part way for the records it processed: submitted anew, those are billed a second time
_BILLED_WHEN_STOPPED = frozenset({"Stopping", "Stopped", "PartiallyCompleted"})
# one row per job: the export's job name, the name it is (or would be) submitted under, the
# Region, what is done, Bedrock's status ("-": no job yet; "unchecked": not looked up), the
# ARN and a detail (why a job is unfinished, which one a resubmission replaces)
SUBMISSION_COLUMNS = ["job", "jobName", "region", "action", "status", "jobArn", "detail"]
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})


class BatchSubmitError(RuntimeError):
    """A write to AWS that submitting jobs could not make, or will not: the message names what
    it was writing, where, and the fix."""


def aws_write_error(exc: Any, doing: str, target: str, needs: str) -> Exception:
    """The error for a ``ClientError`` of a write, or of a listing submitting jobs looks with
    first: ``{doing} {target} failed (code: message)``, with the permission it ``needs`` when
    access was denied, or what is wrong with credentials AWS refused."""
    from bedrock_finops.sources.source_errors import credentials_error

    error = getattr(exc, "response", {}).get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    refused = credentials_error(code, message, target, doing)
    if refused is not None:
        return refused
    fix = f"; these credentials need {needs}" if code in ACCESS_DENIED_CODES else ""
    return BatchSubmitError(f"{doing} {target} failed ({code}: {message}){fix}")


def bedrock_clients(regions: Iterable[str | None], client: Any = None) -> dict[str | None, Any]:
    """A Bedrock client per Region (a job runs in one Region): ``client`` for each when given
    (it must be in that Region), else one made there."""
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
    return clients


def jobs_named(client: Any, text: str) -> dict[str, dict[str, Any]]:
    """Every job whose name holds ``text``, by name (should two share one, the one submitted
    last). A ``ClientError`` becomes an error naming the permission when access was denied."""
    from botocore.exceptions import ClientError

    kwargs: dict[str, Any] = {"nameContains": text, "maxResults": 100}
    found: dict[str, dict[str, Any]] = {}
    while True:
        try:
            page = client.list_model_invocation_jobs(**kwargs)
        except ClientError as exc:
            raise aws_write_error(
                exc,
                "listing",
                f"the batch jobs whose name holds {text}",
                "bedrock:ListModelInvocationJobs",
            ) from exc
        for job in page.get("invocationJobSummaries", []):
            seen = found.get(job["jobName"])
            if seen is None or str(job.get("submitTime", "")) > str(seen.get("submitTime", "")):
                found[job["jobName"]] = job
        token = page.get("nextToken")
        if not token:
            return found
        kwargs["nextToken"] = token


def job_attempts(client: Any, name: str) -> list[dict[str, Any]]:
    """The summaries (``ListModelInvocationJobs``) of job ``name``'s submissions, first to
    last: ``name``, then each ``attempt_name`` while there is one. One list call covers every
    attempt whose name holds an earlier search's text."""
    found: dict[str, dict[str, Any]] = {}
    searched: list[str] = []
    attempts: list[dict[str, Any]] = []
    while True:
        candidate = attempt_name(name, len(attempts) + 1)
        if not any(text in candidate for text in searched):
            found.update({k: v for k, v in jobs_named(client, candidate).items() if k not in found})
            searched.append(candidate)
        if candidate not in found:
            return attempts
        attempts.append(found[candidate])


def found_attempts(
    client: Any, name: str, earlier_names: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The submissions (``job_attempts``) of job ``name``, or of the same job under a name an
    earlier version gave it (``earlier_names``, from its ``job.json``): those of the first
    name whose last submission is on its way or done, else of the one submitted last. The
    names are looked up in turn, none after one on its way or done."""
    found = []
    for candidate in dict.fromkeys([name, *earlier_names]):
        attempts = job_attempts(client, candidate)
        if attempts and attempts[-1]["status"] not in UNFINISHED_STATUSES:
            return attempts
        if attempts:
            found.append(attempts)
    return max(found, key=lambda attempts: str(attempts[-1].get("submitTime", "")), default=[])


def look_up_jobs(
    requests: Sequence[dict[str, Any]],
    regions: Sequence[str | None],
    clients: dict[str | None, Any],
    earlier_names: Sequence[Sequence[str]] | None = None,
) -> list[list[dict[str, Any]]]:
    """Each request's submissions so far (``found_attempts``: under its name or one of its
    ``earlier_names``), in its Region; read only."""
    earlier = earlier_names if earlier_names is not None else [()] * len(requests)
    return [
        found_attempts(clients[region], req["jobName"], names)
        for req, region, names in zip(requests, regions, earlier, strict=True)
    ]


def unfinished_detail(job: dict[str, Any]) -> str:
    """What the summary of a job that did not process all its records says: how many it
    processed, when it tells, and its message."""
    said = []
    total, processed = job.get("totalRecordCount"), job.get("processedRecordCount")
    if total is not None and processed is not None:
        counts = f"{processed:,} of {total:,} records processed"
        ok, failed = job.get("successRecordCount"), job.get("errorRecordCount")
        if ok is not None and failed is not None:
            counts += f" ({ok:,} succeeded, {failed:,} with an error)"
        said.append(counts)
    if job.get("message"):
        said.append(str(job["message"]).strip())
    return "; ".join(said)


def billed_again(job: dict[str, Any]) -> str:
    """What submitting the records of unfinished ``job`` (its summary) anew bills a second
    time, as a clause ("the 2,000 records it processed are billed again"), or "" when it
    processed none: a job stopped or ended part way is billed for what it processed, and so is
    one that failed or expired after processing some."""
    processed = job.get("processedRecordCount")
    if processed is None:  # not told: a job stopped or ended part way processed some
        stopped = job.get("status") in _BILLED_WHEN_STOPPED
        return "the records it processed are billed again" if stopped else ""
    if processed == 1:
        return "the 1 record it processed is billed again"
    return f"the {processed:,} records it processed are billed again" if processed else ""


def request_for_attempt(
    request: dict[str, Any], attempt: int, found: str | None = None
) -> dict[str, Any]:
    """``request`` for its job's ``attempt``-th submission: the attempt's name and token, and
    S3 locations of its own beside the first's (``<prefix>/<attempt name>/input/`` and
    ``output/``), so it never reads what an earlier attempt left there. ``found``: the name
    the job's first submission has, when an earlier version named it otherwise; the attempts
    are named after it."""
    name = request["jobName"]
    new = attempt_name(found or name, attempt)

    def moved(uri: str, leaf: str) -> str:
        tail = f"/{name}/{leaf}/"
        if not uri.endswith(tail):
            raise ValueError(f"cannot resubmit {name}: its {leaf} location {uri} is not .../{tail}")
        return f"{uri[: -len(tail)]}/{new}/{leaf}/"

    out = json.loads(json.dumps(request))  # a deep copy
    out["jobName"], out["clientRequestToken"] = new, request_token(new)
    config = out["inputDataConfig"]["s3InputDataConfig"]
    config["s3Uri"] = moved(config["s3Uri"], "input")
    config = out["outputDataConfig"]["s3OutputDataConfig"]
    config["s3Uri"] = moved(config["s3Uri"], "output")
    return out


def plan_submissions(
    requests: Sequence[dict[str, Any]],
    regions: Sequence[str | None],
    attempts: Sequence[list[dict[str, Any]]] | None,
    *,
    resubmit: bool = False,
) -> list[dict[str, Any]]:
    """What becomes of each request, before anything is created: a row of
    ``SUBMISSION_COLUMNS``, ``"found"`` (the name the job was found under, its first
    submission's: the request's own or one an earlier version gave it; None when there is
    none) and ``"request"``, the request to create (None when none is).

    ``attempts``: each request's submissions (``look_up_jobs``), or None when they were not
    looked up (every job then reads would-create, its status "unchecked"). A job whose last
    submission is on its way or done ``exists``; one that ended without processing all its
    records is ``unfinished`` and, with ``resubmit``, submitted anew as its next attempt
    (``would-resubmit``; the detail says which records are billed again), named after its
    first. One being stopped (``NOT_ENDED_STATUSES``) stays ``unfinished`` even with
    ``resubmit``: it has not ended. It creates nothing, and its rows are not checked for
    requests jobs submitted before hold: ``create_jobs`` creates them only once
    ``batch_overlap.guard_plan`` has (:data:`OVERLAPS_CHECKED`)."""
    rows = []
    for i, (req, region) in enumerate(zip(requests, regions, strict=True)):
        row: dict[str, Any] = {
            "job": req["jobName"],
            "jobName": req["jobName"],
            "region": region,
            "action": "would-create",
            "status": "unchecked" if attempts is None else "-",
            "jobArn": None,
            "detail": "",
            "found": None,
            "request": req,
        }
        done = attempts[i] if attempts is not None else []
        if done:
            last = done[-1]
            row.update(jobName=last["jobName"], status=last["status"], jobArn=last["jobArn"])
            row.update(found=done[0]["jobName"], request=None)
            if last["status"] not in UNFINISHED_STATUSES:
                row["action"] = "exists"
            elif not resubmit or last["status"] in NOT_ENDED_STATUSES:
                row.update(action="unfinished", detail=unfinished_detail(last))
            else:
                new = request_for_attempt(req, len(done) + 1, row["found"])
                again = billed_again(last)
                row.update(
                    jobName=new["jobName"],
                    action="would-resubmit",
                    status="-",
                    jobArn=None,
                    detail=f"resubmits {last['jobName']} ({last['status']}, {last['jobArn']})"
                    + (f"; {again}" if again else ""),
                    request=new,
                )
        rows.append(row)
    return rows


def create_job(client: Any, request: dict[str, Any]) -> str:
    """Create one job; its ARN. A ``ClientError`` becomes an error naming the job."""
    from botocore.exceptions import ClientError

    try:
        return client.create_model_invocation_job(**request)["jobArn"]
    except ClientError as exc:
        raise aws_write_error(
            exc,
            "creating",
            f"batch job {request['jobName']}",
            "bedrock:CreateModelInvocationJob, and iam:PassRole on the job's role",
        ) from exc


# the mark batch_overlap.guard_plan (apply=True) gives a plan's row of a job to create none of
# whose requests a job submitted before holds: create_jobs creates no job without it
OVERLAPS_CHECKED = "overlaps_checked"
# the action of a job whose create got no answer (Ctrl-C, a timeout after botocore's retries):
# Bedrock may have made it; a run again finds it, and Bedrock ignores a create with the
# clientRequestToken of a job it made
MAYBE_CREATED = "maybe-created"


def create_jobs(
    plan: Sequence[dict[str, Any]],
    clients: dict[str | None, Any],
    *,
    before_create: Callable[[int, dict[str, Any]], Any] | None = None,
    log: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Create the jobs ``plan`` (``plan_submissions``'s rows) has a request for, in order;
    ``before_create(i, request)`` runs just before row ``i``'s is created. Each row is
    appended to ``log`` (returned) once settled, with a created job's ARN, so that a caller
    still has the rows of the jobs done when a later one raises; a create stopped before
    Bedrock answered is logged as ``MAYBE_CREATED`` before the stop goes on.

    Only a plan checked against billing a request twice is created: each row with a request
    must carry :data:`OVERLAPS_CHECKED`, the mark ``batch_overlap.guard_plan`` (``apply=True``)
    gives a job none of whose requests a job submitted before holds. ``plan_submissions``'
    rows as they are would create jobs whose requests a job of their group already holds (an
    export split by another ``--max-records``), billed again: when any row lacks the mark, no
    job is created (:class:`BatchSubmitError`). ``submit_jobs`` runs the check itself."""
    _refuse_unchecked(plan)
    rows = log if log is not None else []
    for i, step in enumerate(plan):
        row = {k: v for k, v in step.items() if k != "request"}
        request = step["request"]
        if request is not None:
            if before_create is not None:
                before_create(i, request)
            try:
                row["jobArn"] = create_job(clients[step["region"]], request)
            except BaseException as exc:
                if not _create_answered(exc):
                    rows.append({**row, "action": MAYBE_CREATED})
                raise
            row["action"] = "created" if step["action"] == "would-create" else "resubmitted"
        rows.append(row)
    return rows


def _refuse_unchecked(plan: Sequence[dict[str, Any]]) -> None:
    """Raise, before any job is created, when a job ``plan`` creates was not checked for
    requests jobs submitted before hold (no :data:`OVERLAPS_CHECKED`)."""
    unchecked = [
        step["request"]["jobName"]
        for step in plan
        if step["request"] is not None and not step.get(OVERLAPS_CHECKED)
    ]
    if unchecked:
        one = len(unchecked) == 1
        raise BatchSubmitError(
            f"no job created: {', '.join(unchecked)} {'was' if one else 'were'} not checked "
            "against the jobs submitted before, which may hold "
            f"{'its' if one else 'their'} requests (billed twice): create jobs with "
            "submit_jobs (request_ids=), or check the plan with batch_overlap.guard_plan "
            "(apply=True) first"
        )


def _create_answered(exc: BaseException) -> bool:
    """Whether a create that raised ``exc`` is known not to have made the job: Bedrock refused
    it (a ``ClientError``, raised by ``create_job`` as the error naming the job), or botocore
    did not send it (parameters it refused). Anything else (Ctrl-C, a read timeout or a
    dropped connection after the retries) may have come after Bedrock made the job."""
    from botocore.exceptions import ClientError, ParamValidationError

    return isinstance(exc, ParamValidationError) or isinstance(exc.__cause__, ClientError)


def submit_jobs(
    requests: Sequence[dict[str, Any]],
    client: Any = None,
    *,
    apply: bool = False,
    regions: Sequence[str | None] | None = None,
    before_create: Callable[[int, dict[str, Any]], Any] | None = None,
    look: bool = False,
    resubmit: bool = False,
    log: list[dict[str, Any]] | None = None,
    earlier_names: Sequence[Sequence[str]] | None = None,
    request_ids: Sequence[Sequence[str]] | None = None,
    s3_client: Any = None,
    quotas: BatchQuotas | None = None,
    out_dir: Path | None = None,
) -> pd.DataFrame:
    """Create the batch jobs; a dry run unless ``apply``. A job that exists is not created
    again (see ``plan_submissions``), nor one under a name an earlier version gave it
    (``earlier_names``, aligned with ``requests``: each job's ``job.json`` lists them);
    ``look``: a dry run looks them up too (read only).

    No request is billed twice: with ``apply``, before any job is created, the check
    ``batch-export --apply`` runs is run (``batch_overlap.guard_plan``, through ``s3_client``,
    else one made): ``request_ids`` (aligned with ``requests``: each job's request IDs, its
    ``records.csv``, ``batch_overlap.job_request_ids``) are looked for in the jobs of each
    job's group under its S3 prefix. When a job on its way or done holds any, no job is
    created (a :class:`BatchSubmitError` names them and the fix); a job holding requests an
    unfinished job processed is not created (action ``not-created``, its detail says why)
    unless ``resubmit`` (then its detail says which job's records are billed again). Each
    job's request list is written before it is created (``quotas``: the export's, which the
    list records), so a later export split otherwise is checked against it. Without
    ``request_ids`` a job to create could be neither checked nor listed: ``apply`` refuses
    (:class:`BatchSubmitError`) rather than create it. A job of the group without a request
    list (one an earlier version submitted) is checked against its ``records.csv`` in
    ``out_dir`` (its export's folder); where there is none, nothing is created, as its
    requests are not known. A dry run does not look at S3.

    ``regions`` (aligned with ``requests``, from each job's ``job.json``): without a ``client``,
    each job is created by a Bedrock client in its own Region (a job runs in one Region).
    ``before_create(i, request)`` runs just before request ``i`` is created (as ``request``: a
    resubmission's has its own name and S3 locations), after its request list is written, not
    for a job that exists (upload its inputs there, ``upload_job``, so a second ``apply``
    uploads nothing again). ``log``: as in ``create_jobs``. Returns one row per job
    (``SUBMISSION_COLUMNS``), action one of would-create, would-resubmit, created,
    resubmitted, exists, unfinished, not-created.
    """
    regions = list(regions) if regions is not None else [None] * len(requests)
    if len(regions) != len(requests):
        raise ValueError("regions must have one entry per request")
    clients = bedrock_clients(regions, client) if apply or look else {}
    attempts = look_up_jobs(requests, regions, clients, earlier_names) if clients else None
    plan = plan_submissions(requests, regions, attempts, resubmit=resubmit)
    if apply:
        checked = _CheckedSubmission(requests, request_ids, earlier_names, quotas, out_dir)
        plan = checked.guard(plan, clients, s3_client, resubmit=resubmit)
        before = checked.listed_first(before_create)
        rows = create_jobs(plan, clients, before_create=before, log=log)
    else:
        rows = [{k: v for k, v in step.items() if k != "request"} for step in plan]
    return pd.DataFrame(rows, columns=SUBMISSION_COLUMNS)


@dataclass
class _CheckedSubmission:
    """``submit_jobs``' check against billing a request twice: the one ``batch-export``
    runs (``batch_overlap.guard_plan``), then each job's request list written before its
    create (``batch_overlap.put_request_list``)."""

    requests: Sequence[dict[str, Any]]
    request_ids: Sequence[Sequence[str]] | None
    earlier_names: Sequence[Sequence[str]] | None
    quotas: BatchQuotas | None
    out_dir: Path | None
    s3: Any = None
    jobs: list[Any] | None = None

    def guard(
        self,
        plan: list[dict[str, Any]],
        clients: dict[str | None, Any],
        s3_client: Any,
        *,
        resubmit: bool,
    ) -> list[dict[str, Any]]:
        """``plan`` as checked: raises when a job to create cannot be checked, or when jobs on
        their way or done hold its requests; jobs holding requests unfinished jobs processed
        are settled (``batch_overlap.settle_unfinished``)."""
        from bedrock_finops import batch_overlap as bo

        to_create = [step["request"]["jobName"] for step in plan if step["request"] is not None]
        if not to_create:
            return plan
        if self.request_ids is None:
            raise BatchSubmitError(_UNCHECKED.format(jobs=", ".join(to_create)))
        if len(self.request_ids) != len(self.requests):
            raise ValueError("request_ids must have one entry per request")
        earlier = self.earlier_names or [()] * len(self.requests)
        self.jobs = [
            bo.JobRequests(request["jobName"], list(names), list(ids))
            for request, names, ids in zip(self.requests, earlier, self.request_ids, strict=True)
        ]
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        self.s3 = s3_client
        split = self._split()
        plan, overlaps = bo.guard_plan(
            self.jobs,
            plan,
            clients,
            s3_client,
            resubmit=resubmit,
            apply=True,
            out_dir=self.out_dir,
            split=(split["maxRecordsPerJob"], split["minRecordsPerJob"]) if split else None,
        )
        if overlaps.held:
            raise overlaps.error(plan)
        if overlaps.unseen:
            said = ", ".join(f"{job.name} ({job.status})" for job in overlaps.unseen)
            where = f"in {self.out_dir}" if self.out_dir is not None else "(no out_dir given)"
            raise BatchSubmitError(
                f"no job created: which requests {said} of the same group holds is not known: "
                f"its folder holds no {bo.REQUEST_LIST} (an earlier version submitted it) and "
                f"no records.csv of it is {where} to stand in. {_UNSEEN_FIX}"
            )
        return plan

    def _split(self) -> dict[str, int]:
        """What each request list records of the export's split (nothing when not given)."""
        if self.quotas is None:
            return {}
        return {
            "maxRecordsPerJob": self.quotas.max_records_per_job,
            "minRecordsPerJob": self.quotas.min_records_per_job,
        }

    def listed_first(
        self, then: Callable[[int, dict[str, Any]], Any] | None
    ) -> Callable[[int, dict[str, Any]], Any]:
        """A ``before_create`` writing request ``i``'s request list, then running ``then``."""
        from bedrock_finops.batch_overlap import put_request_list

        def before_create(i: int, request: dict[str, Any]) -> None:
            if self.jobs is not None:
                put_request_list(self.s3, request, self.jobs[i].request_ids, self._split())
            if then is not None:
                then(i, request)

        return before_create


_UNCHECKED = (
    "no job created: submitting {jobs} needs each job's request IDs (request_ids=, aligned "
    "with the requests: its records.csv, batch_overlap.job_request_ids): without them no job "
    "of its group submitted before can be checked for its requests, which would be billed "
    "twice, nor its request list written for a later export to check against"
)
_UNSEEN_FIX = (
    "Pass out_dir=, the folder the export that submitted it wrote (it holds <job>/records.csv), "
    "or create the jobs with `bedrock-finops batch-export --apply`, which names what it did not "
    "check"
)


# --- the S3 input location -------------------------------------------------------------------


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``(bucket, key prefix)`` of ``s3://bucket/prefix/``; the prefix ends with ``/``."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix.rstrip("/") + "/"


def _listed(s3_client: Any, bucket: str, prefix: str) -> dict[str, int]:
    """Every object under ``prefix``, with its size."""
    from botocore.exceptions import ClientError

    sizes: dict[str, int] = {}
    try:
        for page in s3_client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        ):
            sizes.update({o["Key"]: int(o["Size"]) for o in page.get("Contents", [])})
    except ClientError as exc:
        raise aws_write_error(
            exc, "listing", f"s3://{bucket}/{prefix}", f"s3:ListBucket on the bucket {bucket}"
        ) from exc
    return sizes


@dataclass
class InputLocation:
    """What a job's S3 input location holds besides the job's own input files."""

    bucket: str
    prefix: str
    stale: list[str]  # keys of input files an earlier upload left (another split): removed
    foreign: list[str]  # keys of any other object: not this tool's to remove

    def foreign_text(self, job: str) -> str:
        """What the location holds that is not the job's, and why it matters."""
        n = len(self.foreign)
        shown = ", ".join(self.foreign[:5]) + (f" and {n - 5:,} more" if n > 5 else "")
        what = "an object that is" if n == 1 else f"{n:,} objects that are"
        return (
            f"s3://{self.bucket}/{self.prefix} holds {what} not job {job}'s input files "
            f"({shown}), which the job would read too"
        )

    def foreign_error(self, job: str) -> BatchSubmitError:
        return BatchSubmitError(f"{self.foreign_text(job)}: job not created. {FOREIGN_FIX}")


FOREIGN_FIX = (
    "Move or delete them (e.g. `aws s3 rm`), or export to another S3 prefix, and run again"
)


def foreign_objects_error(blocked: Sequence[tuple[str, InputLocation]]) -> BatchSubmitError:
    """The error when the input locations of the jobs ``blocked`` ((job name, location) each)
    hold objects that are not theirs: it names each, and no job is created."""
    said = "; ".join(where.foreign_text(name) for name, where in blocked)
    return BatchSubmitError(f"{said}: no job created. {FOREIGN_FIX}")


def input_location(s3_client: Any, uri: str, names: Iterable[str]) -> InputLocation:
    """Look (read only) at what the S3 location ``uri`` holds besides the input files
    ``names``: part files an earlier upload left (``PART_FILE_RE``: this tool's names, directly
    under it) and any other object. A "folder" object of 0 bytes at ``uri`` itself is
    neither."""
    bucket, prefix = split_s3_uri(uri)
    keep = {prefix + name for name in names}
    stale, foreign = [], []
    for key, size in sorted(_listed(s3_client, bucket, prefix).items()):
        if key in keep or (key == prefix and size == 0):
            continue
        own = PART_FILE_RE.fullmatch(key[len(prefix) :]) is not None
        (stale if own else foreign).append(key)
    return InputLocation(bucket, prefix, stale, foreign)


def upload_job(
    s3_client: Any,
    job: ExportedJob,
    on_change: Callable[[str, str], Any] | None = None,
) -> list[str]:
    """Make the S3 location the job's request reads hold exactly the job's input files (same
    keys, same bytes), so the job reads each record once: refuse when it holds an object that
    is not one of this tool's input files (``InputLocation.foreign_error``), remove the input
    files an earlier upload left there (the same records split another way), upload the
    files, then check the listing. ``on_change(what, s3 URI)`` after each write ("deleted",
    "uploaded"). Returns the URIs uploaded.

    Each file is streamed from disk in one PUT (an input file is at most 1 GB, a PUT takes
    5 GB). An AWS error is a :class:`BatchSubmitError` naming the bucket and key.
    """
    from botocore.exceptions import ClientError

    uri = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
    where = input_location(s3_client, uri, [path.name for path in job.files])
    if where.foreign:
        raise where.foreign_error(job.request["jobName"])
    bucket, prefix = where.bucket, where.prefix
    for key in where.stale:
        try:
            s3_client.delete_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise aws_write_error(
                exc, "deleting", f"s3://{bucket}/{key}", "s3:DeleteObject on that key"
            ) from exc
        if on_change is not None:
            on_change("deleted", f"s3://{bucket}/{key}")
    uploaded = []
    for path in job.files:
        key = prefix + path.name
        try:
            with path.open("rb") as body:
                s3_client.put_object(Bucket=bucket, Key=key, Body=body)
        except ClientError as exc:
            raise aws_write_error(
                exc,
                "uploading",
                f"{path} to s3://{bucket}/{key}",
                "s3:PutObject on that key (and kms:GenerateDataKey when the bucket encrypts "
                "with a KMS key)",
            ) from exc
        uploaded.append(f"s3://{bucket}/{key}")
        if on_change is not None:
            on_change("uploaded", uploaded[-1])
    _check_uploaded(s3_client, job, bucket, prefix)
    return uploaded


def _check_uploaded(s3_client: Any, job: ExportedJob, bucket: str, prefix: str) -> None:
    """The job's input location holds its files, at their sizes, and nothing else."""
    expected = {prefix + path.name: path.stat().st_size for path in job.files}
    listed = _listed(s3_client, bucket, prefix)
    if listed.get(prefix) == 0:  # a "folder" object
        del listed[prefix]
    if listed != expected:
        raise BatchSubmitError(
            f"after the upload, s3://{bucket}/{prefix} does not hold exactly job "
            f"{job.request['jobName']}'s {len(expected):,} input files (another writer?): job "
            "not created; run again"
        )
