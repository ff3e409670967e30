"""Live replay for the quality gate: the sampled requests on both models through Converse.

Each sampled request (template text + last user turn, as logged) is sent to the current model
ID the application used and to the candidate. The candidate's answer is scored by its
agreement with the current model's answer: exact match for label- and JSON-shaped outputs
(JSON compared parsed), token-overlap F1 for prose and code. ``current_score`` is 1.0: the
current model's own answer is the reference. A request the candidate could not answer once
the current model had (it refused or failed on it) scores 0; one throttled or not reached, or
whose candidate model ID Bedrock would not call (:func:`model_id_refusal`), is not scored
(:mod:`bedrock_finops.quality_gate` has the rule). Agreement is a proxy for
quality; for generative tasks an Amazon Bedrock evaluation job (model as judge) on the same
dataset gives better scores, and its per-request scores can be written to the same CSV.

Nothing is called unless ``apply=True``: the dry run prints the calls it would make, their
count and their estimated cost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops.amounts import usd
from bedrock_finops.column_take import ParquetColumn, rows_of, user_turns
from bedrock_finops.media_blocks import requests_with_media
from bedrock_finops.models import missing_profile, model_id_for, region_geo, resolve
from bedrock_finops.pricing import price_columns
from bedrock_finops.quality_gate import (
    NOT_SCORED,
    REPLAY_ERRORS,
    RESULT_COLUMNS,
    SCORED_ZERO,
    prompt_parts,
    user_turn_problems,
)
from bedrock_finops.schema import total_input_tokens
from bedrock_finops.segments import template_texts

_WORD = re.compile(r"\w+")


def converse_kwargs(
    model_id: str, system: str | None, user: str, max_tokens: int, temperature: float | None
) -> dict[str, Any]:
    """Arguments for ``bedrock-runtime`` ``converse`` replaying one logged request."""
    kw: dict[str, Any] = {
        "modelId": model_id,
        "messages": [{"role": "user", "content": [{"text": user}]}],
        "inferenceConfig": {"maxTokens": int(max_tokens)},
    }
    if system:
        kw["system"] = [{"text": system}]
    if temperature is not None and not pd.isna(temperature):
        kw["inferenceConfig"]["temperature"] = float(temperature)
    return kw


def response_text(resp: dict[str, Any]) -> str:
    """The text blocks of a Converse response, joined."""
    content = resp.get("output", {}).get("message", {}).get("content", [])
    return "".join(block.get("text", "") for block in content)


def _normalise(text: str) -> str:
    return " ".join(text.strip().strip(".").lower().split())


def agreement(reference: str, answer: str, shape: str | None) -> float:
    """How far ``answer`` agrees with ``reference``: 0..1 (see the module docstring)."""
    if shape == "json":
        try:
            return float(json.loads(reference) == json.loads(answer))
        except (ValueError, TypeError):
            return float(_normalise(reference) == _normalise(answer))
    if shape == "label":
        return float(_normalise(reference) == _normalise(answer))
    ref = _WORD.findall(reference.lower())
    ans = _WORD.findall(answer.lower())
    if not ref and not ans:
        return 1.0
    if not ref or not ans:
        return 0.0
    common = sum(
        (
            pd.Series(ref).value_counts().combine(pd.Series(ans).value_counts(), min, fill_value=0)
        ).clip(lower=0)
    )
    if common == 0:
        return 0.0
    precision, recall = common / len(ans), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def replay_plan(
    manifest: dict[str, Any],
    usage: pd.DataFrame,
    prompts: pd.DataFrame | None,
    *,
    max_tokens_default: int = 1024,
    user_text: pd.Series | ParquetColumn | None = None,
) -> pd.DataFrame:
    """One row per sampled request: region, both model IDs, and the Converse arguments.

    Each request is replayed from its own Region, on the current model ID it logged and on
    the candidate behind the same geo profile (``eu.`` for a request made through ``eu.``).
    Its prompt is built as the sample's dataset line is (``quality_gate.prompt_parts``), and
    a request the sample would leave out (its user turn not logged as text, or sent media:
    ``quality_gate.user_turn_problems``) is not replayed.

    ``user_text``: where the user turns are when ``usage`` was read without them
    (``RunContext.user_text_column``); only the sampled requests' turns are read."""
    texts = template_texts(prompts)
    by_id = usage.set_index(usage["request_id"].astype(str))
    wanted = [rid for seg in manifest["segments"] for rid in seg["request_ids"]]
    at = pd.Series(np.arange(len(usage)), index=by_id.index).loc[wanted].to_numpy()
    sampled = rows_of(user_turns(usage, user_text), at)
    # the sample's rules, on its turns as read now: a manifest an older version wrote may
    # list a request whose turn it would now leave out (media sent by reference, a blank turn)
    turn_of = dict(zip(wanted, sampled.tolist(), strict=True))
    media = requests_with_media(usage)
    problems = user_turn_problems(sampled, None if media is None else media[at])
    problem_of = dict(zip(wanted, problems, strict=True))
    rows = []
    for seg in manifest["segments"]:
        for rid in seg["request_ids"]:
            row = by_id.loc[rid].copy()
            row["user_text"] = turn_of[rid]
            system, user, reason = prompt_parts(row, texts, problem_of[rid])
            if reason:
                continue
            max_tokens = row["max_tokens"]
            max_tokens = max_tokens_default if pd.isna(max_tokens) else int(max_tokens)
            rows.append(
                {
                    "request_id": rid,
                    "segment": seg["segment"],
                    "region": row["region"],
                    "output_shape": row["output_shape"],
                    "current_model_id": row["model_id_raw"],
                    # behind the request's own geo profile, as it was called
                    "candidate_model_id": model_id_for(seg["candidate_model"], _geo(row)),
                    "candidate_model": seg["candidate_model"],
                    "system": system,
                    "user": user,
                    "max_tokens": max_tokens,
                    "temperature": row["temperature"],
                }
            )
    return pd.DataFrame(rows)


