"""Prompt texts past the memory budget go to a scratch file and come back whole."""

from __future__ import annotations

import pyarrow.parquet as pq

from bedrock_finops import prompt_texts
from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.prompt_texts import PromptTexts


def rows(batches) -> list[tuple]:
    return [tuple(r.values()) for b in batches for r in b.to_pylist()]


def test_first_text_kept_in_order_held_or_written_out(tmp_path):
    texts = PromptTexts(tmp_path / "scratch", budget_chars=10)
    texts.add("h1", ("system", 2, "alpha"))
    texts.add("h1", ("system", 9, "a later text for the same hash"))  # the first one stays
    assert not texts.spilled
    texts.add("h2", ("tools", 3, "bravo bravo"))  # 16 characters held: over the budget
    assert texts.spilled and texts.held == {}
    texts.add("h3", ("system", 1, "c"))
    assert rows(texts.batches()) == [
        ("h1", "system", 2, "alpha"),
        ("h2", "tools", 3, "bravo bravo"),
        ("h3", "system", 1, "c"),
    ]
    texts.discard()
    assert not (tmp_path / "scratch").exists()


def test_prompts_table_is_the_same_when_texts_go_to_disk(sample_dir, tmp_path, monkeypatch):
    logs = sample_dir / "logs"
    ingest_to_folder(logs, tmp_path / "held", workers=1, progress=False)
    monkeypatch.setattr(prompt_texts, "BUDGET_CHARS", 1)  # every text goes to the scratch file
    ingest_to_folder(logs, tmp_path / "spilled", workers=1, progress=False)
    held = pq.read_table(tmp_path / "held" / "prompts.parquet")
    spilled = pq.read_table(tmp_path / "spilled" / "prompts.parquet")
    assert held.num_rows >= 5
    assert held.sort_by("hash").equals(spilled.sort_by("hash"))
    assert sorted(p.name for p in (tmp_path / "spilled").iterdir()) == sorted(
        p.name for p in (tmp_path / "held").iterdir()
    )  # no scratch file left behind
