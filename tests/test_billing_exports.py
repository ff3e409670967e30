"""Two billing exports of one billing period and account are refused; others are read together.

The exports are built as AWS lays them out (a Data Export's ``<export>/data/BILLING_PERIOD=``,
a legacy CUR report's ``<report>/yyyymmdd-yyyymmdd/``), each line Nova Pro input tokens:
1,000 x 1K tokens at $0.80 per 1M tokens = $0.80 unless said otherwise.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_runner_checks import GOOD, refused
from test_sources_cur import FOCUS, _cur_csv, _gzipped_cur, _json_product

from bedrock_finops import cli, runner
from bedrock_finops.billed import billed_totals
from bedrock_finops.sources.cur import BillingFormatError, read_cur, read_focus

PAYER, OTHER_PAYER = "999988887777", "555566667777"
ACCOUNT_A, ACCOUNT_B = "111122223333", "044455556666"  # B as AWS writes it: a leading zero kept
OCTOBER = {"bill_billing_period_start_date": "2026-10-01T00:00:00Z"}
HALF = {"line_item_usage_amount": "500", "line_item_unblended_cost": "0.4"}  # $0.40
SEPTEMBER = {
    "bill_billing_period_start_date": "2026-09-01T00:00:00Z",
    "line_item_usage_start_date": "2026-09-10T00:00:00Z",
}


# a member account's own spend on other services: never read, whichever export holds it
EC2 = {
    "line_item_product_code": "AmazonEC2",
    "line_item_usage_type": "APN1-BoxUsage:t3.micro",
    "line_item_usage_amount": "100",
    "line_item_unblended_cost": "5.0",
    "pricing_unit": "Hrs",
    "product": _json_product({"product_name": "Amazon Elastic Compute Cloud"}),
}
# Claude sold through Bedrock: an opaque Marketplace product code, told by its product name
CLAUDE = {
    "line_item_product_code": "8wx2pzbnq7g4l1cs0ezdhp3ky",
    "line_item_usage_type": "USW2-MP:USW2_InputTokenCount-Units",
    "line_item_usage_amount": "2",
    "line_item_unblended_cost": "6.0",
    "pricing_unit": "Units",
    "product": _json_product({"product_name": "Claude Sonnet 4.5 (Amazon Bedrock Edition)"}),
}
TAX = {
    "line_item_line_item_type": "Tax",
    "line_item_usage_amount": "0",
    "line_item_unblended_cost": "0.1",
}


def _line(account: str, payer: str = PAYER, **over: str) -> dict[str, str]:
    """One line of ``account``'s October, billed to ``payer``."""
    return {
        "line_item_usage_account_id": account,
        "bill_payer_account_id": payer,
        **OCTOBER,
        **over,
    }


def _data_export(
    root: Path, name: str, lines: list[dict], period: str = "2026-10", parquet: bool = False
) -> Path:
    """A CUR 2.0 Data Export delivering ``lines`` for one billing period; its folder."""
    folder = root / name / "data" / f"BILLING_PERIOD={period}"
    folder.mkdir(parents=True)
    path = _cur_csv(folder / f"{name}-00001.csv", lines)
    if parquet:  # account IDs read back as numbers, as a careless conversion leaves them
        pd.read_csv(path).to_parquet(path.with_suffix(".snappy.parquet"))
        path.unlink()
    return root / name


def _with_product_map(export: Path) -> Path:
    """``export``'s CSV written as CUR 2.0 parquet is, its product attributes a map column."""
    (path,) = export.rglob("*.csv")
    table = pd.read_csv(path, dtype=str)
    product = [sorted(json.loads(text).items()) for text in table.pop("product")]
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.append_column("product", pa.array(product, pa.map_(pa.string(), pa.string())))
    pq.write_table(arrow, path.with_suffix(".snappy.parquet"))
    path.unlink()
    return export


