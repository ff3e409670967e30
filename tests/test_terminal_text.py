"""Values from the logs on the terminal: a model ID, an error code, an app or a folder name
holding terminal control (ESC sequences, CR, LF, bidi overrides) is printed escaped by every
command, while the files written keep it as logged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from notebook_builders import make_notebook
from test_sources_cur import _cur_csv

from bedrock_finops import billing_inputs, cli, ingest, runner
from bedrock_finops.notebook import default_sample_run
from bedrock_finops.terminal_text import for_terminal, lines_for_terminal

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"

# a model ID that saves the cursor, moves it 13 lines up to the summary's "quarantined" line,
# rewrites it and moves back; an error code that sets the window title; a folder name in red
REWRITE = "x\x1b[s\x1b[13A\r\x1b[2K  quarantined     0\x1b[u"
TITLE = "Throttling\x1b]0;window title set by a log\x07"
RED_FOLDER = "run\x1b[31mRED"
FAKE_LINE = "y\n  rows            999"  # a model ID that prints a summary line of its own
FORGED = "\nok: all notebooks ok\x1b[2K"  # a name that prints a line of its own and erases one


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\rb\nc\td", "a\\rb\\nc\\td"),
        ("\x00\x07\x08\x0b\x0c\x1f\x7f", "\\x00\\x07\\x08\\x0b\\x0c\\x1f\\x7f"),
        ("\x85\x9b31m\x9d0;t\x9c", "\\x85\\x9b31m\\x9d0;t\\x9c"),  # C1: NEL, CSI, OSC, ST
        ("abc\u202edef", "abc\\u202edef"),  # right-to-left override
        ("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),  # isolates
    ],
)
def test_control_characters_and_bidi_overrides_are_shown_as_escapes(value, shown):
    assert for_terminal(value) == shown


def test_other_text_is_shown_as_it_is():
    """Accents, other scripts, a backslash, a bidi mark that overrides nothing, a lone
    surrogate (a file name that is not UTF-8, which the console writes as an escape)."""
    texts = ["anthropic.claude-nouveau-modèle-v1:0", "支援", "دعم", "a\\x1b", "\u200f", "\udce9"]
    assert [for_terminal(text) for text in texts] == texts


def test_text_of_several_lines_keeps_its_lines():
    assert lines_for_terminal("FAILED a: \x1b[31mred\n  error notebook: b") == (
        "FAILED a: \\x1b[31mred\n  error notebook: b"
    )


# --- ingest --------------------------------------------------------------------------------------


def _record(request_id: str, **fields: object) -> dict:
    rec = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])
    rec.update(requestId=request_id, **fields)
    return rec


def _tampered_logs(folder: Path) -> Path:
    """50 records of an unknown operation, two of unknown model IDs carrying terminal control,
    a failed invocation whose error code sets the window title, and a run's folder in red."""
    lines = [_record(f"q{i}", operation="Bogus") for i in range(50)]
    lines += [_record("m1", modelId=REWRITE), _record("m2", modelId=FAKE_LINE)]
    failed = _record("e1", errorCode=TITLE)
    del failed["input"]["inputTokenCount"], failed["output"]["outputTokenCount"]
    lines.append(failed)
    folder.mkdir()
    (folder / "a.json").write_text("".join(json.dumps(r) + "\n" for r in lines))
    marked = folder / RED_FOLDER
    marked.mkdir()
    (marked / "manifest.json").write_text('{"tool": "bedrock-finops"}\n')
    return folder


