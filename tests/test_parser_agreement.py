"""``parse.fast_row`` and ``parse.record_row`` agree on every record, as the worker calls them.

The worker (``ingest_worker._unit_rows``) takes ``fast_row``'s tuple when it gives one, else
``record_row``'s row or quarantine reason; either way the outcome must be what ``record_row``
alone gives, and no record may raise past the worker's handlers. Seeded records
(``parser_seeds``) are mutated deterministically, written as log lines, and each outcome is
compared with a plain ``record_row`` call (its own copy of the record, a fresh cache,
unmemoised model lookups). A failure shows the case (``random.Random(case)`` rebuilds it), the
record shrunk and the columns that differ.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import orjson
import pytest
from parser_seeds import PROFILE, PROFILE_MAP, ROUTER, seed_records

from bedrock_finops import models, parse
from bedrock_finops.ingest_worker import MALFORMED, NESTED_TOO_DEEP, malformed_reason, row_keys
from bedrock_finops.parse_body import PromptCache
from bedrock_finops.parse_scalars import MAX_TOKENS_PER_CALL, BadRecord
from bedrock_finops.sources.log_decoding import record_after_timestamp, record_with_lone_surrogates

CASES = 5000  # about 2 s on one core
SEEDS = seed_records()
Outcome = tuple[str, Any]  # ("row", tuple) | ("quarantine", reason) | ("raised", error)
Where = tuple[Any, ...]  # a path into a record: dict keys and list indexes
SHOWN = 6000  # characters of a failing record and of its outcomes shown

# --------------------------------------------------------------------------- the two callers


def decode(line: bytes) -> Any:
    """The record ``_unit_rows`` reads from a line; None for one it quarantines as invalid
    JSON (both paths then refuse it alike)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        rec = record_after_timestamp(line)
        return record_with_lone_surrogates(line) if rec is None else rec


def worker_kw(profile_map: dict[str, str] | None, cache: PromptCache) -> dict[str, Any]:
    """The keyword arguments ``_process_chunk`` passes: its memoised model lookups (a rules
    lookup only with a profile_map)."""
    model_key, rules_key = row_keys(profile_map)
    return {
        "app_key": "app",
        "identity_app_map": {"app-a": "mapped-a"} if profile_map else None,
        "model_key": model_key,
        "rules_key": rules_key,
        "cache": cache,
    }


def worker_outcome(rec: Any, kw: dict[str, Any]) -> tuple[Outcome, bool]:
    """As ``_unit_rows``: fast_row, else record_row, with the worker's handlers; and whether
    the row came from fast_row."""
    try:
        row = parse.fast_row(rec, "src", **kw)
    except (*MALFORMED, RecursionError):
        row = None
    return (("row", row), True) if row is not None else (reference_outcome(rec, kw), False)


def reference_outcome(rec: Any, kw: dict[str, Any]) -> Outcome:
    """record_row's row or quarantine reason, with the worker's handlers."""
    try:
        full = parse.record_row(rec, **kw)
    except BadRecord as exc:
        return "quarantine", str(exc)
    except MALFORMED as exc:
        return "quarantine", malformed_reason(exc)
    except RecursionError:
        return "quarantine", NESTED_TOO_DEEP
    full["source_file"] = "src"
    return "row", parse.row_values(full)


def both(line: bytes, profile_map: dict[str, str] | None, cache: PromptCache) -> tuple:
    """(the worker's outcome, with its long-lived ``cache``; record_row's alone, with a fresh
    cache and unmemoised lookups; whether the worker's row came from fast_row)."""
    kw = worker_kw(profile_map, cache)
    try:
        got, fast = worker_outcome(decode(line), kw)
    except Exception as exc:  # past the worker's handlers: it would end the ingest
        fast, got = False, ("raised", f"{type(exc).__name__}: {exc}")
    ref_kw = {
        **worker_kw(profile_map, PromptCache()),
        "model_key": models.request_model_id,
        "rules_key": partial(models.rules_model_id, profile_map=profile_map),
    }
    try:
        want = reference_outcome(decode(line), ref_kw)
    except Exception as exc:
        want = ("raised", f"{type(exc).__name__}: {exc}")
    return got, want, fast


