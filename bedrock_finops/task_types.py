"""Infer what task each traffic segment performs, from evidence in the traffic itself.

A segment is (app, prompt template, model). Its task type decides the smallest model tier that
can do the job. The evidence is what the logs carry: the system prompt's instructions (kept
once per template in ``prompts.parquet``), the shape and length of the outputs, and how often
generation stopped at ``max_tokens``. Every signal that fires is recorded with its value and
weight, so an analyst can see why a segment was typed the way it was and correct it with
``task_overrides``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from bedrock_finops.segments import template_texts, unknown_names, unknown_names_error

CLASSIFICATION = "classification"
EXTRACTION = "extraction"
SUMMARISATION = "summarisation"
SIMPLE_QA = "simple_qa"
REASONING_CODING = "reasoning_coding"
CREATIVE_RESEARCH = "creative_research"
UNKNOWN = "unknown"
# where a run's apps and segment ids are listed, named by the error on a task_overrides key
# that is neither
SEGMENTS_LISTED_IN = "01_model_sizing's task table (its app and segment columns)"

TASK_TYPES: tuple[str, ...] = (
    CLASSIFICATION,
    EXTRACTION,
    SUMMARISATION,
    SIMPLE_QA,
    REASONING_CODING,
    CREATIVE_RESEARCH,
)
TASK_LABELS = {
    CLASSIFICATION: "classification / routing",
    EXTRACTION: "extraction",
    SUMMARISATION: "summarisation",
    SIMPLE_QA: "simple Q&A / formatting",
    REASONING_CODING: "complex reasoning / coding",
    CREATIVE_RESEARCH: "creative / research",
    UNKNOWN: "unknown (no evidence)",
}


@dataclass(frozen=True)
class TextSignal:
    task_type: str
    name: str
    pattern: re.Pattern[str]
    weight: float = 2.0


def _p(expr: str) -> re.Pattern[str]:
    return re.compile(expr, re.IGNORECASE)


# Instructions in the system prompt. Each pattern counts once per template.
TEXT_SIGNALS: tuple[TextSignal, ...] = (
    TextSignal(CLASSIFICATION, "says classify/categorise", _p(r"\bclassif|\bcategori[sz]")),
    TextSignal(
        CLASSIFICATION,
        "asks for exactly one label",
        _p(
            r"(reply|respond|answer|return|output)\s+(with\s+)?(only\s+)?(exactly\s+)?"
            r"(one|a single|the)\s+(label|category|word|class|queue|team)"
        ),
        3.0,
    ),
    TextSignal(CLASSIFICATION, "mentions routing", _p(r"\broute\b|\brouting\b|\bqueue\b")),
    TextSignal(EXTRACTION, "says extract", _p(r"\bextract")),
    TextSignal(
        EXTRACTION, "asks for JSON output", _p(r"\b(as|in|return|valid|only)\s+(valid\s+)?json\b")
    ),
    TextSignal(EXTRACTION, "names entities/fields", _p(r"\bentit(y|ies)\b|\bfields?\b"), 1.0),
    TextSignal(
        SUMMARISATION,
        "says summarise",
        _p(r"\bsummari[sz](e|es|ing|ation)\b|\btl;?dr\b|\bwrite a summary\b"),
        3.0,
    ),
    TextSignal(SUMMARISATION, "mentions a summary", _p(r"\bsummary\b"), 1.0),
    TextSignal(SUMMARISATION, "says condense/key points", _p(r"\bcondense|key points")),
    TextSignal(
        SIMPLE_QA,
        "answers questions",
        # possessive spaces: "answer" before a long run of white space (PDF text) would
        # otherwise try every split of the run between the two \s (quadratic)
        _p(r"answer\s++(the\s++)?(customer'?s?|user'?s?|their)?\s*+questions?|\bfaq\b"),
    ),
    TextSignal(
        SIMPLE_QA,
        "support assistant helping customers",
        _p(r"\bsupport (assistant|agent|bot)\b|\bhelp (customers|users)\b"),
    ),
    TextSignal(SIMPLE_QA, "questions about", _p(r"\bwith questions\b|\bquestions about\b"), 1.0),
    TextSignal(
        SIMPLE_QA,
        "formats/converts",
        _p(r"\breformat|\bformat (the|this|it)\b|\bconvert\b|\bnormali[sz]e\b"),
    ),
    TextSignal(
        REASONING_CODING,
        "code words",
        _p(r"\bcode\b|\bcoding\b|\bpython\b|\bfunction\b|\bdebug|\brefactor|\bprogramm"),
        3.0,
    ),
    TextSignal(
        REASONING_CODING, "asks for reasoning", _p(r"step[- ]by[- ]step|\breason(ing)?\b|\bprove\b")
    ),
    TextSignal(
        CREATIVE_RESEARCH,
        "asks to write a piece",
        _p(r"\bwrite\s+(a|an|the)\b(?!\s+(label|json|function|summary))"),
    ),
    TextSignal(
        CREATIVE_RESEARCH,
        "creative or research words",
        _p(r"\bcreative|\bmarketing|\bcopywrit|\bstory|\bslogan|\bcampaign|\bbrand|\bresearch"),
        3.0,
    ),
)

# Thresholds for the traffic-shape signals.
SHAPE_MIN_SHARE = 0.5  # an output shape counts when at least this share of outputs has it
LABEL_MAX_P50 = 8  # median output tokens of a label-like answer
LONG_OUTPUT_P50 = 400  # median output tokens of long-form generation
SUMMARY_MIN_INPUT = 1500  # summaries read long inputs ...
SUMMARY_MAX_RATIO = 0.25  # ... and write a fraction of them
MAX_TOKENS_STOP_SHARE = 0.05  # long generation that hits the limit now and then


def _shape_share(seg: pd.Series, shape: str) -> float:
    value = seg.get(f"shape_{shape}", 0.0)
    return 0.0 if pd.isna(value) else float(value)


def traffic_signals(seg: pd.Series) -> list[tuple[str, str, float, float]]:
    """Signals from output shape, length and stop reasons: (task_type, name, value, weight)."""
    out: list[tuple[str, str, float, float]] = []
    p50 = float(seg.get("output_tokens_p50", 0) or 0)
    in_mean = float(seg.get("input_tokens_mean", 0) or 0)
    out_mean = float(seg.get("output_tokens_mean", 0) or 0)
    label = _shape_share(seg, "label")
    if label >= SHAPE_MIN_SHARE:
        out.append((CLASSIFICATION, "label-shaped outputs (share)", round(label, 3), 3.0 * label))
    if 0 < p50 <= LABEL_MAX_P50:
        out.append((CLASSIFICATION, "median output tokens", p50, 1.0))
    js = _shape_share(seg, "json")
    if js >= SHAPE_MIN_SHARE:
        out.append((EXTRACTION, "JSON outputs (share)", round(js, 3), 3.0 * js))
    code = _shape_share(seg, "code")
    if code >= SHAPE_MIN_SHARE * 0.6:
        out.append((REASONING_CODING, "code outputs (share)", round(code, 3), 3.0 * code))
    prose = _shape_share(seg, "prose")
    if in_mean >= SUMMARY_MIN_INPUT and 0 < out_mean <= SUMMARY_MAX_RATIO * in_mean and prose > 0.5:
        out.append((SUMMARISATION, "output/input token ratio", round(out_mean / in_mean, 3), 1.5))
    if p50 >= LONG_OUTPUT_P50 and prose >= SHAPE_MIN_SHARE:
        out.append((CREATIVE_RESEARCH, "median output tokens (long prose)", p50, 1.0))
    if 0 < p50 < LONG_OUTPUT_P50 and prose >= SHAPE_MIN_SHARE and in_mean < SUMMARY_MIN_INPUT * 4:
        out.append((SIMPLE_QA, "median output tokens (short prose)", p50, 0.5))
    mts = float(seg.get("max_tokens_stop_share", 0) or 0)
    if mts >= MAX_TOKENS_STOP_SHARE:
        weight = 1.0
        out.append((REASONING_CODING, "max_tokens stop share", round(mts, 3), weight * 0.5))
        out.append((CREATIVE_RESEARCH, "max_tokens stop share", round(mts, 3), weight * 0.5))
    return out


def text_signals(text: str | None) -> list[tuple[str, str, str, float]]:
    """Instructions found in a system prompt: (task_type, name, matched text, weight)."""
    if not text:
        return []
    hits = []
    for sig in TEXT_SIGNALS:
        m = sig.pattern.search(text)
        if m:
            hits.append((sig.task_type, sig.name, m.group(0).strip().lower(), sig.weight))
    return hits


def _confidence(top: float, total: float, second: float) -> str:
    if top <= 0:
        return "low"
    share = top / total
    if top >= 4 and share >= 0.6 and top >= 2 * second:
        return "high"
    if top >= 2 and share >= 0.4:
        return "medium"
    return "low"


def infer_one(seg: pd.Series, system_text: str | None) -> dict:
    """Score every task type for one segment; return the winner with its evidence."""
    scores = dict.fromkeys(TASK_TYPES, 0.0)
    evidence: list[dict] = []
    for task, name, matched, weight in text_signals(system_text):
        scores[task] += weight
        evidence.append(
            {
                "task_type": task,
                "signal": f"system prompt {name}",
                "value": matched,
                "weight": weight,
            }
        )
    for task, name, value, weight in traffic_signals(seg):
        scores[task] += weight
        evidence.append(
            {"task_type": task, "signal": name, "value": value, "weight": round(weight, 2)}
        )
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (top_type, top), (_, second) = ranked[0], ranked[1]
    total = sum(scores.values())
    task = top_type if top > 0 else UNKNOWN
    return {
        "task_type": task,
        "confidence": _confidence(top, total, second),
        "score": round(top, 2),
        "runner_up": ranked[1][0] if second > 0 else None,
        "scores": {k: round(v, 2) for k, v in scores.items() if v > 0},
        "evidence": [e for e in evidence if e["task_type"] == task] if task != UNKNOWN else [],
        "other_evidence": [e for e in evidence if e["task_type"] != task],
        "task_source": "inferred",
        "system_text_available": bool(system_text),
    }


def infer_task_types(segments: pd.DataFrame, prompts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per segment: task_type, confidence, score, evidence (signals with values).

    ``segments`` is ``segments.summarise(...)``; ``prompts`` is prompts.parquet.
    """
    texts = template_texts(prompts)
    rows = []
    for _, seg in segments.iterrows():
        result = infer_one(seg, texts.get(str(seg["template"])))
        rows.append({"segment": seg["segment"], "app": seg["app"], **result})
    return pd.DataFrame(rows)