LEGACY_NAMES = {
    "line_item_usage_start_date": "lineItem/UsageStartDate",
    "line_item_product_code": "lineItem/ProductCode",
    "line_item_usage_type": "lineItem/UsageType",
    "line_item_usage_amount": "lineItem/UsageAmount",
    "line_item_unblended_cost": "lineItem/UnblendedCost",
    "line_item_line_item_type": "lineItem/LineItemType",
    "line_item_usage_account_id": "lineItem/UsageAccountId",
    "bill_payer_account_id": "bill/PayerAccountId",
    "bill_billing_period_start_date": "bill/BillingPeriodStartDate",
    "pricing_unit": "pricing/unit",
    "product_region_code": "product/regionCode",
}


def _legacy_report(root: Path, name: str, lines: list[dict]) -> Path:
    """A legacy CUR report (overwrite on) delivering ``lines`` for October 2026, with legacy
    column names (``lineItem/UsageAccountId``, ``product/ProductName``); its folder."""
    path = _gzipped_cur(root / name / "20261001-20261101" / f"{name}-1.csv.gz", lines)
    table = pd.read_csv(path, dtype=str).drop(columns=["product"]).rename(columns=LEGACY_NAMES)
    table["product/ProductName"] = "Amazon Bedrock"
    path.write_bytes(gzip.compress(table.to_csv(index=False).encode()))
    return root / name


def _refusal(paths, read=read_cur) -> str:
    with pytest.raises(BillingFormatError) as err:
        read(paths, note=None)
    assert "\n" not in str(err.value)
    return str(err.value)


def _billed(paths, read=read_cur) -> float:
    return billed_totals(read(paths, note=None)).usage_usd


# --- the same spend in two exports: refused ----------------------------------------------------


def test_two_data_exports_of_one_account_and_month_are_refused_naming_both(tmp_path):
    """finance-cur and team-cur both deliver account A's October ($0.80 each): read together they
    billed $1.60 for $0.80. Refused, naming both exports, the period, the account and the fix,
    whether their common folder or both exports are given; each alone still bills $0.80."""
    exports = tmp_path / "exports"
    finance = _data_export(exports, "finance-cur", [_line(ACCOUNT_A)])
    team = _data_export(exports, "team-cur", [_line(ACCOUNT_A)], parquet=True)
    message = _refusal(exports)
    assert message == (
        f"Data Export {finance.resolve()} and Data Export {team.resolve()} both bill account "
        f"{ACCOUNT_A} (payer {PAYER}) for billing period 2026-10: two exports of the same "
        "spend, which reading both would count twice. Point at one of them (an organization's "
        "consolidated export already holds its member accounts' lines); exports of different "
        "accounts or billing periods are read together."
    )
    assert _refusal([finance, team]) == message
    assert _billed(finance) == pytest.approx(0.80) and _billed(team) == pytest.approx(0.80)


def test_a_legacy_report_and_a_cur2_export_of_one_month_are_refused(tmp_path):
    """The legacy CUR report the Data Export replaced still delivers October in the same
    folder: its lineItem/UsageAccountId and bill/PayerAccountId are the export's columns."""
    legacy = _legacy_report(tmp_path, "legacy-report", [_line(ACCOUNT_A)])
    cur2 = _data_export(tmp_path, "bedrock-cur", [_line(ACCOUNT_A)])
    assert _billed(legacy) == pytest.approx(0.80)  # the legacy names read
    message = _refusal(tmp_path)
    assert message.startswith(
        f"Data Export {cur2.resolve()} and legacy CUR report {legacy.resolve()} both bill "
        f"account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-10"
    )


def test_two_legacy_reports_of_different_names_are_refused(tmp_path):
    _legacy_report(tmp_path, "report-a", [_line(ACCOUNT_A)])
    _legacy_report(tmp_path, "report-b", [_line(ACCOUNT_A), _line(ACCOUNT_B)])
    assert f"account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-10" in _refusal(tmp_path)


