"""The quality gate: adopt a cheaper model only where it reaches 90% of the current quality.

``bedrock-finops eval-sample`` draws, per recommended segment, a sample of its requests
stratified by hour of day and output length, and writes each as a JSONL dataset in the record
shape Amazon Bedrock model evaluation jobs read (``prompt``, ``category``, and
``referenceResponse`` when one is known), plus ``manifest.json`` mapping every line back to
its ``request_id``. A request whose user turn holds no text (not logged, or logged empty) or
sent media, inline or by reference, by the rules batch inference keeps its records to
(:func:`user_turn_problems`), or whose template's text was not kept, cannot be sent: it is left
out of the draw, so a segment with enough requests that can be sent gives the full sample, and
those left out are counted per reason over the whole segment. Scores come back as
a CSV (``request_id, segment, current_score, candidate_score``), from an evaluation job or
from the live replay in :mod:`bedrock_finops.replay`; :func:`evaluate` accepts a segment's
recommendation when ``mean(candidate_score) / mean(current_score) >= threshold``, once at
least 80% of the requests its sample wrote are scored (``MIN_SCORED_SHARE``): a request the
candidate could not answer scores 0, a throttled or unreached one is not scored, and below
that share the segment stays pending evaluation. The results are read beside the sample's
``manifest.json``, which gives each segment's sample size and the candidate it was drawn for:
scores taken on another candidate than the one the plan proposes decide nothing.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops import segments as seg_mod
from bedrock_finops.batch_records import turns_without_text
from bedrock_finops.column_take import ParquetColumn, rows_of, text_parts
from bedrock_finops.media_blocks import any_media, media_sent_in, requests_with_media
from bedrock_finops.notebook_exec import write_whole
from bedrock_finops.run_settings import (
    PRICE_SETTINGS,
    RunSettings,
    RunSettingsError,
    check_prices,
    notebook_settings,
)
from bedrock_finops.segments import template_texts
from bedrock_finops.sources import own_output
from bedrock_finops.sources.own_output import EVAL_SAMPLE_KIND, mark
from bedrock_finops.terminal_text import print_line
from bedrock_finops.user_paths import path_argument

RESULT_COLUMNS = ["request_id", "segment", "current_score", "candidate_score"]
DEFAULT_THRESHOLD = 0.9
# A segment is decided (accept or reject) once this share of the requests its sample wrote is
# scored; a candidate error scores 0, a throttled or unreached request is not scored.
MIN_SCORED_SHARE = 0.8
# A replayed request's outcome when a call failed (``replay_errors.json``): scored 0 (the
# candidate could not answer it), or not scored (no evidence of the candidate's answers)
SCORED_ZERO = "candidate error: scored 0"
NOT_SCORED = "not scored"
REPLAY_ERRORS = "replay_errors.json"
NO_MANIFEST = "no eval-sample manifest.json beside the results"
# Why a sampled request's user turn cannot be sent as its prompt's text (the manifest's
# ``skipped`` counts them): the rules batch inference applies to its records
NO_USER_TEXT = "no user_text in the logs for this request"
BLANK_USER_TEXT = (
    "the user turn was logged empty or white space only, which Bedrock refuses as a text block"
)
MEDIA_USER_TURN = (
    "the user turn sent images, documents, video or audio, kept only as placeholders or, sent "
    "by reference, as the block's JSON"
)
NO_TEMPLATE_TEXT = "template text not kept in prompts.parquet"
# user turns searched at once, of a column held in memory (a file's are read a row group at a
# time): the sample's segments may hold most of a month's turns, ~3 GB
TURN_BLOCK_ROWS = 100_000
HOUR_BLOCKS = 4  # strata by time of day: 00-06, 06-12, 12-18, 18-24 UTC
LENGTH_BINS = 3  # strata by output length: terciles within the segment

# Scrubbed from prompt text before it leaves the run folder (``scrub=False`` keeps the text).
SCRUB_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[EMAIL]", re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")),
    ("[CARD]", re.compile(r"\b(?:\d[ -]?){13,19}\b")),
    ("[PHONE]", re.compile(r"\+?\d{1,3}[ .-]?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b")),
    ("[AWS_KEY]", re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")),
)


# ---------------------------------------------------------------------------------------------
# Sampling


def strata(seg_usage: pd.DataFrame) -> pd.Series:
    """Stratum label per request: time-of-day block x output-length tercile."""
    hours = seg_usage["timestamp"].dt.hour.astype("int64")
    block = (hours // (24 // HOUR_BLOCKS)).astype(str)
    out = seg_usage["output_tokens"].astype("float64")
    if out.nunique() > 1:
        ranks = out.rank(method="first")
        length = pd.qcut(ranks, min(LENGTH_BINS, out.nunique()), labels=False).astype(str)
    else:
        length = pd.Series("0", index=seg_usage.index)
    return ("h" + block + "/len" + length).rename("stratum")


def stratified_sample(seg_usage: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` requests spread over strata in proportion to their size (largest remainder).

    Every non-empty stratum gets at least one request when ``n`` allows it.
    """
    if len(seg_usage) <= n:
        return seg_usage.assign(stratum=strata(seg_usage))
    labels = strata(seg_usage)
    sizes = labels.value_counts().sort_index()
    quota = sizes / sizes.sum() * n
    alloc = np.floor(quota).astype(int)
    if n >= len(sizes):
        alloc = alloc.clip(lower=1)
    while alloc.sum() > n:  # the minimum of one pushed us over: trim the largest
        alloc[alloc.idxmax()] -= 1
    rest = (quota - np.floor(quota)).sort_values(ascending=False, kind="stable")
    for label in rest.index:
        if alloc.sum() >= n:
            break
        if alloc[label] < sizes[label]:
            alloc[label] += 1
    rng = np.random.default_rng(seed)
    picked = []
    for label, k in alloc.items():
        at = np.flatnonzero((labels == label).to_numpy())  # positions: any index will do
        if k > 0:
            picked.extend(rng.choice(at, size=min(k, len(at)), replace=False).tolist())
    order = np.sort(np.asarray(picked, dtype=np.intp))  # in table order
    return seg_usage.iloc[order].assign(stratum=labels.iloc[order].to_numpy())


