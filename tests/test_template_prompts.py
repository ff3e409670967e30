"""The prompt templates table of model sizing: each segment's system prompt, redacted unless
asked, and a plain word where there is no text to show."""

from __future__ import annotations

from bedrock_finops import notebook, segments

TEXTS = {"a1": "You are a router. Reply with one label.", "b2": "Summarise the document."}


def test_each_template_reads_its_prompt_redacted_or_says_why_there_is_none():
    shown = notebook.template_prompts(["a1", "none", "c3"], TEXTS, show=False)
    assert shown == [
        "[redacted: 39 chars]",
        "(no system prompt)",  # the template of requests without a system prompt
        "(text not in prompts.parquet)",  # a hash the run's prompts table lacks
    ]
    assert notebook.template_prompts(["b2", "none"], TEXTS, show=True) == [
        "Summarise the document.",
        "(no system prompt)",
    ]


def test_the_samples_segments_without_a_system_prompt_say_so():
    """The sample's faq-helper, eval-harness and five doc-summarizer requests send no system
    prompt: their row read NaN; support-chat's 13,059-character prompt stays redacted."""
    ctx = notebook.open_run("", user_text=False)  # the embedded sample, ingested once
    summary = segments.summarise(ctx.usage)
    shown = dict(
        zip(
            summary["segment"],
            notebook.template_prompts(
                summary["template"], segments.template_texts(ctx.prompts), show=False
            ),
            strict=True,
        )
    )
    apps = dict(zip(summary["segment"], summary["app"], strict=True))
    no_prompt = sorted(apps[s] for s, text in shown.items() if text == "(no system prompt)")
    assert no_prompt == ["doc-summarizer", "eval-harness", "faq-helper"]
    support = [text for s, text in shown.items() if apps[s] == "support-chat"]
    assert support == ["[redacted: 13,059 chars]"]
    assert "(text not in prompts.parquet)" not in shown.values()