def test_a_consolidated_export_beside_a_member_accounts_own_is_refused(tmp_path):
    """The payer's export holds its own line and both members' ($0.80 each); member A's own
    export holds A's $0.80 again. They share A's lines, not B's or the payer's: A is named."""
    _data_export(
        tmp_path, "org-cur", [_line(PAYER), _line(ACCOUNT_A), _line(ACCOUNT_B)], parquet=True
    )
    _data_export(tmp_path, "member-a-cur", [_line(ACCOUNT_A)])
    message = _refusal(tmp_path)
    assert f"both bill account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-10" in message
    assert ACCOUNT_B not in message


def test_loose_files_of_two_exports_are_told_apart_by_their_names(tmp_path):
    """Downloaded into one folder: finance-cur-00001 and team-cur-00001 are two exports of A's
    October (its period read from bill_billing_period_start_date); finance-cur's two parts are
    one export, $0.80 + $0.40 = $1.20."""
    _cur_csv(tmp_path / "finance-cur-00001.csv", [_line(ACCOUNT_A)])
    _cur_csv(tmp_path / "finance-cur-00002.csv", [_line(ACCOUNT_A, **HALF)])
    assert _billed(tmp_path) == pytest.approx(1.20)
    _cur_csv(tmp_path / "team-cur-00001.csv", [_line(ACCOUNT_A)])
    message = _refusal(tmp_path)
    assert message.startswith(
        f"export files {tmp_path.resolve() / 'finance-cur-*'} and export files "
        f"{tmp_path.resolve() / 'team-cur-*'} both bill account {ACCOUNT_A}"
    )


def test_hand_split_files_of_one_export_are_refused_with_how_to_join_them(tmp_path):
    """oct-a.csv and oct-b.csv, one month split by hand, are two files as far as their names
    say: refused as two exports of A's October, and the line says how to give them as one."""
    _cur_csv(tmp_path / "oct-a.csv", [_line(ACCOUNT_A)])
    _cur_csv(tmp_path / "oct-b.csv", [_line(ACCOUNT_A, **HALF)])
    message = _refusal(tmp_path)
    assert message.startswith(
        f"file {tmp_path.resolve() / 'oct-a.csv'} and file {tmp_path.resolve() / 'oct-b.csv'} "
        f"both bill account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-10"
    )
    assert message.endswith(
        "If the files are parts of one export, split by hand, join them into one file or put "
        "them in one folder named as AWS names parts (<name>-1.csv, <name>-2.csv)."
    )
    (tmp_path / "oct-a.csv").rename(tmp_path / "oct-1.csv")
    (tmp_path / "oct-b.csv").rename(tmp_path / "oct-2.csv")
    assert _billed(tmp_path) == pytest.approx(1.20)


def test_exports_that_do_not_say_their_accounts_are_refused_for_one_period(tmp_path):
    """An export of October without line_item_usage_account_id may hold any account's spend:
    beside another of October it is refused, naming it and the column, whether the other names
    its account or not; of different months they are read together ($1.60)."""
    _data_export(tmp_path / "one", "a-cur", [_line(ACCOUNT_A)])
    silent = _data_export(tmp_path / "one", "b-cur", [OCTOBER])
    message = _refusal(tmp_path / "one")
    assert message.startswith(
        f"Data Export {(tmp_path / 'one' / 'a-cur').resolve()} and Data Export "
        f"{silent.resolve()} both bill billing period 2026-10, and the lines of Data Export "
        f"{silent.resolve()} do not say which account they are of (no "
        "line_item_usage_account_id or SubAccountId column), so they may be two exports of the "
        "same spend"
    )
    assert "Point at one of them, or export them with that column" in message
    _data_export(tmp_path / "both", "a-cur", [OCTOBER])
    _data_export(tmp_path / "both", "b-cur", [OCTOBER])
    assert "and the lines of both do not say which account" in _refusal(tmp_path / "both")
    _data_export(tmp_path / "months", "a-cur", [OCTOBER])
    _data_export(tmp_path / "months", "b-cur", [SEPTEMBER], period="2026-09")
    assert _billed(tmp_path / "months") == pytest.approx(1.60)