def test_the_ingest_summary_shows_logged_values_escaped(tmp_path, capsys):
    """The summary printed the model ID raw, which moved the cursor up and rewrote
    'quarantined 50' as 'quarantined 0'; the error code set the window title; the folder name
    turned the terminal red; a line break in a model ID printed a line of its own."""
    logs = _tampered_logs(tmp_path / "logs")
    out = tmp_path / "run" / "usage.parquet"
    argv = ["ingest", "--workers", "1", "--source", str(logs), "--out", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert "  quarantined     51" in lines
    assert [line for line in lines if "skipped: an earlier" in line or "RED" in line] == [
        "  skipped: an earlier run's output (bedrock-finops run): 1 in run\\x1b[31mRED "
        "(listed in ingest_report.json)"
    ]
    assert (
        "  quarantine: failed invocation (Throttling\\x1b]0;window title set by a log\\x07): "
        "no token counts, not billed: 1"
    ) in lines
    assert [line for line in lines if line.startswith("  unknown model")] == [
        "  unknown model (unpriced): x\\x1b[s\\x1b[13A\\r\\x1b[2K  quarantined     0\\x1b[u: "
        "1 rows",
        "  unknown model (unpriced): y\\n  rows            999: 1 rows",
    ]
    assert not any(c in printed for c in "\x1b\x07\r")
    # the files keep the values as logged
    report = json.loads((out.parent / "ingest_report.json").read_text())
    assert report["unknown_models"] == {REWRITE: 1, FAKE_LINE: 1}
    reason = f"failed invocation ({TITLE}): no token counts, not billed"
    assert report["quarantine_by_reason"][reason] == 1
    assert [s["file"] for s in report["files_skipped"]] == [f"{RED_FOLDER}/manifest.json"]
    reasons = pq.read_table(out.parent / "quarantine.parquet").column("reason").to_pylist()
    assert reason in reasons
    assert set(pq.read_table(out).column("model_id_raw").to_pylist()) >= {REWRITE, FAKE_LINE}


def test_an_unknown_operation_is_kept_as_logged_and_shown_escaped(tmp_path, capsys):
    """The reason naming an unknown operation was stored escaped (its repr: backslashes doubled,
    a quote changing the quotes), while a failed invocation's kept its error code as logged;
    both keep the logged value now, and the summary escapes it."""
    logs = tmp_path / "logs"
    logs.mkdir()
    records = [_record("o1", operation=TITLE), _record("o2", operation="it's\\here")]
    (logs / "a.json").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "run" / "usage.parquet"
    argv = ["ingest", "--workers", "1", "--source", str(logs), "--out", str(out)]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("  quarantine: unknown")] == [
        "  quarantine: unknown operation 'Throttling\\x1b]0;window title set by a log\\x07': 1",
        "  quarantine: unknown operation 'it's\\here': 1",
    ]
    reasons = [f"unknown operation '{TITLE}'", "unknown operation 'it's\\here'"]
    report = json.loads((out.parent / "ingest_report.json").read_text())
    assert report["quarantine_by_reason"] == dict.fromkeys(reasons, 1)
    stored = pq.read_table(out.parent / "quarantine.parquet").column("reason").to_pylist()
    assert stored == reasons


def test_the_ingests_replacing_line_shows_its_folder_on_one_line(tmp_path, capsys):
    """An ingest over an earlier one says so, naming the table: an --out folder named with a
    line break printed a line of its own."""
    out = tmp_path / f"run{FORGED}" / "usage.parquet"
    argv = ["ingest", "--workers", "1", "--source", str(GOOD), "--out", str(out)]
    assert cli.main(argv) == 0
    capsys.readouterr()
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == (
        rf"{tmp_path}/run\nok: all notebooks ok\x1b[2K/usage.parquet replaces the table an "
        "earlier ingest wrote there"
    )
    assert not [line for line in lines if "\x1b" in line or line.startswith("ok:")]


def test_a_watched_ingests_note_shows_a_file_name_escaped(capsys):
    ingest._note_on_stderr("decompressing a\x1b[2Jb.json.gz (3 MB gzipped) ...")
    assert capsys.readouterr().err == "decompressing a\\x1b[2Jb.json.gz (3 MB gzipped) ...\n"