def _geo(row: pd.Series) -> str:
    geo = row.get("geo")
    return "none" if geo is None or pd.isna(geo) else str(geo)


def estimate_cost(plan: pd.DataFrame, usage: pd.DataFrame, catalog: Any) -> dict[str, Any]:
    """Estimated cost of the replay: the logged tokens, uncached, on each model.

    ``current_usd`` / ``candidate_usd`` are totals only when every call of that side is
    priced; otherwise they are NaN (the total is unknown, never a partial sum counted as the
    whole) and ``*_priced_usd`` holds the sum over the priced calls, ``*_unpriced`` the number
    of calls without a price and ``unpriced_reasons`` the reasons with their counts.
    """
    empty = {
        "current_usd": 0.0,
        "candidate_usd": 0.0,
        "current_priced_usd": 0.0,
        "candidate_priced_usd": 0.0,
        "current_unpriced": 0,
        "candidate_unpriced": 0,
        "unpriced_reasons": {},
    }
    if plan.empty:
        return empty
    ids = usage["request_id"].astype(str)
    # the columns pricing reads: selecting rows of every column copies the user turns too
    sub = price_columns(usage, "request_id")[ids.isin(set(plan["request_id"]))].copy()
    sub["input_tokens"] = total_input_tokens(sub)
    sub[["cache_read_tokens", "cache_write_tokens"]] = 0
    cand_of = plan.set_index("request_id")["candidate_model"]
    sides = {
        "current": catalog.price(sub),
        "candidate": catalog.price(sub, model=sub["request_id"].astype(str).map(cand_of)),
    }
    out: dict[str, Any] = {"unpriced_reasons": {}}
    for side, priced in sides.items():
        ok = priced["priced"].astype(bool)
        partial = float(priced.loc[ok, "cost_usd"].sum())
        missing = int((~ok).sum())
        out[f"{side}_priced_usd"] = partial
        out[f"{side}_unpriced"] = missing
        out[f"{side}_usd"] = partial if missing == 0 else float("nan")
        for reason, count in priced.loc[~ok, "unpriced_reason"].value_counts().items():
            out["unpriced_reasons"][f"{side}: {reason}"] = int(count)
    return out