def scrub(text: str) -> str:
    for token, pattern in SCRUB_RULES:
        text = pattern.sub(token, text)
    return text


def user_turn_problems(
    turns: pd.Series | ParquetColumn, media: np.ndarray | None = None
) -> list[str]:
    """Per user turn (``user_text`` values): why it cannot be sent as a prompt's text, ""
    when it can. The rules batch inference keeps its records to, so the two agree: a turn
    with no text (none, or empty or white space only: ``batch_records.turns_without_text``),
    or one that sent media, inline or by reference (``media_blocks.media_sent_in``), which a
    text prompt would replace by a placeholder or the block's JSON. ``media``: per turn,
    whether its request sent media in any turn (``media_blocks.requests_with_media``, from the
    usage table's ``media_sent``); when None, the turns themselves are searched. Arrow's
    search over the whole sample at once, not a regex per request."""
    problems: list[str] = []
    for lo, hi, values in text_parts(turns):
        unlogged = np.asarray(values.is_null(), dtype=bool)
        blank = turns_without_text(values)
        sent_media = any_media(media_sent_in(values)) if media is None else media[lo:hi]
        problems.extend(
            NO_USER_TEXT if none else BLANK_USER_TEXT if empty else MEDIA_USER_TURN if sent else ""
            for none, empty, sent in zip(unlogged, blank, sent_media, strict=True)
        )
    return problems


def prompt_parts(
    row: pd.Series, texts: dict[str, str], turn_problem: str | None = None
) -> tuple[str | None, str | None, str]:
    """(system text, user text, reason) for one request; reason is "" when usable.

    ``turn_problem``: the row's :func:`user_turn_problems` answer, read here when not given
    (pass it for many rows: one search over all their turns is far cheaper)."""
    user = row.get("user_text")
    user = None if user is None or pd.isna(user) else str(user)
    if turn_problem is None:
        kinds = row.get("media_sent", False)  # False: a row without the column
        sent = None if kinds is False else np.array([isinstance(kinds, str) and kinds != ""])
        turn_problem = user_turn_problems(pd.Series([user], dtype=object), sent)[0]
    sh = row.get("system_hash")
    has_template = sh is not None and not pd.isna(sh)
    system = texts.get(str(sh)) if has_template else None
    if turn_problem:
        return system, None, turn_problem
    if has_template and system is None:
        return None, user, NO_TEMPLATE_TEXT
    return system, user, ""


def turn_problems_at(
    turns: pd.Series | ParquetColumn, positions: np.ndarray, media: np.ndarray | None = None
) -> np.ndarray:
    """:func:`user_turn_problems` of the rows at ``positions`` (ascending), searched a part of
    the column at a time (a row group of the file, or :data:`TURN_BLOCK_ROWS` rows in memory),
    so the turns of many requests are never all held at once. ``media``: per row of the whole
    column, as :func:`user_turn_problems` takes it."""
    if isinstance(turns, ParquetColumn):
        bounds = turns.starts
    else:
        bounds = np.append(np.arange(0, len(turns), TURN_BLOCK_ROWS), len(turns))
    cuts = np.searchsorted(positions, bounds)
    problems = np.full(len(positions), "", dtype=object)
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        if hi > lo:
            at = positions[lo:hi]
            sent = None if media is None else media[at]
            problems[lo:hi] = user_turn_problems(rows_of(turns, at), sent)
    return problems


def send_problems(
    rows: pd.DataFrame, turn_problems: np.ndarray | list[str], templates: dict[str, str]
) -> np.ndarray:
    """Per request of ``rows`` (with ``system_hash``), why its prompt cannot be sent, "" when
    it can: its user turn's problem (``turn_problems``, from :func:`user_turn_problems`), else
    its template's text not kept. :func:`prompt_parts`'s rules, for many requests at once."""
    hashes = rows["system_hash"]
    no_template = (hashes.notna() & ~hashes.astype("string").isin(list(templates))).to_numpy()
    problems = np.asarray(turn_problems, dtype=object).copy()
    problems[(problems == "") & no_template] = NO_TEMPLATE_TEXT
    return problems


def dataset_prompt(system: str | None, user: str) -> str:
    """One prompt string for an evaluation job: the template, a blank line, the user turn."""
    return f"{system}\n\n{user}" if system else user