def same(a: Any, b: Any) -> bool:
    """Equal values of the same type (1, 1.0 and True differ); NaN equals NaN and None."""
    if (a is None or isinstance(a, float)) and (b is None or isinstance(b, float)):
        a, b = (None if x is None or math.isnan(x) else x for x in (a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b


def agree(got: Outcome, want: Outcome) -> bool:
    return got[0] != "raised" and want[0] != "raised" and same(got, want)


# --------------------------------------------------------------------------- mutations

MODELS = sorted({r["modelId"] for r in SEEDS} | {PROFILE, ROUTER, "InvokeAgent"})
OPERATIONS = [*parse.OPERATIONS, "InvokeAgent", ""]
NUMBERS = [0, 1, 1.0, -1, 2.5, -0.0, 2**63, 2**64, MAX_TOKENS_PER_CALL + 1, 1e308, True]
ODD = [None, True, 0, "", "x", [], {}, [{}], {"text": "x"}, [None], "NaN"]
COUNTS = ["inputTokenCount", "outputTokenCount", "cacheReadInputTokenCount"]
COUNTS += ["cacheWriteInputTokenCount", "cacheReadInputTokens", "cacheWriteInputTokens"]
# type swaps and grafts (a subtree of another seed) twice as often as the others
MUTATIONS = ["type", "type", "drop", "add", "number", "text", "empty", "graft", "graft"]
MUTATIONS += ["operation", "model", "count"]


def paths(obj: Any, at: Where = ()) -> Iterator[Where]:
    """Every path into ``obj``, outer ones before the ones inside them."""
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for k, v in items:
        yield (*at, k)
        yield from paths(v, (*at, k))


KEYS = sorted({p[-1] for r in SEEDS for p in paths(r) if isinstance(p[-1], str)})


def pick(r: random.Random, rec: Any) -> tuple[Any, Any] | None:
    """A (container, key) in ``rec``, inside a body seven times in ten."""
    found = list(paths(rec))
    bodies = [p for p in found if len(p) > 2 and p[1] in ("inputBodyJson", "outputBodyJson")]
    if not found:
        return None
    path = r.choice(bodies if bodies and r.random() < 0.7 else found)
    parent = rec
    for k in path[:-1]:
        parent = parent[k]
    return parent, path[-1]


def text_edge(r: random.Random, v: Any) -> Any:
    """Lone surrogates, an emoji, a long text of repeated lines, blank and cut strings."""
    s = v if isinstance(v, str) else "text"
    long = ((s + "\n") * 400)[:40_000]
    return r.choice([s + "\ud83d", "\udc00" + s, s + "😀", long, "", " ", s[: len(s) // 2]])


def number_edge(r: random.Random, v: Any) -> Any:
    """An int as a float, negated, over the token cap or as a string; else an odd number."""
    if type(v) is int:
        return r.choice([float(v), -v, v + MAX_TOKENS_PER_CALL, str(v)])
    return r.choice(NUMBERS)


def mutate(r: random.Random, rec: dict, donors: list[dict]) -> tuple[dict, list[str]]:
    """A mutated copy of ``rec`` and the names of the mutations made."""
    rec = copy.deepcopy(rec)
    done = []
    for _ in range(r.choice((1, 1, 2, 3))):
        name = r.choice(MUTATIONS)
        done.append(name)
        if name == "operation":
            rec["operation"] = r.choice(OPERATIONS)
        elif name == "model":
            rec["modelId"] = r.choice(MODELS)
        elif name == "count":
            part = rec.get(r.choice(("input", "output")))
            if isinstance(part, dict):
                part[r.choice(COUNTS)] = r.choice([*NUMBERS, None, "3"])
        elif (spot := pick(r, rec)) is not None:
            parent, key = spot
            v = parent[key]
            if name == "type":
                parent[key] = copy.deepcopy(r.choice(ODD))
            elif name == "drop":
                del parent[key]
            elif name == "add" and isinstance(target := v if type(v) is dict else parent, dict):
                target[r.choice(KEYS)] = copy.deepcopy(r.choice(ODD + NUMBERS))
            elif name == "number":
                parent[key] = number_edge(r, v)
            elif name == "text":
                parent[key] = text_edge(r, v)
            elif name == "empty":
                parent[key] = [] if isinstance(v, list) or r.random() < 0.5 else {}
            elif name == "graft" and (donor := pick(r, r.choice(donors))) is not None:
                parent[key] = copy.deepcopy(donor[0][donor[1]])
    return rec, done


def line_of(rec: dict, stamped: bool = False) -> bytes:
    """``rec`` as a log line, lone surrogates escaped as a client writes them; ``stamped``:
    after a timestamp, as a CloudWatch Logs export writes an event."""
    try:
        line = orjson.dumps(rec)
    except orjson.JSONEncodeError:
        line = json.dumps(rec).encode()
    return b"2026-10-01T00:00:50.803Z " + line if stamped else line


# --------------------------------------------------------------------------- the tests


def shrink(rec: dict, fails: Callable[[dict], bool]) -> dict:
    """``rec`` with every part removed whose removal keeps it failing (outer parts first)."""
    for _ in range(300):
        for path in sorted(paths(rec), key=len):
            smaller = copy.deepcopy(rec)
            parent = smaller
            for k in path[:-1]:
                parent = parent[k]
            del parent[path[-1]]
            if fails(smaller):
                rec = smaller
                break
        else:
            return rec
    return rec


def report(label: str, rec: dict, stamped: bool, profile_map: dict | None, done: list) -> str:
    """A failing case: its record shrunk (when it fails without the worker's cache state), and
    the columns that differ, or both outcomes."""

    def fails(rec: dict) -> bool:
        return not agree(*both(line_of(rec, stamped), profile_map, PromptCache())[:2])

    small = shrink(rec, fails) if fails(rec) else rec
    got, want, _ = both(line_of(small, stamped), profile_map, PromptCache())
    if got[0] == want[0] == "row":
        columns = zip(parse.ROW_COLUMNS, got[1], want[1], strict=True)
        differ = {c: (a, b) for c, a, b in columns if not same(a, b)}
        shown = f"columns differing (worker, record_row): {differ}"
    else:
        shown = f"worker: {got}\n  record_row: {want}"
    return (
        f"{label} (mutations {done}, profile_map {bool(profile_map)}, stamped {stamped})\n"
        f"  record: {line_of(small)[:SHOWN].decode(errors='replace')}\n  {shown[:SHOWN]}"
    )


def test_each_seed_gives_the_same_row_both_ways() -> None:
    """Every seed is a row, nearly all on the fast path (else the mutations check little)."""
    fast_rows = 0
    for rec in SEEDS:
        got, want, fast = both(line_of(rec), PROFILE_MAP, PromptCache())
        if got[0] != "row" or not agree(got, want):
            pytest.fail(report(f"seed {rec['requestId']}", rec, False, PROFILE_MAP, []))
        fast_rows += fast
    # fast_row leaves a few to record_row: a body in S3, no output count, an offset timestamp
    assert fast_rows >= 0.8 * len(SEEDS)


def test_mutated_records_give_the_same_outcome_both_ways() -> None:
    caches = [PromptCache(), PromptCache()]  # one per configuration, long-lived as a worker's
    failures = []
    fast_rows = 0
    for case in range(CASES):
        r = random.Random(case)
        rec, done = mutate(r, r.choice(SEEDS), SEEDS)
        stamped = r.random() < 0.05
        profile_map = PROFILE_MAP if case % 2 else None
        got, want, fast = both(line_of(rec, stamped), profile_map, caches[case % 2])
        fast_rows += fast
        if not agree(got, want):
            failures.append((f"case {case}", rec, stamped, profile_map, done))
    if failures:
        pytest.fail(
            f"{len(failures)} of {CASES} cases disagree; the first:\n{report(*failures[0])}"
        )
    assert fast_rows > CASES // 2  # the fast path is what is checked: most records take it
