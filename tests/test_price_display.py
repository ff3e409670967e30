"""Prices per 1M tokens wherever a person reads them, and the baseline's rates-used table."""

from __future__ import annotations

import csv
import math
import re
from importlib import resources
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from usage_builders import make_usage

from bedrock_finops import notebook, price_display
from bedrock_finops.pricing import PriceCatalog


@pytest.mark.parametrize(
    ("per_1m", "text"),
    [
        (3, "3.00"),
        (0.08, "0.08"),  # Haiku 3.5 cache read: 0.00008 per 1K, shown before as "8e-05"
        (6.875, "6.875"),  # Opus 4.5 5-minute cache write: every published digit kept
        (0.004375, "0.004375"),
        (1234.5, "1,234.50"),
        (None, "not offered"),
        (float("nan"), "not offered"),
    ],
)
def test_price_text(per_1m, text):
    assert price_display.price_text(per_1m) == text


def test_per_1m_names_the_unit_and_keeps_other_columns():
    prices = pd.DataFrame(
        {"model": ["anthropic.claude-3-5-haiku"], "input_per_1k": [0.0008],
         "cache_read_per_1k": [0.00008], "cache_write_1h_per_1k": [float("nan")],
         "source": ["sheet"]}
    )  # fmt: skip
    out = price_display.per_1m(prices)
    assert list(out.columns) == [
        "model", "input_usd_per_1m", "cache_read_usd_per_1m", "cache_write_1h_usd_per_1m",
        "source",
    ]  # fmt: skip
    assert out.iloc[0].tolist() == ["anthropic.claude-3-5-haiku", "0.80", "0.08", "not offered",
                                    "sheet"]  # fmt: skip


def _sheet_rows() -> dict[tuple[str, str, str], dict[str, str]]:
    """The bundled current sheet read as plain CSV, independently of the catalog."""
    path = resources.files("bedrock_finops.data").joinpath("prices_current.csv")
    with path.open() as fh:
        return {(r["model"], r["region"], r["geo"]): r for r in csv.DictReader(fh)}


@pytest.mark.slow
def test_rates_used_are_the_sheet_rates_and_add_up_to_the_priced_spend():
    ctx = notebook.open_run("", user_text=False)
    table = price_display.rates_used(ctx.usage, ctx.priced, ctx.catalog)
    assert table["cost_usd"].sum() == pytest.approx(ctx.total_usd, abs=1e-9)  # 519.10
    assert table["requests"].sum() == int(ctx.priced["priced"].sum())
    assert (ctx.usage["cache_ttl"].fillna("5m") == "5m").all()  # so writes bill at the 5m rate
    sheet = _sheet_rows()
    for row in table.itertuples():
        src = sheet[(row.model, row.region, row.sheet_geo)]
        for kind in ("input", "output", "cache_read", "cache_write_5m"):
            shown = getattr(row, f"{kind}_usd_per_1m")
            raw = src[f"{kind}_per_1k"]
            assert shown == (price_display.price_text(float(raw) * 1000) if raw else "not offered")
        # the rates shown reproduce the spend next to them
        rate = {k: float(src[f"{k}_per_1k"] or 0) * 1000 for k in ("input", "output")}
        rate |= {k: float(src[f"{k}_per_1k"] or 0) * 1000 for k in ("cache_read", "cache_write_5m")}
        recomputed = (
            row.input_tokens * rate["input"]
            + row.output_tokens * rate["output"]
            + row.cache_read_tokens * rate["cache_read"]
            + row.cache_write_tokens * rate["cache_write_5m"]
        ) / 1e6
        assert recomputed == pytest.approx(row.cost_usd, rel=1e-9)
        assert row.source == src["source"]  # whole, not truncated
        assert str(row.as_of)[:10] == src["as_of"]
    sonnet = table.iloc[0]
    assert (sonnet["model"], sonnet["geo"], sonnet["sheet_geo"]) == (
        "anthropic.claude-sonnet-4", "us", "none",
    )  # fmt: skip
    assert (sonnet["input_usd_per_1m"], sonnet["output_usd_per_1m"]) == ("3.00", "15.00")
    assert table["source"].nunique() == len(table)  # each rate's own source, told apart