def test_two_focus_exports_of_one_account_and_month_are_refused(tmp_path):
    """FOCUS Data Exports are laid out as CUR 2.0's: BillingAccountId is the payer, SubAccountId
    the usage account. The fixture bills $0.80 + $1.00 = $1.80 of Bedrock usage (and a -$0.50
    credit apart)."""
    focus = pd.read_csv(FOCUS).assign(
        BillingPeriodStart="2026-03-01T00:00:00Z", BillingAccountId=PAYER, SubAccountId=ACCOUNT_A
    )
    for name in ("focus-a", "focus-b"):
        folder = tmp_path / name / "data" / "BILLING_PERIOD=2026-03"
        folder.mkdir(parents=True)
        focus.to_csv(folder / f"{name}-00001.csv", index=False)
    assert f"account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-03" in _refusal(
        tmp_path, read_focus
    )
    assert _billed(tmp_path / "focus-a", read_focus) == pytest.approx(1.80)


def test_a_member_export_and_the_consolidated_one_holding_its_bedrock_lines_are_refused(
    tmp_path,
):
    """Member A's own export holds its EC2 line and a Claude (Marketplace) line, the payer's
    holds A's same Claude line ($6.00, product code opaque, told by its product name) and a
    Bedrock tax line of B's: A's Claude line is in both, refused, naming A; B's only in one.
    The same with a Bedrock tax line of A's in both (tax is summed in every line item's total)."""
    _with_product_map(
        _data_export(
            tmp_path / "mp", "org-cur", [_line(ACCOUNT_A, **CLAUDE), _line(ACCOUNT_B, **TAX)]
        )
    )
    _data_export(
        tmp_path / "mp", "member-a-cur", [_line(ACCOUNT_A, **EC2), _line(ACCOUNT_A, **CLAUDE)]
    )
    message = _refusal(tmp_path / "mp")
    assert f"both bill account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-10" in message
    assert ACCOUNT_B not in message
    _data_export(tmp_path / "tax", "org-cur", [_line(ACCOUNT_A), _line(ACCOUNT_A, **TAX)])
    _data_export(
        tmp_path / "tax", "member-a-cur", [_line(ACCOUNT_A, **EC2), _line(ACCOUNT_A, **TAX)]
    )
    assert f"both bill account {ACCOUNT_A} (payer {PAYER})" in _refusal(tmp_path / "tax")


# --- one export holding an account's Bedrock lines, another its other lines: read together ------


def test_a_member_export_of_other_services_beside_the_consolidated_one_is_read(tmp_path):
    """Member A's own export holds only its EC2 line ($5.00); the payer's consolidated export
    holds A's EC2 line again, A's Nova Pro line ($0.80), B's ($0.40) and the payer's own
    Claude line ($6.00, a Marketplace product). Only Bedrock lines are read, and A's are in
    the payer's export alone: read together, billed usage is the consolidated export's Bedrock
    lines, $7.20, each once, and a note says the member's export holds no Bedrock lines of A."""
    org = _data_export(
        tmp_path,
        "org-cur",
        [
            _line(ACCOUNT_A, **EC2),
            _line(ACCOUNT_A),
            _line(ACCOUNT_B, **HALF),
            _line(PAYER, **CLAUDE),
        ],
    )
    member = _data_export(tmp_path, "member-a-cur", [_line(ACCOUNT_A, **EC2)])
    notes: list[str] = []
    both = read_cur(tmp_path, note=notes.append)
    assert billed_totals(both).usage_usd == pytest.approx(7.20) == _billed(org)
    assert len(both) == 3 and both.attrs["rows_other_services"] == 2
    assert notes == [
        f"Data Export {member.resolve()} and Data Export {org.resolve()} both hold lines of "
        f"account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-10, but Data Export "
        f"{member.resolve()} holds no Bedrock lines of it: no Bedrock line is in both, so both "
        "are read (other services' lines are not)."
    ]


