"""Hand-built usage tables for unit tests: rows from group specs, in the canonical schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from bedrock_finops import schema
from bedrock_finops.media_blocks import MEDIA_KINDS, media_sent_by_row

DEFAULTS = {
    "account_id": "111122223333",
    "region": "us-east-1",
    "inference_region": "us-east-1",
    "operation": "InvokeModel",
    "streaming": False,
    "geo": "none",
    "service_tier": "default",
    "identity_arn": "arn:aws:iam::111122223333:role/app",
    "input_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "cache_ttl": None,
    "output_tokens": 0,
    "stop_reason": "end_turn",
    "temperature": 0.0,
    "system_tokens": 0,
    "output_shape": "prose",
    "pretty_json_tokens": 0,
    "repeated_line_tokens": 0,
    "body_in_s3": False,
}
START = datetime(2026, 10, 1, tzinfo=UTC)


def make_usage(groups: list[dict]) -> pd.DataFrame:
    """Rows from group specs: each dict has ``n`` (rows) plus column values for all of them.

    Timestamps spread one per hour from 2026-10-01 00:00 UTC within each group; request ids
    are ``<app>-<i>``.
    """
    rows = []
    for g in groups:
        g = dict(g)
        n = g.pop("n")
        for i in range(n):
            row = {**DEFAULTS, **g}
            row["request_id"] = f"{g['app']}-{i}"
            row["timestamp"] = START + timedelta(hours=i % (24 * 30))
            row["model_id_raw"] = g.get("model_id_raw", g["model"])
            rows.append(row)
    frame = pd.DataFrame(rows)
    if "media_sent" not in frame and "user_text" in frame:
        frame["media_sent"] = media_sent_of(frame["user_text"])
    for col in schema.USAGE_COLUMNS:
        if col not in frame:
            frame[col] = None
    return schema.from_arrow(schema.to_arrow(frame))


def router_and_chat_usage() -> pd.DataFrame:
    """Two apps the quality-gate tests sample: a label router on Claude Opus 4 (10 requests)
    and a chat on Claude Sonnet 4 (4 requests)."""
    return make_usage(
        [
            dict(
                n=10,
                app="router",
                model="anthropic.claude-opus-4",
                system_hash="h-router",
                input_tokens=500,
                output_tokens=2,
                output_shape="label",
                max_tokens=5,
                user_text="I was charged twice, write to me at jo@example.com",
            ),
            dict(
                n=4,
                app="chat",
                model="anthropic.claude-sonnet-4",
                system_hash="h-chat",
                input_tokens=100,
                output_tokens=150,
                user_text="How do I add a seat?",
            ),
        ]
    )


def set_user_turns(usage: pd.DataFrame, rows: Any, turns: Any) -> None:
    """Set the ``user_text`` of ``usage.loc[rows]`` to ``turns``, and its ``media_sent`` as
    the ingest records it for a request of one turn (:func:`media_sent_of`)."""
    usage.loc[rows, "user_text"] = turns
    usage.loc[rows, "media_sent"] = media_sent_of(usage.loc[rows, "user_text"])


def media_sent_of(user_text: pd.Series) -> list[str | None]:
    """``media_sent`` as the ingest records it for a request of one turn, ``user_text``: the
    kinds its text shows sent (a placeholder, or a block's JSON by reference); None where no
    turn was logged."""
    texts = pd.Series(user_text, dtype=object).reset_index(drop=True)
    found = media_sent_by_row(texts)
    return [
        None if pd.isna(text) else "|".join(k for k in MEDIA_KINDS if found[k][i])
        for i, text in enumerate(texts)
    ]


def prompts_frame(texts: dict[str, str]) -> pd.DataFrame:
    """prompts.parquet-shaped frame: one system prompt per hash."""
    return pd.DataFrame(
        {
            "hash": list(texts),
            "kind": ["system"] * len(texts),
            "tokens": [len(t) // 4 for t in texts.values()],
            "text": list(texts.values()),
            "requests": [1] * len(texts),
        }
    )


def in_and_out_of_the_sheet(model: str, n: int) -> pd.DataFrame:
    """``n`` calls of ``model`` in us-east-1 (in the price sheet) and ``n`` in ap-northeast-1
    (no sheet row there), each 100K input + 10K output tokens."""
    call = dict(model=model, n=n, input_tokens=100_000, output_tokens=10_000)
    return make_usage([dict(call, app="a"), dict(call, app="b", region="ap-northeast-1")])
