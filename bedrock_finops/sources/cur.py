"""Billing exports -> one Bedrock billing frame: CUR 2.0 (parquet or CSV) and FOCUS 1.0/1.2.

Only Bedrock rows are kept: ``line_item_product_code == 'AmazonBedrock'`` (first-party and
open-weight models) and Marketplace models sold through Bedrock, which carry an opaque product
code and a product name ending in "(Amazon Bedrock Edition)" (Claude and other third-party
models). Every other row is counted in ``frame.attrs["rows_other_services"]``, not kept. A file
is read ``BATCH_ROWS`` lines at a time and each batch cut to its Bedrock lines, so a payer's
export of every service's lines, a few percent of them Bedrock's, is held as those lines and
one batch, never whole. A Parquet batch is cut in Arrow first, before pandas, to the lines that
could be Bedrock's (:func:`could_be_bedrock_line`, a superset of :func:`is_bedrock_line`: a
product code ``AmazonBedrock`` or a name with "bedrock" in it), so other services' lines are
never made pandas; :func:`is_bedrock_line` then decides among those.

The billing frame (``BILLING_COLUMNS``): ``date`` (UTC day the line's usage starts),
``end_date`` (the day after its last day: ``date`` + 1 for a daily or hourly line, the 1st of
the next month for a line of a monthly export; CUR ``line_item_usage_end_date``, FOCUS
``ChargePeriodEnd`` and Cost Explorer's ``End`` are exclusive, and rounded up to a whole day
here), ``source`` (cur | focus |
cost_explorer), ``service``, ``product_name``, ``usage_type``, ``region``, ``model`` (catalog
key, null when the line cannot be mapped), ``token_kind`` and ``mode`` (from
:func:`bedrock_finops.usage_types.parse_usage_type`), ``quantity``, ``unit``, ``cost_usd``,
``discount_usd`` (the discount within ``cost_usd``), ``line_type`` (CUR line item type or FOCUS
ChargeCategory) and ``marketplace`` (billed under a Marketplace product, which a
``Service = Amazon Bedrock`` filter misses).

Quantities are converted to tokens when the pricing unit says how many tokens one unit is
("1K tokens", "1M tokens", "tokens"). Marketplace token lines (Claude and other models sold
as "... (Amazon Bedrock Edition)", usage types ``{region}-MP:{region}_{dimension}-Units``)
are in ``Units`` of one million tokens: AWS prices them (``AmazonBedrockFoundationModels``)
per 1M tokens with pricing unit "Units", so they are converted at 1e6 tokens per unit
(``MARKETPLACE_TOKENS_PER_UNIT``). Otherwise the raw quantity and unit are kept and ``unit``
is not "tokens". ``unit_scale={"<unit>": tokens_per_unit}`` overrides both.

``cost_usd`` is what the line is billed, negotiated discounts netted in, and ``discount_usd``
the discount in it (0 when none). A CUR 2.0 export writes a discount one of two ways
(https://docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2-discount.html): by
default on the usage line itself, in the ``discount`` map (``total_discount``: "the sum of all
the discount columns for the corresponding line item") and in ``line_item_net_unblended_cost``,
while ``line_item_unblended_cost`` stays at the undiscounted price; with "manual discount
compatibility" as separate line items (``EdpDiscount``, ``PrivateRateDiscount``, ...) and no
``discount`` column. So a line's cost is its net unblended cost, else its unblended cost plus its
total discount, else its unblended cost; and when a billing period of the export (the lines of
one month in the files of one folder) has discount line items, those carry the discount and
every line of that period is read at its unblended cost, so no discount counts twice.
A FOCUS ``BilledCost`` is already "inclusive of all reduced rates and discounts".

Costs must be in US dollars: an export whose ``line_item_currency_code`` (legacy
``lineItem/CurrencyCode``) or FOCUS ``BillingCurrency`` names another currency is refused
with :class:`BillingFormatError`, never read as USD.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bedrock_finops.billed import DISCOUNT_LINE_TYPES
from bedrock_finops.sources.billing_files import BillingFormatError as BillingFormatError
from bedrock_finops.sources.billing_files import (
    ExportFiles,
    Note,
    print_note,
    select_export_files,
    tell,
)
from bedrock_finops.sources.billing_files import export_files as export_files
from bedrock_finops.usage_types import model_key_from_product, parse_usage_type

BEDROCK_PRODUCT_CODE = "AmazonBedrock"
BEDROCK_SERVICE_NAME = "Amazon Bedrock"
MARKETPLACE_SUFFIX = "(amazon bedrock edition)"
# AmazonBedrockFoundationModels (Marketplace) prices are per 1M tokens, pricing unit "Units".
MARKETPLACE_TOKENS_PER_UNIT = 1_000_000.0
# lines read at a time (the readers and the overlap check); a CUR batch of the columns read_cur
# wants is ~220 bytes a line in pandas, so ~22 MB, and the per-batch cost is a few ms
BATCH_ROWS = 100_000

BILLING_COLUMNS = [
    "date",
    "end_date",
    "source",
    "service",
    "product_name",
    "usage_type",
    "region",
    "model",
    "token_kind",
    "mode",
    "quantity",
    "unit",
    "cost_usd",
    "discount_usd",
    "line_type",
    "marketplace",
]
_NON_STRING_COLUMNS = {"date", "end_date", "quantity", "cost_usd", "discount_usd", "marketplace"}
_STRING_COLUMNS = [c for c in BILLING_COLUMNS if c not in _NON_STRING_COLUMNS]

CUR_REQUIRED = [
    "line_item_usage_start_date",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_usage_amount",
    "line_item_unblended_cost",
]
CUR_OPTIONAL = [
    "line_item_usage_end_date",
    "product_product_name",
    "product",
    "product_region_code",
    "pricing_unit",
    "line_item_line_item_type",
    "line_item_resource_id",
    "line_item_currency_code",
    "line_item_net_unblended_cost",
    "discount",
    "discount_total_discount",
]
FOCUS_REQUIRED = ["ChargePeriodStart", "ServiceName", "BilledCost"]
FOCUS_OPTIONAL = [
    "ChargePeriodEnd",
    "ChargeDescription",
    "ChargeCategory",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingUnit",
    "SkuId",
    "RegionId",
    "x_ServiceCode",
    "x_UsageType",
    "SkuMeter",
    "BillingCurrency",
]


# --- shared frame ------------------------------------------------------------------------


def billing_frame(data: pd.DataFrame | dict | None = None) -> pd.DataFrame:
    """A billing frame with the canonical columns and dtypes (empty when ``data`` is None).

    Columns added since billing frames were first written get what older frames meant:
    without ``end_date`` each line is one day's; without ``discount_usd`` a discount line's
    whole cost is its discount and any other line has none."""
    df = pd.DataFrame(data if data is not None else {c: [] for c in BILLING_COLUMNS})
    if "end_date" not in df.columns and "date" in df.columns:
        df["end_date"] = pd.to_datetime(df["date"]) + pd.Timedelta(days=1)
    if "discount_usd" not in df.columns and {"cost_usd", "line_type"} <= set(df.columns):
        df["discount_usd"] = separate_discounts(df)
    missing = [c for c in BILLING_COLUMNS if c not in df.columns]
    if missing:
        raise BillingFormatError(f"billing frame lacks columns {missing}")
    out = df[BILLING_COLUMNS].copy()
    for col in ("date", "end_date"):
        out[col] = pd.to_datetime(out[col]).dt.date.astype(pd.ArrowDtype(pa.date32()))
    for col in _STRING_COLUMNS:
        out[col] = out[col].astype("string[pyarrow]")
    for col in ("quantity", "cost_usd", "discount_usd"):
        out[col] = pd.to_numeric(out[col]).astype("float64")
    out["marketplace"] = out["marketplace"].astype("bool")
    return out.reset_index(drop=True)


def separate_discounts(df: pd.DataFrame) -> pd.Series:
    """The cost of each discount line item (``EdpDiscount``, ...), 0 on every other line."""
    is_discount = df["line_type"].astype("object").isin(DISCOUNT_LINE_TYPES)
    return pd.to_numeric(df["cost_usd"]).astype(float).where(is_discount, 0.0)


def is_marketplace_product(name: object) -> bool:
    """A Marketplace product sold through Bedrock: "... (Amazon Bedrock Edition)" (a name
    missing, None or NA, is not)."""
    return isinstance(name, str) and name.strip().lower().endswith(MARKETPLACE_SUFFIX)


def token_scale(unit: str | None, overrides: dict[str, float] | None = None) -> float | None:
    """Tokens per billed unit, or None when the unit does not say."""
    if unit is None or (isinstance(unit, float) and pd.isna(unit)):
        return None
    if overrides and unit in overrides:
        return float(overrides[unit])
    u = str(unit).strip().lower().replace(",", "")
    if "token" not in u:
        return None
    if re.search(r"\b(1m|1000000|million)\b", u):
        return 1e6
    if re.search(r"\b(1k|1000|thousand)\b", u):
        return 1e3
    return 1.0


def classify_lines(df: pd.DataFrame, unit_scale: dict[str, float] | None) -> pd.DataFrame:
    """Fill model, token_kind, mode, region, quantity and unit from usage type and product."""
    parsed = {u: parse_usage_type(u) for u in df["usage_type"].dropna().unique()}
    products = {p: model_key_from_product(p) for p in df["product_name"].dropna().unique()}
    ut = df["usage_type"]
    df["token_kind"] = ut.map(lambda u: parsed[u].token_kind if u in parsed else None)
    df["mode"] = ut.map(lambda u: parsed[u].mode if u in parsed else None)
    ut_region = ut.map(lambda u: parsed[u].region if u in parsed else None)
    df["region"] = df["region"].where(df["region"].notna() & (df["region"] != ""), ut_region)
    from_fragment = ut.map(
        lambda u: (
            model_key_from_product(parsed[u].model_fragment)
            if u in parsed and parsed[u].model_fragment
            else None
        )
    )
    from_product = df["product_name"].map(lambda p: products.get(p))
    # Marketplace usage types name no model: the product does. First-party ones name it.
    primary = from_product.where(df["marketplace"], from_fragment)
    fallback = from_fragment.where(df["marketplace"], from_product)
    df["model"] = primary.where(primary.notna(), fallback)
    scales = {u: token_scale(u, unit_scale) for u in df["unit"].dropna().unique()}
    scale = df["unit"].map(lambda u: scales.get(u))
    # Marketplace "Units" are millions of tokens, unless the caller said otherwise.
    shape = ut.map(lambda u: parsed[u].shape if u in parsed else None)
    mp_units = (
        (df["marketplace"].astype(bool) | (shape == "marketplace"))
        & df["unit"].map(lambda u: isinstance(u, str) and u.strip().lower() == "units")
        & ~df["unit"].isin(list(unit_scale or {}))
    )
    scale = scale.where(~mp_units, MARKETPLACE_TOKENS_PER_UNIT)
    known = scale.notna() & (df["token_kind"] != "other")
    df["quantity"] = df["quantity"].where(~known, df["quantity"] * scale)
    df["unit"] = df["unit"].where(~known, "tokens")
    return df


# --- CUR 2.0 ----------------------------------------------------------------------------


def _legacy_name(col: str) -> str:
    """``lineItem/UsageStartDate`` (legacy CUR CSV) -> ``line_item_usage_start_date``."""
    if "/" not in col:
        return col
    head, tail = col.split("/", 1)
    snake = lambda s: re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", s).lower()  # noqa: E731
    return f"{snake(head)}_{snake(tail)}"


def read_batches(
    path: Path, wanted: Iterable[str], rows: int | None = None
) -> Iterator[pd.DataFrame]:
    """The wanted columns of a file, ``rows`` lines at a time (``BATCH_ROWS`` by default), legacy
    CUR's named as CUR 2.0's and CUR 2.0's ``product_name`` and ``total_discount`` pulled out of
    their maps: a reader or a check that keeps a few lines of each batch holds one batch, not the
    whole file."""
    wanted, rows = set(wanted), rows or BATCH_ROWS
    if path.suffix == ".parquet":
        for table in _parquet_batches(path, wanted, rows):
            yield _discount_from_map(table).to_pandas()
        return
    renamed = _csv_names(path)
    keep = [c for c in renamed if renamed[c] in wanted]
    chunks = pd.read_csv(
        path, usecols=keep, dtype=str, keep_default_na=False, na_values=[""], chunksize=rows
    )
    with chunks:
        for chunk in chunks:
            yield chunk.rename(columns=renamed)


def _parquet_batches(path: Path, wanted: Iterable[str], rows: int | None) -> Iterator[pa.Table]:
    """A Parquet file's wanted columns, ``rows`` lines at a time, as Arrow tables with
    ``product_name`` pulled out of CUR 2.0's product map."""
    wanted, parquet = set(wanted), pq.ParquetFile(path)
    columns = [c for c in parquet.schema_arrow.names if c in wanted]
    for batch in parquet.iter_batches(batch_size=rows or BATCH_ROWS, columns=columns):
        yield _product_name_from_map(pa.Table.from_batches([batch]))


