"""One hour of the sample's traffic: how many calls each app makes, when, and their records."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from bedrock_finops.sample_converse_apps import (
    _code_assistant,
    _doc_summarizer,
    _eval_harness,
    _report_bot,
    _support_chat,
)
from bedrock_finops.sample_invoke_apps import (
    _entity_extractor,
    _faq_helper,
    _marketing_writer,
    _ticket_router,
)
from bedrock_finops.sample_workload import (
    ANOMALY_APP,
    ANOMALY_FACTOR,
    ANOMALY_HOURS,
    APPS,
    AppSpec,
    Ctx,
    Plan,
    Planned,
)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


BUILDERS: dict[str, Callable[[Ctx, AppSpec, float], list[Planned]]] = {
    "support-chat": _support_chat,
    "ticket-router": _ticket_router,
    "doc-summarizer": _doc_summarizer,
    "code-assistant": _code_assistant,
    "marketing-writer": _marketing_writer,
    "entity-extractor": _entity_extractor,
    "report-bot": _report_bot,
    "faq-helper": _faq_helper,
    "eval-harness": _eval_harness,
}


def _timestamps(rng: random.Random, app: AppSpec, n: int) -> list[float]:
    """Offsets into the hour, sorted."""
    if app.name == "doc-summarizer":  # bursts: the nightly pipeline fans out in waves
        centers = [rng.uniform(0, 3000) for _ in range(3)]
        return sorted(rng.choice(centers) + rng.uniform(0, 540) for _ in range(n))
    limit = 3598.0 if app.name == "support-chat" else 3599.999  # resends stay in the hour
    return sorted(rng.uniform(0, limit) for _ in range(n))


def _plan_hour(ctx: Ctx, plan: Plan, day: int, hour: int, scale: float) -> list[Planned]:
    rng = ctx.rng
    hour_start = datetime.combine(plan.start, datetime.min.time(), UTC).timestamp() + (
        day * 86400 + hour * 3600
    )
    weekend = (plan.start + timedelta(days=day)).weekday() >= 5
    out: list[Planned] = []
    for app in APPS:
        weight = app.hours[hour] / sum(app.hours)
        lam = app.per_day * weight * (app.weekend if weekend else 1.0) * scale
        if app.name == ANOMALY_APP and day == plan.anomaly_day and hour in ANOMALY_HOURS:
            lam *= ANOMALY_FACTOR
        n = _poisson(rng, lam)
        offsets = _timestamps(rng, app, n)
        builder = BUILDERS[app.name]
        for k, off in enumerate(offsets):
            ts = hour_start + min(off, 3599.999)
            if app.name == "doc-summarizer" and k == 0 and plan.large_body_at(day, hour):
                out.extend(_doc_summarizer(ctx, app, ts, large=True))
            else:
                out.extend(builder(ctx, app, ts))
    out.sort(key=lambda p: (p.ts, p.request_id))
    for p in out:
        p.line = orjson.dumps(p.record) + b"\n"
    return out