def _earlier_sample_files(out_dir: Path) -> frozenset[str]:
    """The files an earlier eval sample in ``out_dir`` wrote, by its manifest (marked, or an
    older one with the same ``segments``), its own manifest aside: the datasets it named and
    its replay's scores, answers and failed requests. A new sample there removes those it does
    not write again, so no segment's old dataset is left for an evaluation (or an ingest) to
    take for this sample's, nor the earlier replay's scores read as this sample's (they may be
    of another candidate, on the same requests)."""
    found = own_output.earlier_output(out_dir, [p.name for p in out_dir.iterdir()])
    if found is not None and found.reason == own_output.EARLIER_EVAL_SAMPLE:
        return found.files - {own_output.RUN_MANIFEST}
    if found is not None:
        return frozenset()
    doc, _ = _sample_manifest(out_dir / own_output.RUN_MANIFEST)
    if doc is None:
        return frozenset()
    named = {e.get("file") for e in doc["segments"]}
    datasets = {f for f in named if isinstance(f, str) and f and "/" not in f}
    return (own_output.EVAL_SAMPLE_FILES - {own_output.RUN_MANIFEST}) | datasets


def write_eval_sample(
    usage: pd.DataFrame,
    prompts: pd.DataFrame | None,
    recommended: pd.DataFrame,
    out_dir: str | Path,
    *,
    per_segment: int = 50,
    seed: int = 7,
    do_scrub: bool = True,
    run_dir: str | Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    user_text: pd.Series | ParquetColumn | None = None,
) -> dict[str, Any]:
    """Write one JSONL dataset per recommended segment and ``manifest.json``; return it.

    ``recommended`` is ``SizingPlan.recommended`` (or any frame with segment, app, model,
    candidate, task_type and, optionally, candidate_model_ids). ``user_text``: where the user
    turns are when ``usage`` was read without them (``RunContext.user_text_column``).
    """
    if per_segment < 1:
        raise ValueError("per_segment must be at least 1")
    if seed < 0:
        raise ValueError("seed must be 0 or more")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    earlier = _earlier_sample_files(out_dir)
    templates = template_texts(prompts)
    texts = usage["user_text"] if user_text is None else user_text
    seg_rows = seg_mod.row_positions(seg_mod.row_segments(usage))
    # sampled on these columns; the user turns (~3 GB in a month) are searched a part at a
    # time for the requests that cannot be sent, and read whole for the sample only
    narrow = usage[["request_id", "timestamp", "output_tokens", "system_hash"]]
    narrow = narrow.assign(_at=np.arange(len(usage)))
    turn_problems = _turn_problems_of_segments(
        texts, seg_rows, recommended["segment"], requests_with_media(usage)
    )
    entries = []
    for i, (_, rec) in enumerate(recommended.iterrows()):
        seg_usage = narrow.iloc[seg_rows.get(rec["segment"], [])]
        problems = send_problems(seg_usage, turn_problems[seg_usage["_at"].to_numpy()], templates)
        # the draw is of the requests that can be sent: those that cannot are counted instead
        skipped = dict(Counter(problems[problems != ""].tolist()).most_common())
        usable = seg_usage[problems == ""]
        sample = stratified_sample(usable, per_segment, seed + i)
        sample["user_text"] = rows_of(texts, sample["_at"].to_numpy()).array
        fname = f"{_safe(rec['segment'])}.jsonl"
        lines, ids = [], []
        for _, row in sample.iterrows():
            system, user, _ = prompt_parts(row, templates, turn_problem="")
            assert user is not None  # its turn was searched with the segment's: it holds text
            prompt = dataset_prompt(system, user)
            record = {"prompt": scrub(prompt) if do_scrub else prompt, "category": rec["segment"]}
            lines.append(json.dumps(record, ensure_ascii=False))
            ids.append(str(row["request_id"]))
        (out_dir / fname).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
        entries.append(
            {
                "segment": rec["segment"],
                "app": rec["app"],
                "current_model": rec["model"],
                "candidate_model": rec["candidate"],
                "candidate_model_ids": rec.get("candidate_model_ids"),
                "task_type": rec["task_type"],
                "requests_in_segment": len(seg_usage),
                "usable_requests": len(usable),
                "sampled": len(sample),
                "written": len(ids),
                "skipped": skipped,
                "strata": sample["stratum"].value_counts().sort_index().to_dict(),
                "file": fname,
                "request_ids": ids,
            }
        )
    for stale in earlier - {e["file"] for e in entries}:  # not this sample's: an earlier one's
        (out_dir / stale).unlink(missing_ok=True)
    manifest = {
        **mark(EVAL_SAMPLE_KIND),  # first: an ingest does not read the folder as logs
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_dir": str(run_dir) if run_dir else None,
        "per_segment": per_segment,
        "seed": seed,
        "scrubbed": do_scrub,
        "threshold": threshold,
        "dataset_format": (
            "Amazon Bedrock model evaluation custom prompt dataset (JSONL): prompt = template "
            "text + blank line + last user turn; category = segment id. No referenceResponse: "
            "invocation logs read by this toolkit keep no output text. Line N of a file is "
            "request_ids[N-1]."
        ),
        "results_format": (
            "CSV with columns request_id, segment, current_score, candidate_score, one row per "
            "request, written in this folder (the gate reads each segment's sample size from "
            "this manifest); pass it to the model_sizing notebook as eval_results"
        ),
        "segments": entries,
    }
    # whole or not at all: a full disk left it cut short, and the gate could not read the sample
    write_whole(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def _turn_problems_of_segments(
    turns: pd.Series | ParquetColumn,
    seg_rows: dict[str, np.ndarray],
    segments: pd.Series,
    media: np.ndarray | None,
) -> np.ndarray:
    """Per usage row, :func:`user_turn_problems` for the rows of ``segments`` ("" elsewhere):
    one pass over the column for all of them."""
    problems = np.full(len(turns), "", dtype=object)
    mine = [np.asarray(seg_rows.get(seg, []), dtype=np.int64) for seg in segments]
    at = np.unique(np.concatenate([np.empty(0, dtype=np.int64), *mine]))
    problems[at] = turn_problems_at(turns, at, media)
    return problems


def _safe(segment: str) -> str:
    return re.sub(r"[^\w.-]+", "_", segment)


# ---------------------------------------------------------------------------------------------
# Reading scores back


def check_eval_results_file(path: str | Path) -> None:
    """The evaluation results a params file names must exist."""
    if not Path(path).exists():
        raise FileNotFoundError(
            f"eval_results file {path} not found; write one with `bedrock-finops eval-sample "
            "--live --apply` or from a Bedrock evaluation job (columns: "
            f"{', '.join(RESULT_COLUMNS)})"
        )


def read_eval_results(path: str | Path, usage: pd.DataFrame) -> pd.DataFrame:
    """Read and check an evaluation results CSV against the run it scores."""
    path = Path(path)
    check_eval_results_file(path)
    df = pd.read_csv(path, dtype={"request_id": str, "segment": str})
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"eval results {path} lack columns {missing}; it needs {RESULT_COLUMNS} "
            f"(found {list(df.columns)})"
        )
    for col in ("current_score", "candidate_score"):
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = vals.isna()
        if bad.any():
            raise ValueError(
                f"eval results {path}: {int(bad.sum())} row(s) have a non-numeric or empty "
                f"{col} (first at request_id {df.loc[bad, 'request_id'].iloc[0]}); "
                "give every request a number"
            )
        df[col] = vals.astype("float64")
    twice = df["request_id"][df["request_id"].duplicated()].unique()
    if len(twice):
        raise ValueError(
            f"eval results {path}: {len(twice)} request_id(s) are scored more than once, e.g. "
            f"{twice[:3].tolist()}; give each request one row (its scores averaged)"
        )
    ids = usage["request_id"].astype(str)
    known = set(ids)
    unknown = df.loc[~df["request_id"].isin(known), "request_id"]
    if len(unknown):
        raise ValueError(
            f"eval results {path}: {len(unknown)} request_id(s) are not in this run, e.g. "
            f"{unknown.head(3).tolist()}; score requests sampled from this run's "
            "usage.parquet (eval-sample manifest.json lists them)"
        )
    actual = pd.Series(seg_mod.row_segments(usage).to_numpy(), index=ids.to_numpy())
    wrong = df["segment"] != df["request_id"].map(actual)
    if wrong.any():
        first = df[wrong].iloc[0]
        raise ValueError(
            f"eval results {path}: {int(wrong.sum())} row(s) name a segment their request is "
            f"not in, e.g. request {first['request_id']} is in segment "
            f"{actual[first['request_id']]!r}, not {first['segment']!r}"
        )
    return df[RESULT_COLUMNS + [c for c in df.columns if c not in RESULT_COLUMNS]]


