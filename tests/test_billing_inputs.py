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


def test_manifest_bills_the_runs_window_and_reports_what_lies_outside(tmp_path):
    """The fixture bills 2026-03-01 (Nova $0.80 + $0.80, Claude $6.00 + $1.50 = $9.10) and
    03-02 (Nova $0.40 + $0.02 and a $0.10 tax line). A run of 03-01 alone bills $9.10; the 3
    line items of 03-02 ($0.42 of usage, $0.52 with the tax) are outside its window."""
    lines: list[str] = []
    info = billing_inputs.collect(
        {"cur": str(FIXTURES / "cur2.parquet"), "start": dt.date(2026, 3, 1),
         "end": dt.date(2026, 3, 2)},
        tmp_path,
        log=lines.append,
    )  # fmt: skip
    assert info["billed_usd"] == 9.10 and info["tax_usd"] == 0
    assert info["window"] == ["2026-03-01", "2026-03-02"]
    assert info["outside_window"] == {"lines": 3, "billed_usd": 0.42, "all_line_items_usd": 0.52}
    assert len(pd.read_parquet(tmp_path / "billing.parquet")) == 7  # every line item read
    assert "billed usage $9.10 (excl. tax), tax $0.00 in the run's window" in lines[0]
    assert "3 line items outside it ($0.42 of billed usage) are left out" in lines[0]
    json.dumps(info)


def test_run_window_from_params_report_or_usage(tmp_path):
    """run.start / run.end first, then the ingest's window (a time of day widens it to whole
    days), then the ingested usage's days: records 10-01 12:00 to 10-30 23:59 -> 10-01 to 10-31."""
    ts = pd.to_datetime(["2026-10-01T12:00:00Z", "2026-10-30T23:59:00Z"])
    pd.DataFrame({"timestamp": ts}).to_parquet(tmp_path / "usage.parquet")
    oct1, oct31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    assert billing_inputs.run_window(tmp_path) == (oct1, oct31)
    report = {"start": "2026-10-10T06:00:00+00:00", "end": "2026-10-17T00:00:00+00:00"}
    (tmp_path / "ingest_report.json").write_text(json.dumps(report))
    assert billing_inputs.run_window(tmp_path) == (dt.date(2026, 10, 10), dt.date(2026, 10, 17))
    (tmp_path / "ingest_report.json").write_text(json.dumps({"start": None, "end": None}))
    assert billing_inputs.run_window(tmp_path) == (oct1, oct31)
    run = {"start": dt.date(2026, 10, 3), "end": None}
    assert billing_inputs.run_window(tmp_path, run) == (dt.date(2026, 10, 3), oct31)


def test_what_an_export_leaves_out_is_in_the_runs_log_and_manifest(tmp_path):
    """A legacy CUR's report folder holds its Athena status table beside the data: the table
    is left out, said so in the run's log and listed in the manifest's files_skipped; the
    data bills as the fixture does ($9.52 of usage over 2026-03-01 and 03-02)."""
    report = tmp_path / "cur" / "myreport"
    (report / "myreport" / "year=2026" / "month=3").mkdir(parents=True)
    (report / "cost_and_usage_data_status").mkdir()
    data = report / "myreport" / "year=2026" / "month=3" / "myreport-00001.snappy.parquet"
    data.write_bytes((FIXTURES / "cur2.parquet").read_bytes())
    status = report / "cost_and_usage_data_status" / "cost_and_usage_data_status.parquet"
    pd.DataFrame({"status": ["READY"]}).to_parquet(status)
    lines: list[str] = []
    info = billing_inputs.collect({"cur": str(report), **PERIOD}, tmp_path, log=lines.append)
    assert info["billed_usd"] == 9.52
    assert [s["file"] for s in info["files_skipped"]] == [str(status)]
    assert lines[0].startswith(f"billing: left out {status}: a legacy CUR's Athena status table")
    json.dumps(info)