# Converse errors that say the candidate itself could not answer the request (Bedrock API
# reference, Converse errors): a request it refuses (ValidationException: input too long for
# its context, content it does not take), fails on (ModelErrorException) or does not finish in
# time (ModelTimeoutException) counts against it, scored 0. Any other error (ThrottlingException,
# ServiceUnavailableException, a call that never reached Bedrock, ...) says nothing of its
# answers: the request is not scored. Nor is one whose candidate model ID Bedrock refused
# (``MODEL_ID_REFUSED``), a ValidationException too: the call never reached the model.
CANDIDATE_FAILURES = frozenset(
    {"ValidationException", "ModelErrorException", "ModelTimeoutException"}
)
# Bedrock's messages for a model ID it cannot call as asked, not for the request's content
# (Converse, as AWS returns them; the apostrophe is a typographic one, or a plain one):
# - ValidationException "Invocation of model ID anthropic.claude-3-5-haiku-20241022-v1:0 with
#   on-demand throughput isn’t supported. Retry your request with the ID or ARN of an
#   inference profile that contains this model." and "The provided model doesn't support
#   on-demand throughput.": the model runs only behind an inference profile;
# - ValidationException "The provided model identifier is invalid." (a profile or model the
#   Region does not have) and "This action doesn't support the model that you provided. Try
#   again with a supported text or chat model.";
# - AccessDeniedException "You don't have access to the model with the specified model ID."
#   and ResourceNotFoundException "Model not found." (neither is scored whatever the message).
ON_DEMAND_REFUSED = re.compile(
    r"with on-demand throughput isn[’']t supported|doesn[’']t support on-demand throughput", re.I
)
MODEL_ID_REFUSED = re.compile(
    r"model identifier is invalid|doesn[’']t support the model that you provided"
    r"|access to the model with the specified model ID|model not found",
    re.I,
)


def model_id_refusal(exc: Exception, model_id: str, candidate: str, region: str) -> str | None:
    """Why Bedrock refused to call the candidate by ``model_id`` from ``region`` at all (it
    runs the model only behind an inference profile, does not know the ID there, or the
    account has no access to it), with the fix; None for an error about the request itself."""
    message = _error_message(exc)
    refused = f"Bedrock refused the candidate's model ID {model_id} from {region}"
    remap = (
        "; requests logged through an application inference profile are replayed behind its "
        "geo once profile_map maps the profile to its geo profile's model ID (ingest and "
        "sample again)"
    )
    if ON_DEMAND_REFUSED.search(message):
        return (
            f"{refused}: the model runs only behind an inference profile ({_error_code(exc)}: "
            "on-demand throughput isn't supported); call it behind "
            f"{_geo_profile(model_id, candidate, region)}{remap}"
        )
    if MODEL_ID_REFUSED.search(message):
        return (
            f"{refused} ({_error_code(exc)}: {message.strip()}); call it by an ID Bedrock "
            "takes there: behind a geo profile the model has, in a Region that offers it, "
            f"with model access granted{remap}"
        )
    return None


def _geo_profile(model_id: str, candidate: str, region: str) -> str:
    """The geo profile to call ``candidate`` behind from ``region``, as the catalog knows it."""
    geo = region_geo(region)
    if resolve(model_id).geo != "none":
        return "a geo profile the model has"
    missing = missing_profile(candidate, geo)
    if missing is None:
        return f"a geo profile ({geo}.{model_id})"
    return f"a geo profile it has ({missing})"


def replay(
    plan: pd.DataFrame, client_for: Callable[[str], Any]
) -> tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]]]:
    """Call both models for every planned request; return (results, responses, errors).

    The current model is called first: its answer is the reference. A request the candidate
    could not answer once the current model had (``CANDIDATE_FAILURES``) is a result scored 0,
    with its ``candidate_error``; a request either call of which failed otherwise (throttled,
    unreachable, or the candidate's model ID refused: :func:`model_id_refusal`) is not scored.
    All are listed in the errors with their ``outcome``, a refused model ID with its
    ``reason``.

    Credentials that cannot be loaded (none, an SSO login missing or expired) or that AWS
    refuses (expired, unknown or mistyped keys) fail every call alike: they are raised, for the
    command to say what to fix, not noted once per request.
    Lost mid-run (an SSO login that expires during a long replay), they raise
    :class:`CredentialsLost`, which holds what was done (and paid for) until then."""
    from bedrock_finops.sources.source_errors import credential_setup_errors

    no_credentials = credential_setup_errors()
    results: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for _, r in plan.iterrows():
        answers = _call_both(client_for(r["region"]), r, no_credentials, results, errors, responses)
        failed = next((side for side in ("current", "candidate") if side not in answers), None)
        if failed is None:
            ref, ans = response_text(answers["current"]), response_text(answers["candidate"])
            results.append(_result(r, answers["current"], answers["candidate"], ref, ans))
            responses.append({"request_id": r["request_id"], "current": ref, "candidate": ans})
            continue
        exc = answers[f"{failed}_error"]
        outcome, reason = NOT_SCORED, None
        if failed == "candidate":
            reason = model_id_refusal(
                exc, r["candidate_model_id"], r["candidate_model"], r["region"]
            )
            if reason is None and _error_code(exc) in CANDIDATE_FAILURES:
                outcome = SCORED_ZERO
                ref = response_text(answers["current"])
                results.append(_result(r, answers["current"], None, ref, "", error=str(exc)))
                responses.append({"request_id": r["request_id"], "current": ref, "candidate": None})
        error = {
            "request_id": r["request_id"],
            "segment": r["segment"],
            "model": failed,
            "error": str(exc),
            "outcome": outcome,
        }
        errors.append(error if reason is None else {**error, "reason": reason})
    return _frame(results), responses, errors