def test_a_member_with_no_bedrock_usage_in_the_month_is_read_from_both_exports(tmp_path):
    """A used no Bedrock in October: its EC2 line is in its own export and the payer's, which
    also holds B's Nova Pro line ($0.80). Nothing of A's is summed: $0.80. Both exports are
    CUR 2.0 parquet, product map and all (the map is what tells a Marketplace line there): the
    smaller, A's, has its map read and holds no Bedrock line of A, which settles it; the
    payer's map is not read for this, so the note speaks of A's export alone."""
    org = _with_product_map(
        _data_export(tmp_path, "org-cur", [_line(ACCOUNT_A, **EC2), _line(ACCOUNT_B)])
    )
    member = _with_product_map(_data_export(tmp_path, "member-a-cur", [_line(ACCOUNT_A, **EC2)]))
    notes: list[str] = []
    assert billed_totals(read_cur(tmp_path, note=notes.append)).usage_usd == pytest.approx(0.80)
    assert notes == [
        f"Data Export {member.resolve()} and Data Export {org.resolve()} both hold lines of "
        f"account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-10, but Data Export "
        f"{member.resolve()} holds no Bedrock lines of it: no Bedrock line is in both, so both "
        "are read (other services' lines are not)."
    ]


def test_a_member_focus_export_of_other_services_beside_the_consolidated_one_is_read(tmp_path):
    """FOCUS alike: A's own export holds its S3 line, the payer's A's Bedrock lines ($0.80 +
    $1.00 of usage, a -$0.50 credit) and the same S3 line: $1.80 of usage, $1.30 in all."""
    focus = pd.read_csv(FOCUS).assign(
        BillingPeriodStart="2026-03-01T00:00:00Z", BillingAccountId=PAYER, SubAccountId=ACCOUNT_A
    )
    s3 = focus[focus["ServiceName"] == "Amazon Simple Storage Service"]
    for name, lines in (("org-focus", focus), ("member-a-focus", s3)):
        folder = tmp_path / name / "data" / "BILLING_PERIOD=2026-03"
        folder.mkdir(parents=True)
        lines.to_csv(folder / f"{name}-00001.csv", index=False)
    notes: list[str] = []
    totals = billed_totals(read_focus(tmp_path, note=notes.append))
    assert totals.usage_usd == pytest.approx(1.80) and totals.total_usd == pytest.approx(1.30)
    assert len(notes) == 1 and "member-a-focus holds no Bedrock lines of it" in notes[0]
    # a month A used no Bedrock: the payer's export holds its S3 line alone too
    s3.to_csv(next((tmp_path / "org-focus").rglob("*.csv")), index=False)
    notes.clear()
    assert read_focus(tmp_path, note=notes.append).empty
    assert notes == [
        f"Data Export {(tmp_path / 'member-a-focus').resolve()} and Data Export "
        f"{(tmp_path / 'org-focus').resolve()} both hold lines of account {ACCOUNT_A} (payer "
        f"{PAYER}) for billing period 2026-03, but neither holds Bedrock lines of it: no "
        "Bedrock line is in both, so both are read (other services' lines are not)."
    ]


# --- different accounts or periods: read together, as before ------------------------------------


def test_two_member_accounts_own_exports_are_read_together(tmp_path):
    """A's export ($0.80) and B's ($0.40) share their payer and no account: $1.20, each line
    once, as when each is read alone."""
    a = _data_export(tmp_path, "member-a-cur", [_line(ACCOUNT_A)])
    b = _data_export(
        tmp_path,
        "member-b-cur",
        [_line(ACCOUNT_B, **HALF)],
        parquet=True,
    )
    assert _billed(a) == pytest.approx(0.80) and _billed(b) == pytest.approx(0.40)
    both = read_cur(tmp_path, note=None)
    assert len(both) == 2 and billed_totals(both).usage_usd == pytest.approx(1.20)