def read_candidate_batches(
    path: Path, wanted: Iterable[str], rows: int | None = None
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Each batch of :func:`read_batches` as its number of lines and those of its lines that
    could be Bedrock's. A Parquet batch is cut to them (:func:`could_be_bedrock_line`) in Arrow,
    before it is made a pandas frame: most of a payer's lines are other services', and making
    them pandas and testing each one's product name in Python, only to drop them, was much of
    the reading. A CSV batch, text pandas parses anyway, comes whole."""
    if path.suffix != ".parquet":
        for batch in read_batches(path, wanted, rows):
            yield len(batch), batch
        return
    for table in _parquet_batches(path, wanted, rows):
        candidates = table.filter(could_be_bedrock_line(table))
        yield len(table), _discount_from_map(candidates).to_pandas()


def _bedrock_lines(path: Path, wanted: Iterable[str]) -> tuple[pd.DataFrame, int, int]:
    """A file's Bedrock lines (:func:`is_bedrock_line`), in the file's order, with the number of
    lines it has and of other services' lines (those a Parquet batch dropped before pandas
    among them). Read a batch at a time: a payer's export holds every service's lines, a few
    percent of them Bedrock's, so what is held is those and one batch, not the file."""
    kept: list[pd.DataFrame] = []
    read = other = 0
    for count, batch in read_candidate_batches(path, wanted):
        keep = is_bedrock_line(batch)
        read += count
        other += count - int(keep.sum())
        if keep.any():
            kept.append(batch[keep])
    lines = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
    return lines, read, other