@dataclass(frozen=True)
class EvalSample:
    """What the eval sample beside a results file says of its segments.

    ``written``: the requests it wrote per segment, None when its size is unknown (``unknown``
    says why); ``drawn``: the requests it drew per segment, ``skipped``: why the segment's
    requests that cannot be sent were left out of the draw, with their counts (of those it
    drew, in a manifest an older version wrote); ``candidates``: the candidate each segment's
    sample was drawn for; ``not_scored``: per segment, why requests its replay called were not
    scored, with their counts (the replay's ``replay_errors.json`` beside the results)."""

    written: dict[str, int] | None
    unknown: str = NO_MANIFEST
    drawn: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)
    candidates: dict[str, str] = field(default_factory=dict)
    not_scored: dict[str, dict[str, int]] = field(default_factory=dict)


def read_sample(path: str | Path, results: pd.DataFrame) -> EvalSample:
    """The eval sample whose ``manifest.json`` is beside the results file ``path``
    (eval-sample writes both into its folder): a manifest this version writes, or one an older
    version wrote (no ``tool``/``kind`` mark, the same ``segments`` and ``request_ids``).

    Every scored request must be one the sample wrote for its segment: scores of another
    sample (an earlier one in the folder) would be counted as this one's."""
    manifest = Path(path).parent / own_output.RUN_MANIFEST
    doc, unknown = _sample_manifest(manifest)
    if doc is None:
        return EvalSample(None, unknown)
    entries = doc["segments"]
    sampled = {e["segment"]: set(e["request_ids"]) for e in entries}
    outside = [
        rid
        for rid, seg in zip(results["request_id"], results["segment"], strict=True)
        if rid not in sampled.get(seg, ())
    ]
    if outside:
        raise ValueError(
            f"eval results {path}: {len(outside)} request(s) were not written by the sample "
            f"in {manifest}, e.g. {outside[:3]}; score this sample's requests (its manifest "
            "lists them) or keep each sample's results in its own folder"
        )
    return EvalSample(
        written={seg: len(ids) for seg, ids in sampled.items()},
        drawn={e["segment"]: e["sampled"] for e in entries if isinstance(e.get("sampled"), int)},
        skipped={e["segment"]: e["skipped"] for e in entries if isinstance(e.get("skipped"), dict)},
        candidates={
            e["segment"]: e["candidate_model"]
            for e in entries
            if isinstance(e.get("candidate_model"), str)
        },
        not_scored=_not_scored_reasons(manifest.parent),
    )


