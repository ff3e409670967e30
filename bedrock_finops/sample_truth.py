"""``truth.json``: what a correct analysis of the sample must find, counted as records are kept."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bedrock_finops.models import resolve
from bedrock_finops.sample_records import _iso
from bedrock_finops.sample_workload import (
    ACCOUNT_ID,
    ANOMALY_APP,
    ANOMALY_FACTOR,
    ANOMALY_HOURS,
    APPROX_PRICES,
    APPS,
    BUCKET,
    CODE_SYSTEM_TOKENS,
    INTENT_KEYS,
    PARAPHRASES,
    PERMISSION_CHECK_KEY,
    SUMMARIZER_SYSTEM_TOKENS,
    SUPPORT_SYSTEM_TOKENS,
    TICKET_INSTRUCTION_TOKENS,
    UNKNOWN_MODEL,
    Plan,
    Planned,
)


class Truth:
    """Counters and plant lists, updated per kept record; serialised as truth.json."""

    def __init__(self, seed: int, start: date, days: int, scale: float) -> None:
        self.meta = {
            "seed": seed,
            "start": start.isoformat(),
            "days": days,
            "scale": scale,
            "account_id": ACCOUNT_ID,
            "bucket": BUCKET,
            "permission_check_key": PERMISSION_CHECK_KEY,
        }
        self.apps: dict[str, dict[str, Any]] = {}
        self.model_ids: dict[str, Counter] = {a.name: Counter() for a in APPS}
        self.hours: dict[str, set[int]] = {a.name: set() for a in APPS}
        self.stops: dict[str, Counter] = {a.name: Counter() for a in APPS}
        self.intents: Counter = Counter()
        self.dedup_pairs: list[list[str]] = []
        self.duplicates: list[str] = []
        self.malformed: list[dict] = []
        self.truncated: list[dict] = []
        self.unknown_ids: list[str] = []
        self.large: list[str] = []
        self.anomaly_requests = 0
        self.anomaly_baseline: Counter = Counter()  # (day) -> report-bot requests in window
        self.lines_total = 0
        self.records_written = 0
        self.files = 0
        self.data_files = 0
        self.bytes = 0
        self.trim = Counter()
        for a in APPS:
            self.apps[a.name] = {
                "requests": 0,
                "operation": a.operation,
                "model_id": None,
                "model_ids": [],
                "expected_task_type": a.task_type,
                "input_tokens": 0,
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                "output_tokens": 0,
                "identity_arn": a.identity_arn,
                "role_name": a.role,
                "region": a.region,
                "request_metadata_app": a.sets_app_metadata,
                "approx_on_demand_usd": 0.0,
            }

    def add(self, p: Planned, plan: Plan, day: int, hour: int) -> None:
        a = self.apps[p.app]
        a["requests"] += 1
        a["input_tokens"] += p.input_tokens
        a["output_tokens"] += p.output_tokens
        a["cache_read_tokens"] += p.cache_read
        a["cache_write_tokens"] += p.cache_write
        model_id = p.record["modelId"]
        self.model_ids[p.app][model_id] += 1
        self.hours[p.app].add(hour)
        self.stops[p.app][_stop_reason(p.record)] += 1
        price = _approx_price(model_id)
        if price is None:
            a["approx_on_demand_usd"] = None
        elif a["approx_on_demand_usd"] is not None:
            a["approx_on_demand_usd"] += (
                p.input_tokens * price[0]
                + p.output_tokens * price[1]
                + p.cache_write * price[2]
                + p.cache_read * price[3]
            ) / 1e6
        if p.intent and p.resend_of is None:
            self.intents[p.intent] += 1
        if model_id == UNKNOWN_MODEL:
            self.unknown_ids.append(p.request_id)
        if p.large_body is not None:
            self.large.append(p.request_id)
        for k, v in p.extras.items():
            self.trim[k] += v
        if p.app == ANOMALY_APP and hour in ANOMALY_HOURS:
            if day == plan.anomaly_day:
                self.anomaly_requests += 1
            else:
                self.anomaly_baseline[day] += 1

    def to_dict(self, plan: Plan) -> dict:
        apps = {}
        for name, a in self.apps.items():
            ids = self.model_ids[name]
            a = dict(a)
            a["model_id"] = ids.most_common(1)[0][0] if ids else None
            a["model_ids"] = sorted(ids)
            a["hours_utc"] = sorted(self.hours[name])
            a["stop_reasons"] = dict(sorted(self.stops[name].items()))
            if a["approx_on_demand_usd"] is not None:
                a["approx_on_demand_usd"] = round(a["approx_on_demand_usd"], 2)
            apps[name] = a
        apps["report-bot"].update({k: int(v) for k, v in sorted(self.trim.items())})
        priced = [
            a["approx_on_demand_usd"]
            for a in apps.values()
            if a["approx_on_demand_usd"] is not None
        ]
        other_days = max(1, plan.days - 1)
        start_dt = datetime.combine(
            plan.start + timedelta(days=plan.anomaly_day), datetime.min.time(), UTC
        )
        requests_total = sum(a["requests"] for a in apps.values())
        return {
            **self.meta,
            "requests_total": requests_total,
            "approx_on_demand_usd_priced": round(sum(priced), 2),
            "apps": apps,
            "system_prompts": {
                "support-chat": {
                    "tokens": SUPPORT_SYSTEM_TOKENS,
                    "shared_by_all_calls": True,
                    "cached_today": False,
                },
                "code-assistant": {
                    "tokens": CODE_SYSTEM_TOKENS,
                    "cache_point": True,
                    "cache_ttl": "5m",
                },
                "ticket-router": {"tokens": TICKET_INSTRUCTION_TOKENS},
                "doc-summarizer": {"tokens": SUMMARIZER_SYSTEM_TOKENS},
            },
            "duplicates": {"request_ids": sorted(self.duplicates), "count": len(self.duplicates)},
            "dedup_pairs": self.dedup_pairs,
            "dedup": {
                "app": "support-chat",
                "client": "mobile",
                "max_gap_s": 2.0,
                "pairs": len(self.dedup_pairs),
            },
            "paraphrase_groups": {k: PARAPHRASES[k] for k in INTENT_KEYS},
            "intent_requests": {k: self.intents[k] for k in INTENT_KEYS},
            "anomaly": {
                "app": ANOMALY_APP,
                "factor": ANOMALY_FACTOR,
                "start": _iso(start_dt.timestamp() + ANOMALY_HOURS[0] * 3600),
                "end": _iso(start_dt.timestamp() + (ANOMALY_HOURS[-1] + 1) * 3600),
                "requests": self.anomaly_requests,
                "baseline_requests_per_day_same_hours": round(
                    sum(self.anomaly_baseline.values()) / other_days, 2
                ),
            },
            "faults": {
                "malformed_lines": self.malformed,
                "truncated_files": self.truncated,
                "unknown_model": {
                    "model_id": UNKNOWN_MODEL,
                    "app": "eval-harness",
                    "request_ids": self.unknown_ids,
                },
                "large_bodies": self.large,
            },
            "lines_total": self.lines_total,
            "records_written": self.records_written,
            "files": self.files,
            "data_files": self.data_files,
            "bytes": self.bytes,
        }


def _stop_reason(rec: dict) -> str:
    out = rec["output"]["outputBodyJson"]
    if isinstance(out, list):
        for c in out:
            if "messageStop" in c:
                return c["messageStop"]["stopReason"]
            if c.get("type") == "message_delta":
                return c["delta"]["stop_reason"]
        return "unknown"
    return (
        out.get("stopReason")
        or out.get("stop_reason")
        or (out.get("results") or [{}])[0].get("completionReason")
        or "unknown"
    )


def _approx_price(model_id: str) -> tuple[float, float, float, float] | None:
    ref = resolve(model_id)
    return APPROX_PRICES.get(ref.key) if ref.known else None