def column_names(path: Path) -> list[str]:
    """The columns a file has, legacy CUR's named as CUR 2.0's; its header alone is read."""
    if path.suffix == ".parquet":
        return pq.read_schema(path).names
    return list(_csv_names(path).values())


def _csv_names(path: Path) -> dict[str, str]:
    """A CSV file's columns, each to its name as read (legacy CUR's renamed)."""
    return {c: _legacy_name(c) for c in pd.read_csv(path, nrows=0).columns}


def _product_name_from_map(table: pa.Table) -> pa.Table:
    """CUR 2.0 keeps product attributes in a ``product`` map column: pull ``product_name``."""
    if "product" in table.column_names and pa.types.is_map(table.schema.field("product").type):
        name = pc.map_lookup(table.column("product"), "product_name", "first")
        table = table.drop_columns(["product"]).append_column("product_map_name", name)
    return table


def _discount_from_map(table: pa.Table) -> pa.Table:
    """CUR 2.0 keeps a line's discounts in a ``discount`` map: pull ``total_discount``."""
    if "discount" in table.column_names and pa.types.is_map(table.schema.field("discount").type):
        total = pc.map_lookup(table.column("discount"), "total_discount", "first")
        total = pc.cast(total, pa.float64())
        table = table.drop_columns(["discount"]).append_column("discount_map_total", total)
    return table


