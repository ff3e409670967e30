"""Model sizing: the media a segment's requests send, and the candidates that can take it.

A request can send images, documents, video or audio, in any turn or in a tool's result,
inline or by reference (an S3 location, a URL). The ingest records the kinds each request
sent in the usage table's ``media_sent`` (``media_blocks.media_sent_by_request``; a table
written before that column is searched in ``user_text``, the last user turn, instead). A
model that does not take a kind of media as input refuses the request, so a segment whose
requests send any is moved only to a candidate whose ``input_modalities``
(``data/models.csv``, as AWS documents them) take every kind it sends; a model whose
modalities the catalog does not record is read as text only. A segment with no such
candidate keeps its model, and says why.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bedrock_finops.column_take import ParquetColumn
from bedrock_finops.media_blocks import MEDIA_KINDS, media_sent_by_request
from bedrock_finops.models import known_models

MEDIA_RULE = (
    "a segment whose requests send images, documents, video or audio (the usage table's "
    "media_sent: any turn of the request, inline or by reference) moves only to a "
    "candidate whose input_modalities (models.csv, as AWS's model cards and the Converse API's "
    "supported-models table give them) take every kind it sends; a model whose modalities are "
    "not recorded is read as text only; with no such candidate the segment keeps its model"
)


def segment_media(
    usage: pd.DataFrame, user_text: pd.Series | ParquetColumn | None, row_seg: pd.Series
) -> pd.DataFrame:
    """Per segment with media: ``media_sent`` (the kinds its requests send, in
    ``MEDIA_KINDS`` order) and ``media_requests`` (how many of its requests send any).

    ``user_text``: the user turns when ``usage`` was read without them (see
    ``column_take.user_turns``), searched only for a table without ``media_sent``."""
    kinds = pd.DataFrame(media_sent_by_request(usage, user_text), index=row_seg.index)
    kinds["any"] = kinds[list(MEDIA_KINDS)].any(axis=1)
    counts = kinds.groupby(row_seg.to_numpy()).sum()
    counts = counts[counts["any"] > 0]
    return pd.DataFrame(
        {
            "segment": counts.index,
            "media_sent": [tuple(k for k in MEDIA_KINDS if n[k]) for _, n in counts.iterrows()],
            "media_requests": counts["any"].astype("int64").to_numpy(),
        }
    )


def with_segment_media(segs: pd.DataFrame, media: pd.DataFrame) -> pd.DataFrame:
    """``segs`` with ``media_sent`` (``()`` for a segment that sends none) and
    ``media_requests``."""
    out = segs.merge(media, on="segment", how="left")
    out["media_sent"] = [s if isinstance(s, tuple) else () for s in out["media_sent"]]
    out["media_requests"] = out["media_requests"].fillna(0).astype("int64")
    return out


def left_out_reason(candidate: str, missing: tuple[str, ...]) -> str:
    """Why ``candidate`` is not offered to a segment sending the kinds ``missing`` it lacks."""
    taken = known_models()[candidate].input_modalities
    if taken is None:
        return (
            "left out: its input modalities are not recorded in models.csv, so it reads as "
            f"text only (no {_kinds(missing, 'or')} input)"
        )
    return (
        f"left out: takes no {_kinds(missing, 'or')} input (models.csv input_modalities: "
        f"{', '.join(taken)})"
    )


def media_note(seg: pd.Series, left_out: list[str]) -> str:
    """What a segment's reason adds about its media: the kinds it sends, on how many of its
    requests, and the candidates left out for them; "" for a segment that sends none."""
    if not seg["media_sent"]:
        return ""
    note = f"; its requests send {_sends(seg)}"
    return note + (f": left out {', '.join(left_out)}" if left_out else "")


def no_capable_candidate(seg: pd.Series, tier: str, left_out: list[str]) -> str:
    """Why a segment keeps its model when every candidate of its tier was left out for the
    media its requests send."""
    return (
        f"no {tier}-tier candidate takes the {_kinds(seg['media_sent'])} its requests send "
        f"({_share(seg)}): left out {', '.join(left_out)}; it keeps its model"
    )


def media_by_segment(segs: pd.DataFrame) -> dict[str, Any] | str:
    """For the assumptions: each segment whose requests send media, the kinds, how many of
    its requests, and the candidates left out for them."""
    rows = segs[[bool(s) for s in segs["media_sent"]]]
    if rows.empty:
        return "none: no request sends images, documents, video or audio"
    return {
        row["segment"]: {
            "sends": list(row["media_sent"]),
            "requests_with_media": int(row["media_requests"]),
            "requests": int(row["requests"]),
            "candidates_left_out": list(row["media_left_out"]),
        }
        for _, row in rows.iterrows()
    }


def _sends(seg: pd.Series) -> str:
    """What a segment's requests send: "image (6 of 6 requests)"."""
    return f"{_kinds(seg['media_sent'])} ({_share(seg)})"


def _share(seg: pd.Series) -> str:
    return f"{int(seg['media_requests']):,} of {int(seg['requests']):,} requests"


def _kinds(kinds: tuple[str, ...], joiner: str = "and") -> str:
    """``("image", "document", "video")`` as a phrase: "image, document and video"."""
    if len(kinds) <= 2:
        return f" {joiner} ".join(kinds)
    return ", ".join(kinds[:-1]) + f" {joiner} {kinds[-1]}"
