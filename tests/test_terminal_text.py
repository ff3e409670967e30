"""Values from the logs on the terminal: a model ID, an error code, an app or a folder name
holding terminal control (ESC sequences, CR, LF, bidi overrides) is printed escaped by every
command, while the files written keep it as logged."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bedrock_finops import cli, ingest, runner
from bedrock_finops.terminal_text import for_terminal, lines_for_terminal

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"

# a model ID that saves the cursor, moves it 13 lines up to the summary's "quarantined" line,
# rewrites it and moves back; an error code that sets the window title; a folder name in red
REWRITE = "x\x1b[s\x1b[13A\r\x1b[2K  quarantined     0\x1b[u"
TITLE = "Throttling\x1b]0;window title set by a log\x07"
RED_FOLDER = "run\x1b[31mRED"
FAKE_LINE = "y\n  rows            999"  # a model ID that prints a summary line of its own


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
    error code raw; the manifest keeps the reason as logged."""
    logs = tmp_path / "logs"
    logs.mkdir()
    failed = _record("e1", errorCode="Throttling\x1b]0;title\x07\r\x1b[2Kfake")
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
        "failed invocation (Throttling\\x1b]0;title\\x07\\r\\x1b[2Kfake): no token counts, not "
        "billed), 0 outside the window [-, -). Check run.source, run.start and run.end; "
        "quarantine.parquet in the run folder shows each bad line"
    ]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "(1 failed invocation (Throttling\x1b]0;title\x07\r\x1b[2Kfake): " in manifest["error"]