def _key_from_json(values: pd.Series, key: str) -> pd.Series:
    """The same lookups for CSV exports, where a map column is a JSON object string."""
    cache: dict[str, object] = {}

    def one(text: object) -> object:
        if not isinstance(text, str) or not text:
            return None
        if text not in cache:
            try:
                cache[text] = json.loads(text).get(key)
            except (ValueError, AttributeError):
                cache[text] = None
        return cache[text]

    return values.map(one)


def _cur_product_name(df: pd.DataFrame) -> pd.Series:
    name = pd.Series(pd.NA, index=df.index, dtype="object")
    if "product_product_name" in df:
        name = df["product_product_name"].astype("object")
    if "product_map_name" in df:
        name = name.where(name.notna(), df["product_map_name"])
    if "product" in df:
        name = name.where(name.notna(), _key_from_json(df["product"], "product_name"))
    return name


def _numbers(raw: pd.DataFrame, column: str) -> pd.Series:
    """A numeric column, NaN where the export leaves it empty or lacks it."""
    if column not in raw:
        return pd.Series(float("nan"), index=raw.index)
    return pd.to_numeric(raw[column], errors="coerce").astype(float)


def _total_discount(raw: pd.DataFrame) -> pd.Series:
    """Each line's ``total_discount`` (negative), from whichever form the export has it in."""
    total = _numbers(raw, "discount_total_discount")
    total = total.fillna(_numbers(raw, "discount_map_total"))
    if "discount" in raw:  # a CSV export's map column, as JSON
        total = total.fillna(pd.to_numeric(_key_from_json(raw["discount"], "total_discount")))
    return total