def check_overrides(overrides: dict[str, str] | None, segments: pd.DataFrame) -> None:
    """Raise when ``task_overrides`` names an unknown app/segment or an unknown task type."""
    check_override_types(overrides)
    if not overrides:
        return
    unknown_keys = unknown_names(overrides, segments)
    if unknown_keys:
        raise ValueError(
            unknown_names_error("task_overrides", unknown_keys, segments, SEGMENTS_LISTED_IN)
        )


def check_override_types(overrides: dict[str, str] | None) -> None:
    """The part of :func:`check_overrides` that needs no traffic: a mapping to known types."""
    if not overrides:
        return
    if not isinstance(overrides, dict):
        raise ValueError("task_overrides must map an app or segment id to a task type")
    bad_types = {k: v for k, v in overrides.items() if v not in TASK_TYPES}
    if bad_types:
        raise ValueError(
            f"task_overrides sets unknown task types {bad_types}; valid task types: "
            f"{list(TASK_TYPES)}"
        )


def apply_overrides(
    inferred: pd.DataFrame, overrides: dict[str, str] | None, segments: pd.DataFrame
) -> pd.DataFrame:
    """Set task types by hand: ``{app or segment id: task_type}`` (segment ids win over apps)."""
    check_overrides(overrides, segments)
    if not overrides:
        return inferred
    out = inferred.copy()
    for i, row in out.iterrows():
        key = row["segment"] if row["segment"] in overrides else row["app"]
        if key in overrides:
            out.at[i, "task_type"] = overrides[key]
            out.at[i, "confidence"] = "high"
            out.at[i, "task_source"] = f"override ({key})"
    return out
