"""Every file the toolkit reads or writes as text names its encoding (UTF-8).

Without one, Python uses the locale's: on a C or Latin-1 locale an HTML copy, an eval
dataset or a report holding a '·', an em dash or an accented model ID failed part way,
leaving an empty file. The behaviour is tested where it showed (test_html_export,
test_quality_gate, test_ingest_cli); this keeps a new text read or write from leaving the
encoding out.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bedrock_finops"
TEXT_METHODS = {"read_text", "write_text"}
# callables whose text mode reads a mode argument at this position (0: Path.open)
OPENERS = {"open": 1, "NamedTemporaryFile": 0, "TemporaryFile": 0, "TextIOWrapper": None}
NOT_FILES = {"os", "Image"}  # os.open (a descriptor), PIL's Image.open (bytes)


def _name(func: ast.expr) -> tuple[str | None, str | None]:
    """(what the call is made on, the name called): ``path.open`` -> ("path", "open")."""
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        return owner, func.attr
    if isinstance(func, ast.Name):
        return None, func.id
    return None, None


def _mode(call: ast.Call, position: int | None) -> str | None:
    for kw in call.keywords:
        if kw.arg == "mode" and isinstance(kw.value, ast.Constant):
            return str(kw.value.value)
    if position is not None and len(call.args) > position:
        arg = call.args[position]
        return str(arg.value) if isinstance(arg, ast.Constant) else "?"
    return None


def _text_calls_without_encoding(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or any(k.arg == "encoding" for k in node.keywords):
            continue
        owner, name = _name(node.func)
        if name in TEXT_METHODS:
            lines.append(node.lineno)
        elif name in OPENERS and owner not in NOT_FILES:
            # a method open (Path's) takes the mode first; open() and the others their own
            method = isinstance(node.func, ast.Attribute) and name == "open"
            position = 0 if method else OPENERS[name]
            mode = _mode(node, position)
            default = "w+b" if "Temporary" in name else "r"
            if "b" not in (mode or default):
                lines.append(node.lineno)
    return lines


def test_every_text_read_and_write_names_its_encoding() -> None:
    missing = {
        str(path.relative_to(PACKAGE)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if (found := _text_calls_without_encoding(path.read_text(encoding="utf-8")))
    }
    assert missing == {}, f"text files opened without encoding='utf-8' (file: lines): {missing}"


def test_the_check_finds_what_it_looks_for() -> None:
    source = (
        "p.write_text(s)\n"
        "p.read_text()\n"
        "p.open('w')\n"
        "open(f)\n"
        "p.open('rb')\n"
        "out.spool.open('ab')\n"
        "os.open(f, 1)\n"
        "p.read_text(encoding='utf-8')\n"
        "tempfile.NamedTemporaryFile('w')\n"
        "resources.files('x').joinpath('y').open()\n"
    )
    assert _text_calls_without_encoding(source) == [1, 2, 3, 4, 9, 10]