def _cur_costs(raw: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(net cost, unblended cost) of each line: the net unblended cost, else the unblended
    cost plus the total discount, else the unblended cost."""
    unblended = _numbers(raw, "line_item_unblended_cost")
    net = _numbers(raw, "line_item_net_unblended_cost")
    net = net.fillna(unblended + _total_discount(raw)).fillna(unblended)
    return net, unblended


def _count_discounts_once(df: pd.DataFrame) -> pd.DataFrame:
    """Net each line's discount into its cost, unless its export's billing period (files of one
    folder, lines of one month) writes discounts as line items of their own: then they carry
    it, and every line of that period keeps its unblended cost. Each period is judged alone, so
    a month with discount line items leaves another export's netted month netted; one period's
    files are judged together, as a large export splits a billing period across several."""
    unblended = df.pop("unblended_usd")
    period = df.pop("folder") + "/" + df["date"].map(lambda d: f"{d:%Y-%m}")
    is_discount_line = df["line_type"].astype("object").isin(DISCOUNT_LINE_TYPES)
    separate = is_discount_line.groupby(period).transform("any").astype(bool)
    df["cost_usd"] = unblended.where(separate, df["cost_usd"])
    df["discount_usd"] = separate_discounts(df).where(separate, df["cost_usd"] - unblended)
    return df


def _cur_is_bedrock(raw: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(Bedrock line, Marketplace line, product name) of each CUR line: product code
    ``AmazonBedrock``, or a Marketplace product "... (Amazon Bedrock Edition)"."""
    product_name = _cur_product_name(raw)
    code = raw["line_item_product_code"].astype("object")
    marketplace = product_name.map(is_marketplace_product).astype(bool)
    return (code == BEDROCK_PRODUCT_CODE) | marketplace, marketplace, product_name


def is_bedrock_line(raw: pd.DataFrame) -> pd.Series:
    """True for the lines :func:`read_cur` (CUR columns) or :func:`read_focus` (FOCUS columns)
    keeps, of every line type (usage, discounts, tax, credits, refunds, fees); the others are
    other services', counted and dropped. A file with neither a product code nor a service
    column, which both readers refuse, has every line taken as Bedrock's. A Parquet file's
    batches are first cut in Arrow to the lines :func:`could_be_bedrock_line` keeps, a superset
    of these, so this decides on those alone."""
    if "line_item_product_code" in raw:
        return _cur_is_bedrock(raw)[0]
    if "ServiceName" in raw:
        return _focus_is_bedrock(raw)[0]
    return pd.Series(True, index=raw.index)


# could_be_bedrock_line's columns: codes that are Bedrock's when equal to BEDROCK_PRODUCT_CODE, and
# names that are Bedrock's only with "bedrock" in them (a JSON product column: in its text)
_BEDROCK_CODE_COLUMNS = ("line_item_product_code", "x_ServiceCode")
_BEDROCK_NAME_COLUMNS = ("product_product_name", "product_map_name", "product", "ServiceName")


def could_be_bedrock_line(table: pa.Table) -> pa.ChunkedArray:
    """A superset of :func:`is_bedrock_line` told in Arrow, before a batch is made pandas
    (:func:`read_candidate_batches`): True for every line it keeps and a few more, which it
    then drops. A line could be Bedrock's when a code column (CUR ``line_item_product_code``,
    FOCUS ``x_ServiceCode``) is ``AmazonBedrock`` or a name column (CUR
    ``product_product_name``, the product map's ``product_name``, a JSON ``product`` column's
    text; FOCUS ``ServiceName``) has "bedrock" in it, in any case: the names
    :func:`is_bedrock_line` takes are "Amazon Bedrock" and "... (Amazon Bedrock Edition)".

    So that it stays a superset, a JSON text with a ``\\u`` escape (which could spell the
    name) could be too, a column of another type than text keeps every line, and so does a
    table with neither a product code nor a service column, all of whose lines
    :func:`is_bedrock_line` takes."""
    names = set(table.column_names)
    could = pa.chunked_array([pa.repeat(False, table.num_rows)])
    if not names & {"line_item_product_code", "ServiceName"}:
        return pc.invert(could)
    for name in (c for c in _BEDROCK_CODE_COLUMNS if c in names):
        could = pc.or_(could, _text_test(table.column(name), _is_bedrock_code))
    for name in (c for c in _BEDROCK_NAME_COLUMNS if c in names):
        test = _json_could_name_bedrock if name == "product" else _names_bedrock
        could = pc.or_(could, _text_test(table.column(name), test))
    return could


def _is_bedrock_code(codes: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.equal(codes, BEDROCK_PRODUCT_CODE)


def _names_bedrock(names: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.match_substring(names, "bedrock", ignore_case=True)


def _json_could_name_bedrock(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.or_(_names_bedrock(texts), pc.match_substring(texts, "\\u"))


def _text_test(
    column: pa.ChunkedArray, test: Callable[[pa.ChunkedArray], pa.ChunkedArray]
) -> pa.ChunkedArray:
    """``test`` on a text column (a dictionary's values decoded), False where a value is null;
    a column of nulls alone says no line is Bedrock's, and one of another type any line may be."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_null(kind):
        return pa.chunked_array([pa.repeat(False, len(column))])
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return pa.chunked_array([pa.repeat(True, len(column))])
    return pc.fill_null(test(column), False)


def _check_columns(path: Path, have: Iterable[str], required: list[str], kind: str) -> None:
    have = set(have)
    missing = [c for c in required if c not in have]
    if kind == "CUR" and not have & {"product_product_name", "product"}:
        missing.append("product_product_name or product (map with product_name)")
    if missing:
        raise BillingFormatError(
            f"{path}: {kind} export lacks column(s) {', '.join(missing)}. "
            f"Re-export it with these columns selected "
            f"({'CUR 2.0 standard data export' if kind == 'CUR' else 'FOCUS 1.0 or 1.2 export'})."
        )


def _check_currency(raw: pd.DataFrame, path: Path, column: str, kind: str) -> None:
    """Refuse costs in another currency than USD (they would be read as dollars)."""
    if column not in raw:
        return
    codes = raw[column].dropna().astype(str).str.strip().str.upper()
    other = sorted(set(codes[(codes != "") & (codes != "USD")]))
    if other:
        raise BillingFormatError(
            f"{path}: {kind} export has Bedrock costs in {other} ({column}), not USD, and "
            f"the price sheets are in USD; convert the costs to USD (and set {column} to "
            "USD) before reading it."
        )


def _timestamps(values: pd.Series, path: Path, column: str) -> pd.Series:
    ts = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    bad = ts.isna() & values.notna()
    if bad.any() or values.isna().any():
        examples = list(values[bad | values.isna()].astype(str).head(3))
        raise BillingFormatError(
            f"{path}: {int((bad | values.isna()).sum())} row(s) with an unreadable {column} "
            f"(e.g. {examples}); expected ISO timestamps"
        )
    return ts


def _days(raw: pd.DataFrame, path: Path, start: str, end: str) -> tuple[pd.Series, pd.Series]:
    """Each line's first UTC day and the day after its last: the exclusive ``end`` timestamp
    rounded up to a whole day, at least the day after the first; without ``end`` (the export
    lacks it, or a line leaves it empty) the line is taken as its first day's."""
    first = _timestamps(raw[start], path, start).dt.floor("D")
    after = first + pd.Timedelta(days=1)
    if end in raw:
        ends = pd.to_datetime(raw[end], utc=True, errors="coerce", format="mixed").dt.ceil("D")
        after = ends.where(ends > first, after)
    return first.dt.date, after.dt.date


def read_cur(
    path_or_paths: str | Path | Sequence[str | Path],
    *,
    unit_scale: dict[str, float] | None = None,
    note: Note | None = print_note,
) -> pd.DataFrame:
    """Read CUR 2.0 (or legacy CUR) parquet/CSV files or folders -> the Bedrock billing frame.

    ``frame.attrs`` carries ``rows_read``, ``rows_bedrock``, ``rows_other_services`` and
    ``files_skipped`` (:mod:`bedrock_finops.sources.billing_files`: what was left out, and
    why), which ``note`` is told in a sentence each (on stderr by default; None: not told).
    """
    selection = select_export_files(path_or_paths)
    tell(selection, note)
    frames, read, other = [], 0, 0
    for path in selection.files:
        _check_columns(path, column_names(path), CUR_REQUIRED, "CUR")
        raw, file_read, file_other = _bedrock_lines(path, CUR_REQUIRED + CUR_OPTIONAL)
        read, other = read + file_read, other + file_other
        if raw.empty:
            continue
        _, marketplace, product_name = _cur_is_bedrock(raw)
        _check_currency(raw, path, "line_item_currency_code", "CUR")
        net, unblended = _cur_costs(raw)
        first, after = _days(raw, path, "line_item_usage_start_date", "line_item_usage_end_date")
        df = pd.DataFrame(
            {
                "date": first,
                "end_date": after,
                "source": "cur",
                "service": product_name.where(marketplace, BEDROCK_SERVICE_NAME),
                "product_name": product_name,
                "usage_type": raw["line_item_usage_type"].astype("object"),
                "region": raw.get("product_region_code", pd.Series(None, index=raw.index)),
                "quantity": pd.to_numeric(raw["line_item_usage_amount"]),
                "unit": raw.get("pricing_unit", pd.Series(None, index=raw.index)),
                "cost_usd": net,
                "unblended_usd": unblended,
                "line_type": raw.get(
                    "line_item_line_item_type", pd.Series("Usage", index=raw.index)
                ),
                "marketplace": marketplace,
                "folder": str(path.parent),
            }
        )
        frames.append(classify_lines(df.astype({"region": "object", "unit": "object"}), unit_scale))
    if frames:  # a billing period's discounts are either all line items or all netted in
        frames = [_count_discounts_once(pd.concat(frames, ignore_index=True))]
    return _with_skipped(collect_frames(frames, read, other), selection)


def collect_frames(frames: list[pd.DataFrame], read: int, other: int) -> pd.DataFrame:
    out = billing_frame(pd.concat(frames, ignore_index=True)) if frames else billing_frame()
    out.attrs.update(rows_read=read, rows_bedrock=len(out), rows_other_services=other)
    return out


def _with_skipped(frame: pd.DataFrame, selection: ExportFiles) -> pd.DataFrame:
    frame.attrs["files_skipped"] = selection.skipped
    return frame


# --- FOCUS 1.0 / 1.2 -----------------------------------------------------------------------


def _focus_is_bedrock(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    service = df["ServiceName"].astype("object")
    marketplace = service.map(is_marketplace_product).astype(bool)
    first_party = service == BEDROCK_SERVICE_NAME
    if "x_ServiceCode" in df:
        first_party |= df["x_ServiceCode"].astype("object") == BEDROCK_PRODUCT_CODE
    return first_party | marketplace, marketplace


def _focus_usage_type(raw: pd.DataFrame) -> pd.Series:
    """Each line's usage type: FOCUS 1.0's ``x_UsageType``, else 1.2's ``SkuMeter``."""
    usage_type = pd.Series(None, index=raw.index, dtype="object")
    for column in ("x_UsageType", "SkuMeter"):
        if column in raw:
            usage_type = usage_type.where(usage_type.notna(), raw[column].astype("object"))
    return usage_type


def read_focus(
    path_or_paths: str | Path | Sequence[str | Path],
    *,
    unit_scale: dict[str, float] | None = None,
    note: Note | None = print_note,
) -> pd.DataFrame:
    """Read a FOCUS 1.0/1.2 export (CSV or parquet) -> the Bedrock billing frame.

    The usage type comes from AWS's ``x_UsageType`` column (FOCUS 1.0 with AWS columns) or,
    in FOCUS 1.2, where AWS dropped it, from ``SkuMeter`` ("x_UsageType ... is now the
    SkuMeter column"); the other columns read keep their names in 1.2. Without either, token
    kind and model stay null (FOCUS's own columns do not carry them reliably). ``frame.attrs``
    and ``note`` are as :func:`read_cur`'s.
    """
    selection = select_export_files(path_or_paths)
    tell(selection, note)
    frames, read, other = [], 0, 0
    for path in selection.files:
        _check_columns(path, column_names(path), FOCUS_REQUIRED, "FOCUS")
        raw, file_read, file_other = _bedrock_lines(path, FOCUS_REQUIRED + FOCUS_OPTIONAL)
        read, other = read + file_read, other + file_other
        if raw.empty:
            continue
        _, marketplace = _focus_is_bedrock(raw)
        _check_currency(raw, path, "BillingCurrency", "FOCUS")
        none = pd.Series(None, index=raw.index, dtype="object")
        quantity = raw.get("ConsumedQuantity", none)
        unit = raw.get("ConsumedUnit", raw.get("PricingUnit", none))
        first, after = _days(raw, path, "ChargePeriodStart", "ChargePeriodEnd")
        df = pd.DataFrame(
            {
                "date": first,
                "end_date": after,
                "source": "focus",
                "service": raw["ServiceName"].astype("object"),
                "product_name": raw["ServiceName"].astype("object"),
                "usage_type": _focus_usage_type(raw),
                "region": raw.get("RegionId", none).astype("object"),
                "quantity": pd.to_numeric(quantity).fillna(0.0),
                "unit": unit.astype("object"),
                "cost_usd": pd.to_numeric(raw["BilledCost"]),
                "line_type": raw.get("ChargeCategory", pd.Series("Usage", index=raw.index)),
                "marketplace": marketplace,
            }
        )
        frames.append(classify_lines(df, unit_scale))
    return _with_skipped(collect_frames(frames, read, other), selection)