def test_an_account_that_moved_organizations_is_read_from_both_payers_exports(tmp_path):
    """A left one organization for another in October: each payer's export bills A's days with
    it ($0.80 and $0.40), so they share no line: $1.20."""
    _data_export(tmp_path, "old-org-cur", [_line(ACCOUNT_A)])
    moved = _line(ACCOUNT_A, OTHER_PAYER, **HALF, line_item_usage_start_date="2026-10-20")
    _data_export(tmp_path, "new-org-cur", [moved])
    assert _billed(tmp_path) == pytest.approx(1.20)


def test_exports_of_one_account_in_different_months_are_read_together(tmp_path):
    """September from the legacy report, October from the Data Export that replaced it: $1.60."""
    _legacy_report(tmp_path, "legacy-report", [_line(ACCOUNT_A, **SEPTEMBER)])
    (tmp_path / "legacy-report" / "20261001-20261101").rename(
        tmp_path / "legacy-report" / "20260901-20261001"
    )
    _data_export(tmp_path, "bedrock-cur", [_line(ACCOUNT_A)])
    billing = read_cur(tmp_path, note=None)
    assert sorted(billing["date"].astype(str)) == ["2026-09-10", "2026-10-01"]
    assert billed_totals(billing).usage_usd == pytest.approx(1.60)


# --- the billing command and the run refuse it alike --------------------------------------------


def test_the_billing_command_refuses_two_exports_of_one_spend_in_one_line(tmp_path, capsys):
    _data_export(tmp_path, "finance-cur", [_line(ACCOUNT_A)])
    _data_export(tmp_path, "team-cur", [_line(ACCOUNT_A)])
    assert cli.main(["billing", "--cur", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Data Export ")
    assert "both bill account 111122223333 (payer 999988887777)" in lines[0]
    assert "Point at one of them" in lines[0] and captured.out == ""


def test_a_run_reading_two_exports_of_one_spend_is_refused_before_any_work(tmp_path, capsys):
    exports = tmp_path / "exports"
    finance = _data_export(exports, "finance-cur", [_line(ACCOUNT_A)])
    team = _data_export(exports, "team-cur", [_line(ACCOUNT_A)])
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n  cur: {exports}\n")
    error = refused(tmp_path, params, capsys)
    assert error.startswith(
        f"{params}: run.cur: Data Export {finance.resolve()} and Data Export {team.resolve()} "
        f"both bill account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-10"
    )


# --- the run's manifest keeps the notes it logs --------------------------------------------------


def test_a_runs_manifest_keeps_the_note_on_exports_read_together(tmp_path):
    """The member's own export of EC2 lines read beside the payer's, which holds A's Nova Pro
    line ($0.80): the run logs the note saying so and keeps it, as told, in its manifest's
    billing record, where an analyst reading the run later finds it; a run of the payer's export
    alone has no note to keep (an empty list)."""
    exports = tmp_path / "exports"
    org = _data_export(exports, "org-cur", [_line(ACCOUNT_A, **EC2), _line(ACCOUNT_A)])
    member = _data_export(exports, "member-a-cur", [_line(ACCOUNT_A, **EC2)])
    run = {"cur": str(exports), "start": "2026-10-01", "end": "2026-11-01"}
    logged: list[str] = []
    billing = runner._billing_for_run(run, tmp_path, logged.append)
    note = (
        f"Data Export {member.resolve()} and Data Export {org.resolve()} both hold lines of "
        f"account {ACCOUNT_A} (payer {PAYER}) for billing period 2026-10, but Data Export "
        f"{member.resolve()} holds no Bedrock lines of it: no Bedrock line is in both, so both "
        "are read (other services' lines are not)."
    )
    assert json.loads(json.dumps(billing))["notes"] == [note]  # as the manifest writes it
    assert logged[0] == f"billing: {note}" and billing["billed_usd"] == 0.80
    alone = runner._billing_for_run({**run, "cur": str(org)}, tmp_path, logged.append)
    assert alone["notes"] == [] and alone["billed_usd"] == 0.80