@pytest.mark.slow
def test_rates_used_show_the_negotiated_discount():
    ctx = notebook.open_run("", user_text=False, discount_pct=10.0)
    table = price_display.rates_used(ctx.usage, ctx.priced, ctx.catalog).set_index("model")
    assert table.loc["anthropic.claude-sonnet-4", "input_usd_per_1m"] == "2.70"  # 3.00 less 10%
    assert table.loc["meta.llama3-1-70b-instruct", "output_usd_per_1m"] == "0.648"
    assert ctx.catalog.discount_pct == 10.0 and isinstance(ctx.catalog, PriceCatalog)


NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PER_1K_PRICE = re.compile(r"_per_1k(?!_requests)")
EXPONENT = re.compile(r"\d[eE][-+]\d\d")  # 8e-05, -5.496e-15


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_show_prices_per_1m_and_no_exponents(path: Path):
    """What a person reads in the stored outputs: no per-1K price column, no 8e-05."""
    texts = [
        "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    ]
    shown = "\n".join(texts)
    assert not PER_1K_PRICE.search(shown), PER_1K_PRICE.search(shown)  # per 1K requests is fine
    assert not EXPONENT.search(shown), EXPONENT.search(shown)


def test_rates_used_show_the_1h_writes_that_reproduce_the_spend():
    """Two requests on Sonnet 4.5 global, 1,000 cache writes each, 400 of one at 1h: the table
    shows the 400 and its rates give back the spend (600 x 3.75 + 1,400 x ... per 1M)."""
    from bedrock_finops.schema import empty_usage

    usage = empty_usage().reindex(range(2))
    for col, value in {
        "model": "anthropic.claude-sonnet-4-5", "region": "us-east-1", "geo": "global",
        "service_tier": "default", "model_id_raw": "global.anthropic.claude-sonnet-4-5-v1:0",
        "cache_ttl": "1h",
    }.items():  # fmt: skip
        usage[col] = pd.array([value, value], dtype="string")
    for col in ("input_tokens", "output_tokens", "cache_read_tokens"):
        usage[col] = pd.array([0, 0], dtype="Int64")
    usage["cache_write_tokens"] = pd.array([1000, 1000], dtype="Int64")
    usage["cache_write_1h_tokens"] = pd.array([400, pd.NA], dtype="Int64")  # NA: all at 1h
    catalog = PriceCatalog.load("current")
    priced = catalog.price(usage)
    row = price_display.rates_used(usage, priced, catalog).iloc[0]
    assert row["cache_write_1h_tokens"] == 1400
    five, hour = float(row["cache_write_5m_usd_per_1m"]), float(row["cache_write_1h_usd_per_1m"])
    assert (five, hour) == (3.75, 6.0)
    assert row["cost_usd"] == pytest.approx((600 * five + 1400 * hour) / 1e6)


def test_rates_used_of_a_run_with_no_priced_request_is_an_empty_table():
    """A first try on models the sheet lacks (Titan Multimodal Embeddings, which the catalog
    does not list; a new model): no rate priced the run, so the table has no row, and the
    columns a priced run's has; it raised a KeyError, failing 00_baseline before its
    data-quality report could say what is unpriced."""
    usage = make_usage(
        [dict(app="rag", model=None, model_id_raw="amazon.titan-embed-image-v1", n=3)]
    )
    catalog = PriceCatalog.load("current")
    table = price_display.rates_used(usage, catalog.price(usage), catalog)
    assert table.empty
    assert list(table.columns) == [
        "model", "region", "geo", "service_tier", "sheet_geo",
        "input_usd_per_1m", "output_usd_per_1m", "cache_read_usd_per_1m",
        "cache_write_5m_usd_per_1m", "cache_write_1h_usd_per_1m", "requests",
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
        "cache_write_1h_tokens", "cost_usd", "source", "as_of",
    ]  # fmt: skip


def test_a_run_with_no_request_priced_has_no_priced_spend_not_zero():
    """Only models the sheet lacks (Qwen3 32B, a catalog model without a bundled price): the
    run's priced spend is unknown (NaN, read 'unpriced'), not $0.00; a run whose priced
    requests cost nothing is $0."""
    catalog = PriceCatalog.load("current")
    ctx = notebook.RunContext(run_dir=Path("unused"), catalog=catalog)
    ctx.usage = make_usage([dict(app="a", model="qwen.qwen3-32b", n=3)])
    assert math.isnan(ctx.total_usd)
    free = notebook.RunContext(run_dir=Path("unused"), catalog=catalog)
    free.usage = make_usage([dict(app="a", model="anthropic.claude-3-5-haiku", n=3)])
    assert free.total_usd == 0.0  # priced, no tokens