def _call_both(
    client: Any,
    r: pd.Series,
    no_credentials: tuple[type, ...],
    results: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    responses: list[dict[str, Any]],
) -> dict[str, Any]:
    """The current model's response, then the candidate's; at the first call that fails,
    its error as ``<side>_error`` (the candidate is not called when the current model fails).
    A credentials failure is raised (see :func:`replay`)."""
    from botocore.exceptions import BotoCoreError, ClientError

    answers: dict[str, Any] = {}
    for side in ("current", "candidate"):
        kw = converse_kwargs(
            r[f"{side}_model_id"], r["system"], r["user"], r["max_tokens"], r["temperature"]
        )
        try:
            answers[side] = client.converse(**kw)
        except (ClientError, BotoCoreError) as exc:
            stop = _credentials_failure(exc, no_credentials)
            if stop is None:  # this request's own failure: noted, and the replay goes on
                answers[f"{side}_error"] = exc
                return answers
            if not results and not errors:
                raise stop from None
            raise CredentialsLost(_frame(results), responses, errors, stop) from None
    return answers


def _error_code(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""


def _error_message(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", ""))
    return ""


def _result(
    r: pd.Series,
    current: dict[str, Any],
    candidate: dict[str, Any] | None,
    ref: str,
    ans: str,
    error: str | None = None,
) -> dict[str, Any]:
    """One scored request: the candidate's agreement with the current model's answer, or 0
    when the candidate failed on it (``error``)."""
    score = 0.0 if candidate is None else round(agreement(ref, ans, r["output_shape"]), 4)
    return {
        "request_id": r["request_id"],
        "segment": r["segment"],
        "current_score": 1.0,
        "candidate_score": score,
        "scorer": f"agreement with current model ({r['output_shape']})"
        if candidate is not None
        else SCORED_ZERO,
        "current_model_id": r["current_model_id"],
        "candidate_model_id": r["candidate_model_id"],
        "current_output_tokens": current["usage"]["outputTokens"],
        "candidate_output_tokens": None
        if candidate is None
        else candidate["usage"]["outputTokens"],
        "current_latency_ms": current["metrics"]["latencyMs"],
        "candidate_latency_ms": None if candidate is None else candidate["metrics"]["latencyMs"],
        "candidate_error": error,
    }


def _credentials_failure(exc: Exception, no_credentials: tuple[type, ...]) -> Exception | None:
    """The error to stop the replay with when ``exc`` is the credentials' (none could be
    loaded, or AWS refused them: expired, unknown or mistyped keys, a skewed clock), as every
    later call would fail alike; None for a failure of the request's own."""
    from botocore.exceptions import ClientError

    from bedrock_finops.sources.source_errors import credentials_error

    if isinstance(exc, no_credentials):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return credentials_error(
            error.get("Code", ""), error.get("Message", ""), "Bedrock (Converse)", "calling"
        )
    return None


def _frame(results: list[dict[str, Any]]) -> pd.DataFrame:
    cols = RESULT_COLUMNS + ["scorer", "current_model_id", "candidate_model_id", "candidate_error"]
    return pd.DataFrame(results) if results else pd.DataFrame(columns=cols)


class CredentialsLost(Exception):
    """Credentials stopped working partway through a replay: the results, responses and
    errors until then (calls already paid for), and the credential error (``cause``)."""

    def __init__(
        self,
        results: pd.DataFrame,
        responses: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        cause: Exception,
    ) -> None:
        super().__init__(str(cause))
        self.results, self.responses, self.errors, self.cause = results, responses, errors, cause


def run_live(
    manifest: dict[str, Any],
    usage: pd.DataFrame,
    prompts: pd.DataFrame | None,
    catalog: Any,
    out_dir: Path,
    *,
    apply: bool = False,
    max_tokens_default: int = 1024,
    client_for: Callable[[str], Any] | None = None,
    echo: Callable[[str], None] = print,
    user_text: pd.Series | ParquetColumn | None = None,
) -> int:
    """Dry run (calls, counts, estimated cost) or, with ``apply``, the replay itself."""
    plan = replay_plan(
        manifest, usage, prompts, max_tokens_default=max_tokens_default, user_text=user_text
    )
    est = estimate_cost(plan, usage, catalog)
    calls = f"live replay: {len(plan)} requests x 2 models = {2 * len(plan)} Converse calls"
    unpriced = est["current_unpriced"] + est["candidate_unpriced"]
    if not unpriced:
        total = est["current_usd"] + est["candidate_usd"]
        echo(
            f"{calls}, estimated {usd(total, 4)} (current {usd(est['current_usd'], 4)}, "
            f"candidate {usd(est['candidate_usd'], 4)}; logged tokens, uncached)"
        )
    else:
        priced = est["current_priced_usd"] + est["candidate_priced_usd"]
        echo(
            f"{calls}, estimated cost UNKNOWN: {unpriced} of {2 * len(plan)} calls have no "
            f"price (current {est['current_unpriced']}, candidate {est['candidate_unpriced']}); "
            f"the {2 * len(plan) - unpriced} priced calls come to {usd(priced, 4)} (current "
            f"{usd(est['current_priced_usd'], 4)}, candidate "
            f"{usd(est['candidate_priced_usd'], 4)}; "
            "logged tokens, uncached), a lower bound, not the total"
        )
        for reason, count in est["unpriced_reasons"].items():
            echo(f"  unpriced: {count} x {reason}")
    for (seg, cur, cand, region), g in plan.groupby(
        ["segment", "current_model_id", "candidate_model_id", "region"], sort=True
    ):
        echo(f"  {seg} [{region}]: {len(g)} x converse({cur}) and converse({cand})")
    if not apply:
        echo("dry run: nothing was called. Add --apply to call Bedrock.")
        return 0
    if unpriced:
        echo(
            f"warning: calling Bedrock with {unpriced} unpriced call(s): the replay costs more "
            "than the priced part shown above"
        )
    if client_for is None:
        import boto3

        clients: dict[str, Any] = {}

        def client_for(region: str) -> Any:
            if region not in clients:
                clients[region] = boto3.client("bedrock-runtime", region_name=region)
            return clients[region]

    try:
        results, responses, errors = replay(plan, client_for)
    except CredentialsLost as lost:  # keep what was paid for, then say what to fix
        _write_replay(out_dir, lost.results, lost.responses, lost.errors, echo)
        echo(
            f"stopped after {_requests_done(lost.results, lost.errors)} of {len(plan)} requests: "
            "the credentials stopped working; run again once they work to score the rest"
        )
        raise lost.cause from None
    return _write_replay(out_dir, results, responses, errors, echo)


def _write_replay(
    out_dir: Path,
    results: pd.DataFrame,
    responses: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    echo: Callable[[str], None],
) -> int:
    """Write the replay's scores, answers and failed requests; 1 when any request failed.

    The folder's files are this replay's: an earlier replay's ``replay_errors.json`` is
    removed when this one has no failed request, as its scores are replaced too."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results.to_csv(out_dir / "eval_results.csv", index=False)
    with (out_dir / "responses.jsonl").open("w", encoding="utf-8") as fh:
        for r in responses:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    zero = sum(e["outcome"] == SCORED_ZERO for e in errors)
    echo(
        f"wrote {len(results)} scored requests to {out_dir / 'eval_results.csv'}"
        + (f" ({zero} of them candidate errors, scored 0)" if zero else "")
    )
    if errors:
        reasons = pd.Series([e["reason"] for e in errors if "reason" in e], dtype="object")
        refused = (
            f", {len(reasons)} not scored as Bedrock refused the candidate's model ID"
            if len(reasons)
            else ""
        )
        (out_dir / REPLAY_ERRORS).write_text(json.dumps(errors, indent=2) + "\n", encoding="utf-8")
        echo(
            f"{len(errors)} request(s) failed: {zero} candidate error(s) scored 0, "
            f"{len(errors) - zero - len(reasons)} not scored (throttled or not reached)"
            f"{refused}; see {out_dir / REPLAY_ERRORS}"
        )
        for reason, count in reasons.value_counts(sort=True).items():
            echo(f"  not scored: {count} x {reason}")
        return 1
    (out_dir / REPLAY_ERRORS).unlink(missing_ok=True)
    return 0


def _requests_done(results: pd.DataFrame, errors: list[dict[str, Any]]) -> int:
    """Requests replayed until now: scored, failed, or both (a candidate error scored 0)."""
    return len(set(results["request_id"]) | {e["request_id"] for e in errors})
