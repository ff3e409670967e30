"""billing_inputs.collect: one billing source per run, read as a real export is."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from bedrock_finops import billing_inputs
from bedrock_finops.params import ParamsError

FIXTURES = Path(__file__).parent / "fixtures" / "billing"
PERIOD = {"start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 3)}


@pytest.mark.parametrize(
    ("sources", "named"),
    [
        (
            {"cur": str(FIXTURES / "cur2.parquet"), "focus": str(FIXTURES / "focus.csv")},
            "cur and focus",
        ),
        ({"cur": "sample", "cost_explorer": True}, "cur and cost_explorer"),
        (
            {"cur": "x.parquet", "focus": "f.csv", "cost_explorer": True},
            "cur and focus and cost_explorer",
        ),
    ],
)
def test_two_billing_sources_are_refused(tmp_path, sources, named):
    with pytest.raises(ParamsError) as err:
        billing_inputs.collect({**sources, **PERIOD}, tmp_path, log=lambda *_: None)
    msg = str(err.value)
    assert named in msg and "count it twice" in msg
    assert "give only one of cur, focus, cost_explorer" in msg and "\n" not in msg
    assert not (tmp_path / "billing.parquet").exists()  # nothing read, nothing written


def test_one_source_is_fine():
    assert billing_inputs.check_sources({"cur": None, "focus": "f.csv", "metrics": True}) == "focus"
    assert billing_inputs.check_sources({"cost_explorer": False}) is None


def test_real_cur_gets_marketplace_units_converted(tmp_path):
    info = billing_inputs.collect(
        {"cur": str(FIXTURES / "cur2.parquet"), **PERIOD}, tmp_path, log=lambda *_: None
    )
    assert info["sources"] == ["cur"] and info["billing_rows"] == 7
    billing = pd.read_parquet(tmp_path / "billing.parquet")
    mp = billing[billing["marketplace"]].set_index("token_kind")
    # Claude Sonnet 4.5: 2.0 and 0.1 "Units" of 1M tokens, $6.00 and $1.50
    assert mp.loc["input", "quantity"] == 2_000_000 and mp.loc["output", "quantity"] == 100_000
    assert set(mp["unit"]) == {"tokens"}
    json.dumps(info)  # goes into the manifest