def _sample_manifest(manifest: Path) -> tuple[dict[str, Any] | None, str]:
    """An eval sample's manifest read, or None and why it cannot serve: missing, unreadable,
    or not an eval sample's (another kind of this tool's manifest, or no ``segments`` with
    their ``request_ids``). A manifest without the mark, written before it, serves."""
    if not manifest.is_file():
        return None, f"{NO_MANIFEST}, in {manifest.parent}"
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"the manifest.json beside the results, {manifest}, cannot be read: {exc}"
    entries = doc.get("segments") if isinstance(doc, dict) else None
    kind = doc.get("kind", EVAL_SAMPLE_KIND) if isinstance(doc, dict) else None
    usable = (
        kind == EVAL_SAMPLE_KIND
        and isinstance(entries, list)
        and all(
            isinstance(e, dict)
            and isinstance(e.get("segment"), str)
            and isinstance(e.get("request_ids"), list)
            for e in entries
        )
    )
    if not usable:
        return None, (
            f"the manifest.json beside the results, {manifest}, is not an eval sample's: it "
            "lists no segments with their request_ids"
        )
    return doc, ""


def _not_scored_reasons(folder: Path) -> dict[str, dict[str, int]]:
    """Per segment, why requests the replay in ``folder`` called were not scored, with their
    counts: the reasons its ``replay_errors.json`` gives (a model ID Bedrock refused)."""
    try:
        errors = json.loads((folder / REPLAY_ERRORS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, dict[str, int]] = {}
    for e in errors if isinstance(errors, list) else []:
        if isinstance(e, dict) and e.get("outcome") == NOT_SCORED and e.get("reason"):
            reasons = out.setdefault(str(e.get("segment")), {})
            reasons[e["reason"]] = reasons.get(e["reason"], 0) + 1
    return out


def evaluate(
    results: pd.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
    sample: EvalSample | dict[str, int] | None = None,
    proposed: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Per segment: n scored of ``written`` sampled, mean scores, ratio = mean(candidate) /
    mean(current), and whether the segment is decided and passed.

    ``sample``: the eval sample the results score (:func:`read_sample`), or only the requests
    it wrote per segment. A segment is decided only once at least ``MIN_SCORED_SHARE`` of the
    requests its sample wrote are scored: then it passes when the ratio reaches ``threshold``.
    A request the candidate could not answer (a candidate error in the replay) is scored 0; a
    throttled or unreached request, or one whose candidate model ID Bedrock refused, is not
    scored, and is no evidence either way. Below that share, without the sample's size, or
    with an empty sample, the segment stays pending evaluation and its verdict says why.
    ``proposed``: the candidate the plan proposes per segment; scores taken on another
    (``scored_candidate``: the results' ``candidate_model_id``, else the candidate the sample
    was drawn for) decide nothing. Segments of the sample with no score at all are listed too.
    """
    if not isinstance(sample, EvalSample):
        sample = EvalSample(sample) if sample is not None else EvalSample(None)
    written = sample.written
    g = results.groupby("segment", sort=True)
    out = g.agg(
        n=("request_id", "size"),
        current_mean=("current_score", "mean"),
        candidate_mean=("candidate_score", "mean"),
    )
    errors = results.get("candidate_error", pd.Series(np.nan, index=results.index))
    out["candidate_errors"] = errors.notna().groupby(results["segment"]).sum()
    out = out.reindex(sorted(set(out.index) | set(written or {})))
    out.index.name = "segment"
    out = out.reset_index()
    out["n"] = out["n"].fillna(0).astype("int64")
    out["candidate_errors"] = out["candidate_errors"].fillna(0).astype("int64")
    out["written"] = out["segment"].map(written or {}).astype("Int64")
    out["scored_share"] = (out["n"] / out["written"].astype("float64")).astype("float64")
    scored_on = _scored_candidates(results, sample)
    out["scored_candidate"] = out["segment"].map(scored_on).astype("object")
    other = [
        seg in (proposed or {}) and seg in scored_on and scored_on[seg] != proposed[seg]
        for seg in out["segment"]
    ]
    out["decided"] = (out["scored_share"] >= MIN_SCORED_SHARE).fillna(False).astype(bool)
    out["decided"] &= ~np.asarray(other, dtype=bool)
    ratio = np.where(out["current_mean"] > 0, out["candidate_mean"] / out["current_mean"], np.nan)
    out["ratio"] = ratio
    out["passed"] = out["decided"] & (out["ratio"] >= threshold)
    out["threshold"] = threshold
    out["verdict"] = [
        _other_candidate(row, proposed[row.segment]) if moved else _verdict(row, threshold, sample)
        for row, moved in zip(out.itertuples(), other, strict=True)
    ]
    return out[
        ["segment", "n", "written", "scored_share", "candidate_errors", "current_mean",
         "candidate_mean", "ratio", "scored_candidate", "decided", "passed", "threshold",
         "verdict"]
    ]  # fmt: skip


def _scored_candidates(results: pd.DataFrame, sample: EvalSample) -> dict[str, str]:
    """The candidate each segment's scores were taken on (its catalog key): the model the
    results name (the replay writes each request's ``candidate_model_id``), else the one the
    sample was drawn for. Several are named together (``a, b``)."""
    from bedrock_finops.models import resolve

    out = dict(sample.candidates)
    if "candidate_model_id" not in results:
        return out
    called = results[["segment", "candidate_model_id"]].dropna().drop_duplicates()
    for seg, ids in called.groupby("segment", sort=True)["candidate_model_id"]:
        keys = {resolve(str(mid)).key or str(mid) for mid in ids}
        out[seg] = ", ".join(sorted(keys))
    return out


def _other_candidate(row: Any, proposed: str) -> str:
    """The verdict on a segment whose scores were taken on another candidate than the plan's."""
    on = row.scored_candidate
    taken = f"scores were taken on {on}" if row.n else f"its sample was drawn for {on}"
    return f"{taken}; the plan now proposes {proposed}: sample and replay again"


def _verdict(row: Any, threshold: float, sample: EvalSample) -> str:
    """The gate's verdict on one segment, with the rule it applied."""
    if pd.isna(row.written):
        return (
            f"{row.n} requests scored, but the sample's size is unknown ({sample.unknown}): "
            "pending evaluation, as a segment is decided only once "
            f"{MIN_SCORED_SHARE:.0%} of its sampled requests are scored"
        )
    if row.written == 0:
        return _empty_sample(row.segment, sample)
    scored = f"{row.n} of {row.written} sampled requests"
    errors = (
        f", {row.candidate_errors} of them candidate errors scored 0"
        if row.candidate_errors
        else ""
    )
    if not row.decided:
        return (
            f"only {scored} scored{errors}: pending evaluation, as a segment is decided once "
            f"{MIN_SCORED_SHARE:.0%} of its sample is scored"
            + _why_not_scored(row.written - row.n, sample.not_scored.get(row.segment, {}))
        )
    if np.isnan(row.ratio):
        return f"current model scored 0 on {scored}{errors}: cannot compare, reject"
    sign, word = (">=", "accept") if row.passed else ("<", "reject")
    return (
        f"candidate reaches {row.ratio:.1%} of current quality on {scored}{errors} "
        f"({sign} {threshold:.0%}): {word}"
    )


def _why_not_scored(unscored: int, reasons: dict[str, int]) -> str:
    """Why a segment's requests went unscored: the replay's reasons (a model ID Bedrock
    refused, which replaying as it is cannot change), and for the rest the rule's."""
    said = "".join(f"; {count} not scored: {reason}" for reason, count in reasons.items())
    if unscored > sum(reasons.values()):
        said += " (a throttled or unreached request is not scored; replay it again)"
    return said


def _empty_sample(segment: str, sample: EvalSample) -> str:
    """The verdict on a segment whose sample wrote no request: nothing to score or replay."""
    drawn = sample.drawn.get(segment)
    skipped = sample.skipped.get(segment) or {}
    why = "; ".join(f"{count} x {reason}" for reason, count in skipped.items())
    if drawn:  # a manifest an older version wrote: it drew first, then left requests out
        what = f"it wrote none of the {drawn} requests it drew"
    elif skipped:  # the draw is of the requests that can be sent: the segment has none
        what = f"none of the segment's {sum(skipped.values())} requests can be sent"
    else:
        what = "it wrote none of the requests it drew"
    if why:
        what += f" ({why})"
    return (
        f"its sample is empty: {what}: pending evaluation, with nothing to score or replay. A "
        "request is written only with its user turn as text and its template's text: ingest "
        "logs that keep them (bodies over 100 KB with fetch_large_bodies) and sample again"
    )


# ---------------------------------------------------------------------------------------------
# CLI: bedrock-finops eval-sample


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "eval-sample",
        help="sample requests of each model-sizing recommendation for a quality evaluation",
        description=(
            "Write, per recommended segment, a stratified sample of requests as a Bedrock "
            "model evaluation dataset (JSONL) plus manifest.json. The sample is drawn from the "
            "requests that can be sent as text (a user turn logged as text, without media, and "
            "its template's text); the others are counted by reason. With --live, replay them on "
            "the current and the candidate model through bedrock-runtime Converse and write "
            "eval_results.csv (a dry run that prints calls and estimated cost unless --apply). "
            "It plans with the run's own model-sizing settings (what its 01_model_sizing "
            "notebook ran with, in its manifest.json: candidates, tier map, task overrides, "
            "prices, ...), else the notebook's defaults; a flag given overrides one."
        ),
    )
    p.add_argument(
        "--run",
        required=True,
        type=path_argument,
        help="run folder with usage.parquet, prompts.parquet",
    )
    p.add_argument(
        "--out", required=True, type=path_argument, help="folder to write the datasets into"
    )
    p.add_argument(
        "--per-segment",
        type=int,
        default=50,
        help="requests per segment, drawn from those that can be sent (50)",
    )
    p.add_argument("--seed", type=int, default=7, help="sampling seed (7)")
    # unset, each of these is the run's own setting (its manifest), so the sample is of the
    # segments and candidates its 01_model_sizing notebook showed; else the notebook's default
    p.add_argument("--price-sheet", type=path_argument, help="current, seed or a CSV path")
    p.add_argument("--price-overrides", type=path_argument, help="CSV of negotiated prices")
    p.add_argument("--discount-pct", type=float, help="flat discount, percent")
    p.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="APP=TASK",
        help="set a task type by hand (app or segment id), over the run's task_overrides; "
        "repeatable",
    )
    p.add_argument("--no-scrub", action="store_true", help="keep emails/phones/cards in prompts")
    p.add_argument("--live", action="store_true", help="replay on both models via Converse")
    p.add_argument("--apply", action="store_true", help="with --live: really call Bedrock")
    p.add_argument("--max-tokens", type=int, default=1024, help="when a request logged none")
    p.set_defaults(func=_cmd)


def _bad_arguments(args: Any) -> str | None:
    """What is wrong with the numbers given (checked before any folder is made), or None."""
    if args.per_segment < 1:
        return f"--per-segment {args.per_segment} must be a whole number of requests, 1 or more"
    if args.seed < 0:
        return f"--seed {args.seed} must be a whole number, 0 or more"
    if args.max_tokens < 1:
        return f"--max-tokens {args.max_tokens} must be a whole number of tokens, 1 or more"
    return None


def _out_problem(out: Path, run: Path) -> str | None:
    """Why ``--out`` cannot take the sample, or None: a file (or a path under one), the run's
    own folder, or any folder that holds a run's or an ingest's output (its manifest.json
    would be replaced, or the folder read as an eval sample); an earlier eval sample's folder
    is fine (it is replaced)."""
    elsewhere = f"write it to another folder (e.g. --out {run / 'eval'})"
    file = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if file is not None:
        where = "" if file == out else f": {file}"
        return f"--out {out}{where} is a file, not a folder; {elsewhere}"
    if out.resolve() == run.resolve():
        return (
            f"--out {out} is the run's own folder: the sample's manifest.json would replace the "
            f"run's; {elsewhere}"
        )
    if not out.is_dir():
        return None
    names = [p.name for p in out.iterdir()]
    found = own_output.earlier_output(out, names)
    if found is not None and found.reason != own_output.EARLIER_EVAL_SAMPLE:
        return f"--out {out} holds {found.reason}, which the sample would overwrite; {elsewhere}"
    if "usage.parquet" in names:
        return f"--out {out} holds a run's usage table (usage.parquet); {elsewhere}"
    return None


def _parse_overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--override {item!r}: use APP=TASK_TYPE")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


SIZING_NOTEBOOK = "01_model_sizing"
# the notebook's parameters eval-sample plans with, and the flag that overrides each
# (--override adds to task_overrides); not eval_results: the sample is what scores come from
_SIZING_SETTINGS: dict[str, str | None] = {
    "price_sheet": "price_sheet",
    "price_overrides": "price_overrides",
    "discount_pct": "discount_pct",
    "task_overrides": None,
    "tier_map": None,
    "candidates": None,
    "tokenizer_ratios": None,
    "quality_threshold": None,
    "min_confidence": None,
    "cross_provider": None,
}
# the notebook's defaults: the settings of a run with no manifest (an ingest --out folder)
_SIZING_DEFAULTS: dict[str, Any] = {
    "price_sheet": "current",
    "price_overrides": "",
    "discount_pct": 0.0,
    "task_overrides": {},
    "tier_map": {},
    "candidates": {},
    "tokenizer_ratios": {},
    "quality_threshold": 0.9,
    "min_confidence": "medium",
    "cross_provider": True,
}
# the settings the plan checks (``model_sizing_params.validate_params``)
_PLAN_SETTINGS = tuple(name for name in _SIZING_SETTINGS if name not in PRICE_SETTINGS)


def sizing_settings(run_dir: Path, args: dict[str, Any]) -> RunSettings:
    """The model-sizing settings the sample plans with: what the run's ``01_model_sizing``
    notebook ran with (its ``manifest.json``), else the notebook's defaults, the flags over
    them (``--override`` over the run's ``task_overrides``), so the sample is drawn for the
    candidates the notebook proposes, the ones its quality gate compares the scores with.
    Its price files and the plan's settings are checked before the run is read: an error
    names the setting and where it came from."""
    s = notebook_settings(
        run_dir, SIZING_NOTEBOOK, _SIZING_DEFAULTS, _SIZING_SETTINGS, args, doing="sample"
    )
    check_prices(s.values, s.named)
    given = _parse_overrides(args.get("override") or [])
    check_plan_settings(s, given)
    s.values["task_overrides"] = {**(s.values["task_overrides"] or {}), **given}
    return s


def check_plan_settings(settings: RunSettings, given: dict[str, str]) -> None:
    """The plan's checks that need no traffic (candidates, tier map, task types, ...), made on
    each setting as where it came from gave it: the run's (or the default), and each
    ``--override`` (``given``) apart. The plan names only the setting (``candidates['anthropic']
    ['small'] names unknown models [...]``); the error begins with where its value came from
    (:meth:`RunSettings.origin_of`, ``--override chat=qa (command line)``). Raises
    :class:`RunSettingsError`."""
    from bedrock_finops.strategies.model_sizing_params import check_settings

    settings.check_alone(
        [name for name in _PLAN_SETTINGS if name != "task_overrides"], check_settings
    )
    for origin, overrides in _overrides_by_origin(settings, given):
        try:
            check_settings({"task_overrides": overrides})
        except ValueError as exc:
            raise RunSettingsError(f"{origin}: {exc}") from None


def check_override_targets(
    settings: RunSettings, given: dict[str, str], usage: pd.DataFrame
) -> None:
    """Each app or segment id ``task_overrides`` names is one of the run's, as the plan checks
    (``task_types.check_overrides``); an error begins with where the entry came from: the
    run's setting or the ``--override`` given (``given``). Raises :class:`RunSettingsError`."""
    from bedrock_finops.task_types import check_overrides

    segments = segment_names(usage)
    for origin, overrides in _overrides_by_origin(settings, given):
        try:
            check_overrides(overrides, segments)
        except ValueError as exc:
            raise RunSettingsError(f"{origin}: {exc}") from None


def _overrides_by_origin(settings: RunSettings, given: dict[str, str]) -> list[tuple[str, Any]]:
    """``task_overrides`` split by where each entry came from: the run's (or the default's),
    less those an ``--override`` replaces, then each ``--override`` alone."""
    run = settings.values["task_overrides"]
    if isinstance(run, dict):
        run = {key: task for key, task in run.items() if key not in given}
    flags = [
        (f"--override {key}={task} (command line)", {key: task}) for key, task in given.items()
    ]
    return [(settings.origin_of("task_overrides"), run), *flags]


def segment_names(usage: pd.DataFrame) -> pd.DataFrame:
    """Each segment's ``app`` and ``segment`` id, as the plan names them
    (``segments.summarise``), from the distinct segment keys alone."""
    keys = seg_mod.segment_keys(usage).drop_duplicates()
    apps, templates, models = (keys[k].tolist() for k in ("app", "template", "model"))
    ids = [seg_mod.segment_id(*key) for key in zip(apps, templates, models, strict=True)]
    return pd.DataFrame({"app": apps, "segment": ids})


def _segment_line(entry: dict[str, Any]) -> str:
    """What the sample wrote of a segment, and how many of its requests could not be sent,
    each reason with its count (the draw is of the others)."""
    skipped = sum(entry["skipped"].values())
    left_out = (
        f"; drawn from the {entry['usable_requests']:,} that can be sent, {skipped:,} skipped: "
        f"{entry['skipped']}"
        if skipped
        else ""
    )
    return (
        f"{entry['segment']}: {entry['written']} of {entry['requests_in_segment']:,} requests -> "
        f"{entry['file']} ({entry['current_model']} vs {entry['candidate_model']}{left_out})"
    )


def _cmd(args: Any) -> int:
    from bedrock_finops.notebook import open_run
    from bedrock_finops.strategies import model_sizing, model_sizing_tables

    problem = _bad_arguments(args) or _out_problem(Path(args.out), Path(args.run))
    if problem:
        print_line(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        settings = sizing_settings(Path(args.run), vars(args))
        print_line(f"settings: {settings.origin}, flags over them")
        s = settings.values
        ctx = open_run(
            args.run,
            price_sheet=s["price_sheet"],
            price_overrides=s["price_overrides"],
            discount_pct=s["discount_pct"],
            user_text=False,  # the sampled requests' turns are read from the file
        )
        check_override_targets(settings, _parse_overrides(args.override), ctx.usage)
        sizing = model_sizing.plan(
            ctx.usage,
            ctx.catalog,
            prompts=ctx.prompts,
            priced=ctx.priced,
            period=ctx.period,
            user_text=ctx.user_text_column,  # the media its requests send
            **{k: v for k, v in s.items() if k not in PRICE_SETTINGS},
        )
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print_line(f"error: {exc}", file=sys.stderr)
        return 2
    recs = model_sizing_tables.recommended_with_ids(sizing)
    if recs.empty:
        print_line("no model sizing recommendations in this run: nothing to evaluate")
        return 0
    manifest = write_eval_sample(
        ctx.usage,
        ctx.prompts,
        recs,
        args.out,
        per_segment=args.per_segment,
        seed=args.seed,
        do_scrub=not args.no_scrub,
        run_dir=args.run,
        threshold=sizing.params["quality_threshold"],
        user_text=ctx.user_text_column,
    )
    for e in manifest["segments"]:
        print_line(_segment_line(e))
    print_line(f"manifest: {Path(args.out) / 'manifest.json'}")
    if not args.live:
        return 0
    from bedrock_finops import replay

    return replay.run_live(
        manifest,
        ctx.usage,
        ctx.prompts,
        ctx.catalog,
        Path(args.out),
        apply=args.apply,
        max_tokens_default=args.max_tokens,
        user_text=ctx.user_text_column,
        echo=print_line,  # the segments and model IDs it names are the logs'
    )
