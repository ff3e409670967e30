"""The canonical usage table: one row per Bedrock model invocation.

Every strategy reads this table; none re-parses logs. Columns may be added, never renamed.
Token columns follow AWS's accounting: ``input_tokens`` is the *uncached* input only
(``inputTokenCount``); total input = input_tokens + cache_read_tokens + cache_write_tokens.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

# The strings are large_string (64-bit offsets): one entry per turn, and a month of long
# agent conversations (~70 turns a request at 1M requests) passes 2 GB of hashes.
PREFIX_HASH_TYPE = pa.list_(
    pa.struct(
        [
            ("kind", pa.large_string()),  # tools | system_block | system | message_block | message
            ("hash", pa.large_string()),  # hash of everything up to and including this block
            ("tokens", pa.int64()),  # cumulative estimated tokens up to this block
        ]
    )
)

USAGE_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("account_id", pa.string()),
        ("region", pa.string()),  # region the call was made in (prices follow it)
        ("inference_region", pa.string()),
        ("operation", pa.string()),  # Converse | ConverseStream | InvokeModel | ...Stream
        ("streaming", pa.bool_()),
        ("model_id_raw", pa.string()),
        # a prompt router's choice (Converse trace.promptRouter.invokedModelId): the model
        # that ran, which the model columns describe; null for a call to a model
        ("routed_model_id", pa.string()),
        ("model", pa.string()),  # catalog key; null when the ID is unknown
        ("provider", pa.string()),
        ("family", pa.string()),
        ("geo", pa.string()),  # none | global | us | eu | apac | jp | au | us-gov | newer
        ("service_tier", pa.string()),  # default | flex | priority | reserved
        ("identity_arn", pa.string()),
        ("app", pa.string()),
        ("input_tokens", pa.int64()),  # uncached input (AWS inputTokenCount)
        ("cache_read_tokens", pa.int64()),
        ("cache_write_tokens", pa.int64()),
        # "5m" | "1h": the longest TTL this row's cache markers ask for; null: no marker
        ("cache_ttl", pa.string()),
        # of cache_write_tokens, those written with the 1h TTL: the response's split when it
        # gives one (Converse cacheDetails, Anthropic cache_creation), else all or none by
        # cache_ttl; the rest were written with the 5m TTL
        ("cache_write_1h_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        # latency_ms, max_tokens and temperature are also null where the record holds a value
        # no Bedrock call logs (a negative latency, max_tokens or temperature, a max_tokens past
        # MAX_TOKENS_PER_CALL or a temperature past 5: parse_scalars.ROW_VALUE_BOUNDS)
        ("latency_ms", pa.float64()),  # null for a non-streamed InvokeModel (AWS logs none)
        ("stop_reason", pa.string()),
        ("max_tokens", pa.int64()),  # null when the request set no limit
        ("temperature", pa.float64()),
        ("request_hash", pa.string()),  # model + normalised request body
        ("prefix_hashes", PREFIX_HASH_TYPE),
        ("system_hash", pa.string()),  # prompt template: hash of the system prompt
        ("tools_hash", pa.string()),
        ("system_tokens", pa.int64()),
        # last user turn, for semantic analysis; 64-bit offsets: a month of user turns passes
        # the 2 GB a plain string column holds (3.2 GB at 1M records of the benchmark's mix)
        ("user_text", pa.large_string()),
        # the kinds of media the request sent anywhere in its prompt (any turn, a tool's
        # result), inline or by reference, in MEDIA_KINDS order joined by "|" ("image",
        # "image|document"); "" for none; null where no request body was read
        ("media_sent", pa.string()),
        ("output_shape", pa.string()),  # label | json | code | prose | empty | unknown
        ("pretty_json_tokens", pa.int64()),  # tokens spent on JSON indentation whitespace
        # tokens of each repeat of a 16+ character line within the prompt: raw, not a saving
        # (data and code lines recur too; see docs/ingest.md)
        ("repeated_line_tokens", pa.int64()),
        ("body_in_s3", pa.bool_()),  # a body (request or response) left under data/, unread
        ("request_metadata", pa.string()),  # JSON object of requestMetadata
        ("source_file", pa.string()),
    ]
)

USAGE_COLUMNS: list[str] = USAGE_SCHEMA.names
TOKEN_COLUMNS = ["input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"]


def empty_usage() -> pd.DataFrame:
    """An empty usage table with the canonical Arrow-backed dtypes."""
    return USAGE_SCHEMA.empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def to_arrow(usage: pd.DataFrame) -> pa.Table:
    """Convert a usage DataFrame to an Arrow table in canonical column order and types."""
    missing = [c for c in USAGE_COLUMNS if c not in usage.columns]
    if missing:
        raise ValueError(
            f"usage table is missing columns {missing}; build it with "
            "bedrock_finops.ingest.read_invocation_logs or start from schema.empty_usage()"
        )
    extra = [c for c in usage.columns if c not in USAGE_COLUMNS]
    table = pa.Table.from_pandas(usage[USAGE_COLUMNS], preserve_index=False)
    table = table.cast(USAGE_SCHEMA)
    for name in extra:  # extensions are kept, after the canonical columns
        table = table.append_column(name, pa.Array.from_pandas(usage[name]))
    return table


def from_arrow(table: pa.Table) -> pd.DataFrame:
    """Arrow table -> pandas with Arrow-backed dtypes (no copies into numpy objects)."""
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def read_usage(path, *, user_text: bool = True) -> pd.DataFrame:
    """Read ``usage.parquet`` written by the ingest.

    ``user_text=False`` leaves out the user turns, most of the table's memory (~3 GB in a
    month of a million requests), for analyses that do not read them.
    """
    import pyarrow.parquet as pq

    columns = None
    if not user_text:
        columns = [n for n in pq.read_schema(path).names if n != "user_text"]
    table = canonical_text_types(pq.read_table(path, columns=columns))
    return from_arrow(with_added_columns(table))


def with_added_columns(table: pa.Table) -> pa.Table:
    """``table`` with the columns added to the schema since it was written: what the ingest
    wrote before it read them. ``routed_model_id``: null (no prompt router was read);
    ``cache_write_1h_tokens``: all of a row's writes when its ``cache_ttl`` is "1h", else
    none."""
    import pyarrow.compute as pc

    names = table.schema.names
    if "routed_model_id" not in names and "model_id_raw" in names:
        at = names.index("model_id_raw") + 1
        empty = pa.nulls(table.num_rows, pa.string())
        table = table.add_column(at, pa.field("routed_model_id", pa.string()), empty)
        names = table.schema.names
    if "cache_write_1h_tokens" in names or not {"cache_write_tokens", "cache_ttl"} <= set(names):
        return table
    hour = pc.if_else(
        pc.equal(pc.fill_null(table["cache_ttl"], "5m"), "1h"),
        table["cache_write_tokens"],
        pa.scalar(0, pa.int64()),
    )
    at = names.index("cache_ttl") + 1
    return table.add_column(at, pa.field("cache_write_1h_tokens", pa.int64()), hour)


def canonical_text_types(table: pa.Table) -> pa.Table:
    """``table`` with each canonical column that a file stores with ``string`` where the schema
    has ``large_string`` (``user_text``, the ``prefix_hashes`` strings: a table written
    before the change) cast to the schema's type, chunk by chunk.

    A ``string`` column's chunks cannot be joined past 2 GB, and pandas joins them on any
    row selection (``iloc``), so an old file's month of ``user_text`` would fail there.
    """
    for i, field in enumerate(table.schema):
        if field.name not in USAGE_COLUMNS:
            continue
        wanted = USAGE_SCHEMA.field(field.name).type
        if field.type != wanted and _narrow_of(wanted) == field.type:
            table = table.set_column(i, field.name, table.column(i).cast(wanted))
    return table


def _narrow_of(dtype: pa.DataType) -> pa.DataType:
    """``dtype`` with every large_string in it as string: how older files stored it."""
    if dtype == pa.large_string():
        return pa.string()
    if pa.types.is_list(dtype):
        return pa.list_(_narrow_of(dtype.value_type))
    if pa.types.is_struct(dtype):
        return pa.struct([pa.field(f.name, _narrow_of(f.type)) for f in dtype])
    return dtype


INPUT_TOKEN_COLUMNS = ("input_tokens", "cache_read_tokens", "cache_write_tokens")


def total_input_tokens(usage: pd.DataFrame) -> pd.Series:
    """Each row's total input: uncached input + cache reads + cache writes (AWS's
    ``inputTokenCount``, the ``input_tokens`` column, is the uncached part only); a missing
    count is 0. ``usage`` may be any frame with the three columns (a segment summary)."""
    uncached, read, write = (usage[c].fillna(0) for c in INPUT_TOKEN_COLUMNS)
    return uncached + read + write


def utc_datetimes(timestamps: pd.Series) -> pd.Series:
    """The ``timestamp`` column as ``datetime64[ms, UTC]`` (for pandas' time zone and calendar
    tools), index kept.

    The usage table's column is Arrow-backed, and pandas' own ``astype`` of an Arrow timestamp
    column goes value by value (~4 us a value: 4 s for a month of a million requests); Arrow
    converts it whole in under a millisecond for the sample's 46K."""
    if isinstance(timestamps.dtype, pd.ArrowDtype):
        converted = pa.array(timestamps.array).to_pandas()
        converted.index, converted.name = timestamps.index, timestamps.name
        timestamps = converted
    return pd.to_datetime(timestamps, utc=True).astype("datetime64[ms, UTC]")
