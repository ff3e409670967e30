"""The Cython-compiled parse modules: built where they can be, used only while they match
their source, and giving the same tables as the Python source."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from build_tools import can_build_extensions

from bedrock_finops import compiled
from bedrock_finops.ingest import ingest_to_folder

PURE = compiled.turned_off()


@pytest.mark.skipif(PURE, reason=f"{compiled.OFF_VARIABLE} is set")
def test_the_parse_modules_run_compiled_where_a_compiler_is():
    from bedrock_finops import parse, parse_body, parse_scalars

    if not can_build_extensions():
        pytest.skip("no C compiler or Python headers: the modules run from their source")
    assert compiled.status() == "yes", "run pip install -e . and read its log"
    for module in (parse, parse_body):
        assert Path(module.__file__).parent == compiled.COMPILED_DIR
    # the names pickling looks up are the modules' own: a worker's exception or row value
    # unpickles in the parent as the same class
    assert parse_scalars.BadRecord.__module__ == "bedrock_finops.parse_scalars"
    again = pickle.loads(pickle.dumps(parse_scalars.BadRecord("negative token count")))
    assert type(again) is parse_scalars.BadRecord
    assert str(again) == "negative token count"


def _fake_build(tmp_path: Path) -> tuple[Path, Path]:
    """A package folder with the parse modules' sources and a compiled folder matching them
    (empty files stand for the compiled modules: only their names and hashes are read)."""
    package, built = tmp_path / "pkg", tmp_path / "pkg" / "_compiled"
    built.mkdir(parents=True)
    digests = {}
    for module in compiled.MODULES:
        source = package / f"{module}.py"
        source.write_text(f"NAME = {module!r}\n")
        digests[module] = hashlib.sha256(source.read_bytes()).hexdigest()
        compiled.extension_path(built, module).touch()
    (built / compiled.SOURCES_FILE).write_text(json.dumps(digests))
    return package, built


def test_a_module_edited_since_the_build_runs_from_its_source(tmp_path):
    package, built = _fake_build(tmp_path)
    assert set(compiled.fresh_modules(package, built)) == set(compiled.MODULES)
    (package / "parse_body.py").write_text("NAME = 'edited'\n")
    fresh = compiled.fresh_modules(package, built)
    assert "parse_body" not in fresh
    assert set(fresh) == set(compiled.MODULES) - {"parse_body"}
    assert fresh["parse"] == compiled.extension_path(built, "parse")


def test_without_a_record_of_the_sources_nothing_runs_compiled(tmp_path):
    package, built = _fake_build(tmp_path)
    (built / compiled.SOURCES_FILE).write_text("{not json")
    assert compiled.fresh_modules(package, built) == {}
    (built / compiled.SOURCES_FILE).unlink()
    assert compiled.fresh_modules(package, built) == {}


def test_a_module_whose_compiled_file_is_missing_runs_from_its_source(tmp_path):
    package, built = _fake_build(tmp_path)
    compiled.extension_path(built, "parse_request").unlink()
    assert set(compiled.fresh_modules(package, built)) == set(compiled.MODULES) - {"parse_request"}


def test_the_finder_answers_for_the_fresh_modules_alone(tmp_path):
    package, built = _fake_build(tmp_path)
    finder = compiled._CompiledFinder(compiled.fresh_modules(package, built))
    spec = finder.find_spec("bedrock_finops.parse")
    assert spec is not None
    assert spec.name == "bedrock_finops.parse"
    assert spec.origin == str(compiled.extension_path(built, "parse"))
    assert finder.find_spec("bedrock_finops.ingest") is None  # not compiled
    assert finder.find_spec("parse") is None  # another package's module of the same name


_PURE_INGEST = """
import sys
from bedrock_finops import compiled
from bedrock_finops.ingest import ingest_to_folder
ingest_to_folder(sys.argv[1], sys.argv[2], workers=2, progress=False)
print(compiled.status())
"""


@pytest.mark.skipif(PURE, reason=f"{compiled.OFF_VARIABLE} is set")
def test_the_compiled_modules_give_the_tables_the_source_gives(sample_dir, tmp_path):
    if compiled.status() != "yes":
        pytest.skip("the parse modules are not compiled here: nothing to compare")
    report = ingest_to_folder(sample_dir / "logs", tmp_path / "compiled", workers=2, progress=False)
    truth = json.loads((sample_dir / "truth.json").read_text())
    assert report.rows == truth["requests_total"]
    env = {**os.environ, compiled.OFF_VARIABLE: "1"}
    done = subprocess.run(
        [sys.executable, "-c", _PURE_INGEST, str(sample_dir / "logs"), str(tmp_path / "pure")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"no ({compiled.OFF_VARIABLE} is set)"
    for table in ("usage.parquet", "prompts.parquet", "quarantine.parquet"):
        ours = pq.read_table(tmp_path / "compiled" / table)
        theirs = pq.read_table(tmp_path / "pure" / table)
        assert ours.num_rows > 0, table  # the sample plants bad lines: quarantine has rows
        assert ours.equals(theirs), table