def test_an_error_line_shows_a_folder_name_escaped(tmp_path, capsys):
    """A source holding only this tool's output is an error naming its folders."""
    marked = tmp_path / "logs" / RED_FOLDER
    marked.mkdir(parents=True)
    (marked / "manifest.json").write_text('{"tool": "bedrock-finops"}\n')
    out = tmp_path / "run" / "usage.parquet"
    argv = ["ingest", "--source", str(tmp_path / "logs"), "--out", str(out)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "only the output of earlier bedrock-finops runs or ingests (run\\x1b[31mRED)" in err
    assert "\x1b" not in err


# --- run -----------------------------------------------------------------------------------------


def test_the_runs_error_line_shows_a_quarantine_reason_escaped(tmp_path):
    """A window holding one failed invocation: the run stops, and its error line quoted the
    error code raw (a line break in it split the line); the sentence is one line, in the log
    and in the manifest, with the code escaped."""
    logs = tmp_path / "logs"
    logs.mkdir()
    failed = _record("e1", errorCode="Throttling\x1b]0;title\x07\r\x1b[2Kfake\nFAKE")
    del failed["input"]["inputTokenCount"], failed["output"]["outputTokenCount"]
    (logs / "a.json").write_text(json.dumps(failed) + "\n")
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {logs}\n")
    errors: list[str] = []
    code, run_dir = runner.run(
        params, out_root=tmp_path / "out", log=lambda msg: None, log_error=errors.append
    )
    assert code == 2
    assert errors == [
        "error: the ingest found no invocations to analyse: 1 lines read, 1 quarantined (1 "
        "failed invocation (Throttling\\x1b]0;title\\x07\\r\\x1b[2Kfake\\nFAKE): no token counts, "
        "not billed). Check that run.source holds Bedrock invocation logs: quarantine.parquet "
        "in the run folder shows each quarantined line and why"
    ]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (
        "(1 failed invocation (Throttling\\x1b]0;title\\x07\\r\\x1b[2Kfake\\nFAKE): "
        in (manifest["error"])
    )


def test_the_runs_lines_show_the_names_they_quote_on_one_line(tmp_path):
    """A source folder, an output folder and a notebook named with a line break and ESC: each
    printed a line of its own (a forged 'ok' line in a scheduled run's log) and erased one. The
    names are escaped whole; a failed notebook's two lines are the run's own."""
    logs = tmp_path / f"logs{FORGED}"
    shutil.copytree(GOOD, logs)
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {json.dumps(str(logs))}\n")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    name = f"00_broken{FORGED}"
    make_notebook(nbs / f"{name}.ipynb", 'run_dir: str = ""', "raise RuntimeError('planted')")
    lines: list[str] = []
    code, run_dir = runner.run(
        params, out_root=tmp_path / f"out{FORGED}", notebooks_dir=nbs, jobs=1, html=False,
        log=lines.append, log_error=lines.append,
    )  # fmt: skip
    assert code == 1
    shown = r"\nok: all notebooks ok\x1b[2K"
    out = f"{tmp_path}/out{shown}"
    assert lines[:2] == [
        f"run folder: {out}/{run_dir.name}",
        f"ingesting {tmp_path}/logs{shown} ...",
    ]
    assert f"[1/1] 00_broken{shown} started" in lines
    assert lines[-2:][0] == (
        f"FAILED 00_broken{shown}: RuntimeError: planted\n"
        f"  error notebook: {out}/{run_dir.name}/00_broken{shown}.ipynb"
    )
    assert lines[-1].endswith(f" s; manifest: {out}/{run_dir.name}/manifest.json")
    assert not [line for line in lines[:-2] if "\n" in line]
    assert not [line for line in lines if "\x1b" in line]


def test_a_failed_runs_line_shows_its_folder_on_one_line(tmp_path):
    """'run failed during ingest; recorded in ...' split where the output folder's name held a
    line break."""
    (tmp_path / "empty").mkdir()
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {tmp_path / 'empty'}\n")
    errors: list[str] = []
    with pytest.raises(ingest.IngestError):
        runner.run(
            params, out_root=tmp_path / f"out{FORGED}", log=lambda _: None,
            log_error=errors.append,
        )  # fmt: skip
    (run_dir,) = (tmp_path / f"out{FORGED}").iterdir()
    assert errors == [
        rf"run failed during ingest; recorded in {tmp_path}/out\nok: all notebooks ok\x1b[2K/"
        f"{run_dir.name}/manifest.json"
    ]


def test_the_runs_error_line_shows_a_folder_name_on_one_line(tmp_path, capsys):
    """The error a run stops with before it starts (a notebook folder that does not exist)
    printed the name raw."""
    assert cli.main(["run", "--notebooks", str(tmp_path / f"nbs{FORGED}")]) == 2
    assert capsys.readouterr().err == (
        rf"error: notebook folder {tmp_path}/nbs\nok: all notebooks ok\x1b[2K does not exist; "
        "pass --notebooks DIR\n"
    )


# --- batch-export and eval-sample, on the sample with tampered app names ------------------------

TAMPERED_APPS = {
    "doc-summarizer": "doc\x1b]0;pwned\x07-summarizer",
    "faq-helper": "faq\u202e-helper",
    "support-chat": "support\x1b[2K\rchat",
    "ticket-router": "ticket\nrouter",
}


@pytest.fixture(scope="module")
def tampered_run(tmp_path_factory) -> Path:
    """The embedded sample's run, its apps renamed as in TAMPERED_APPS (no manifest: the
    commands take their defaults)."""
    run = tmp_path_factory.mktemp("tampered") / "run"
    shutil.copytree(default_sample_run(), run)
    (run / "manifest.json").unlink(missing_ok=True)
    table = pq.read_table(run / "usage.parquet")
    i = table.schema.get_field_index("app")
    field = table.schema.field(i)
    apps = [TAMPERED_APPS.get(a, a) for a in table.column("app").to_pylist()]
    pq.write_table(table.set_column(i, field, pa.array(apps, field.type)), run / "usage.parquet")
    return run


def test_batch_export_shows_app_and_segment_names_escaped(tampered_run, tmp_path, capsys):
    """The cadence lines (app and segment) and the force_in lines (segment) printed the app
    names raw: the title set, the text after U+202E shown right to left."""
    argv = ["batch-export", "--run-dir", str(tampered_run), "--out", str(tmp_path / "jobs")]
    argv += ["--role-arn", "arn:aws:iam::123456789012:role/bedrock-batch"]
    argv += ["--s3-prefix", "s3://bucket/batch", "--force-in", TAMPERED_APPS["faq-helper"]]
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    faq = "faq\\u202e-helper:titan-text-express:092b44a5"
    lines = captured.out.splitlines()
    assert (
        f"  {faq} (score 0.44), named by --force-in, cannot go in a batch job: model has no "
        "batch price in the sheet"
    ) in lines
    assert (
        "  doc\\x1b]0;pwned\\x07-summarizer (doc\\x1b]0;pwned\\x07-summarizer:claude-sonnet-4:"
        "5aa35d53): every 2 days"
    ) in lines
    assert captured.err == (
        f"1 segment named by --force-in cannot go in a batch job ({faq}): see above for why\n"
    )
    assert not any(c in captured.out + captured.err for c in "\x1b\x07\u202e")


def test_eval_sample_shows_segment_names_escaped(tampered_run, tmp_path, capsys):
    """The segment lines and the live replay's dry run printed the app names raw: a CR and an
    erase-line rewrote the line, a line break split it."""
    argv = ["eval-sample", "--run", str(tampered_run), "--out", str(tmp_path / "eval"), "--live"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    router = "ticket\\nrouter:claude-opus-4:ba337283"
    assert (
        f"{router}: 50 of 7,823 requests -> ticket_router_claude-opus-4_ba337283.jsonl "
        "(anthropic.claude-opus-4 vs anthropic.claude-3-5-haiku)"
    ) in lines
    assert (
        "support\\x1b[2K\\rchat:claude-sonnet-4:8affe261: 50 of 14,363 requests -> "
        "support_2K_chat_claude-sonnet-4_8affe261.jsonl (anthropic.claude-sonnet-4 vs "
        "anthropic.claude-3-5-haiku)"
    ) in lines
    assert (
        f"  {router} [us-east-1]: 38 x converse(us.anthropic.claude-opus-4-20250514-v1:0) and "
        "converse(us.anthropic.claude-3-5-haiku-20241022-v1:0)"
    ) in lines
    assert not any(c in printed for c in "\x1b\r")
    assert not [line for line in lines if line.startswith("router:")]


# --- billing: values read from a CUR export ------------------------------------------------------

CREDIT = "Credit\x1b]0;pwned\x07"  # a line type that sets the window title
# a line type that prints a total of its own under the real one
FAKE_TOTAL = "Fee\n  all Bedrock line items (usage + tax + credits/fees)  $0.00"
RED_REPORT = "my\x1b[31mreport"


def _tampered_cur(root: Path) -> Path:
    """A legacy CUR report folder named in red: $0.80 of Nova Pro usage, a -$0.50 credit and a
    $0.10 fee whose line types carry terminal control, and the Athena status table (left out,
    with a note naming its path)."""
    report = root / RED_REPORT
    (report / "data").mkdir(parents=True)
    credit = {"line_item_unblended_cost": "-0.5", "line_item_line_item_type": CREDIT}
    fee = {"line_item_unblended_cost": "0.1", "line_item_line_item_type": FAKE_TOTAL}
    _cur_csv(report / "data" / "part-1.csv", [{}, credit, fee])  # the first: $0.80 of usage
    (report / "cost_and_usage_data_status").mkdir()
    status = pa.table({"status": ["READY"]})
    pq.write_table(
        status, report / "cost_and_usage_data_status" / "cost_and_usage_data_status.parquet"
    )
    return report


def test_billing_shows_an_exports_line_types_and_folder_names_escaped(tmp_path, capsys):
    """The credit's line type set the window title, the fee's printed a total line of its own,
    and the note on the status table turned the terminal red; the --out file keeps them."""
    report = _tampered_cur(tmp_path)
    out = tmp_path / "lines.csv"
    assert cli.main(["billing", "--cur", str(report), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line for line in lines if "of which" in line] == [
        "  of which Credit\\x1b]0;pwned\\x07" + " " * 55 + "-$0.50",
        "  of which Fee\\n  all Bedrock line items (usage + tax + credits/fees)  $0.00"
        + " " * 13
        + "$0.10",
    ]
    assert [line for line in lines if line.startswith("all Bedrock")] == [
        "all Bedrock line items (usage + tax + credits/fees)" + " " * 38 + "$0.40"
    ]
    status = "cost_and_usage_data_status/cost_and_usage_data_status.parquet"
    assert captured.err == (
        f"billing: left out {tmp_path}/my\\x1b[31mreport/{status}: a legacy CUR's Athena status "
        "table (one status column: whether a refresh is under way), not billing lines\n"
    )
    assert not any(c in captured.out + captured.err for c in "\x1b\x07")
    assert sorted(pd.read_csv(out)["line_type"]) == sorted(["Usage", CREDIT, FAKE_TOTAL])


def test_the_runs_billing_note_is_one_line_whatever_the_folder_name(tmp_path):
    """The run's log escapes each line, but kept a line break in a folder name: the note on
    the status table split in two, its second half a line of its own."""
    report = _tampered_cur(tmp_path / "cur\nbilling: forged")
    lines: list[str] = []
    run = {"cur": str(report), "start": "2026-10-01", "end": "2026-10-02"}
    billing_inputs.collect(run, tmp_path, log=lines.append)
    assert lines[0].startswith(
        f"billing: left out {tmp_path}/cur\\nbilling: forged/my\\x1b[31mreport/"
        "cost_and_usage_data_status/"
    )
    assert "\n" not in lines[0] and "\x1b" not in lines[0]


# --- prices: values read from a price sheet ------------------------------------------------------


def _tampered_sheet(path: Path) -> Path:
    """A price sheet whose model cell moves the cursor up, whose Region reverses what follows
    it (U+202E), and whose sources set the window title or print a source line of their own."""
    path.write_text(
        "model,region,geo,service_tier,input_per_1k,output_per_1k,source,as_of\n"
        'acme.model\x1b[1A,us-east-1,none,default,0.001,0.002,"quote\x1b]0;pwned\x07",2026-10-01\n'
        'acme.other,eu-west-1\u202e,none,default,0.001,0.002,"a\nsource: forged",2026-10-01\n'
    )
    return path


def test_prices_show_shows_a_sheets_cells_escaped(tmp_path, capsys):
    sheet = _tampered_sheet(tmp_path / "sheet.csv")
    assert cli.main(["prices", "show", "--sheet", str(sheet)]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    # escaped before the columns are laid out: the model column is as wide as the escape
    assert lines[0].startswith("            model          region  geo service_tier input_usd")
    assert lines[1].startswith("acme.model\\x1b[1A       us-east-1 none      default       ")
    assert lines[2].startswith("       acme.other eu-west-1\\u202e none      default       ")
    assert [line for line in lines if line.startswith("source")] == [
        "source: quote\\x1b]0;pwned\\x07",
        "source: a\\nsource: forged",
    ]
    assert not any(c in printed for c in "\x1b\x07\u202e")


def test_prices_show_errors_list_a_sheets_models_and_regions_escaped(tmp_path, capsys):
    sheet = _tampered_sheet(tmp_path / "sheet.csv")
    assert cli.main(["prices", "show", "--sheet", str(sheet), "--model", "zzz"]) == 2
    assert capsys.readouterr().err == (
        "error: --model 'zzz': sheet 'sheet.csv' has no such model (a catalog key, a logged "
        "model ID or part of a key); its models: acme.model\\x1b[1A, acme.other\n"
    )
    argv = ["prices", "show", "--sheet", str(sheet), "--model", "acme", "--region", "x"]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == (
        "error: --region 'x': sheet 'sheet.csv' has no prices for --model 'acme' there; its "
        "regions: eu-west-1\\u202e, us-east-1\n"
    )


def test_prices_update_lists_the_products_it_left_out_escaped(tmp_path, capsys, monkeypatch):
    """The Price List API's product names and usage types, in the table of products left out."""
    from bedrock_finops import price_list

    unmapped = pd.DataFrame(
        {
            "service_code": ["AmazonBedrock"],
            "name": ["Nova\x1b[2J Pro"],
            "usagetype": ["USE1-NovaPro\r-input-tokens"],
            "reason": ["no model in the catalog"],
        }
    )
    result = price_list.UpdateResult(pd.DataFrame({"model": ["amazon.nova-pro"]}), unmapped)
    monkeypatch.setattr(price_list, "update_sheet", lambda **_: result)
    out = tmp_path / "p\x1b[31m.csv"
    assert cli.main(["prices", "update", "--region", "us-east-1", "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote 1 rows to {tmp_path}/p\\x1b[31m.csv",
        "1 products not in the sheet (each with why):",
        " service_code            name                   usagetype                  reason",
        "AmazonBedrock Nova\\x1b[2J Pro USE1-NovaPro\\r-input-tokens no model in the catalog",
    ]
