"""Record builders for the sample apps that call InvokeModel with a model's native body.

ticket-router and marketing-writer (Anthropic messages, the latter streamed), entity-extractor
(Llama ``prompt``) and faq-helper (Titan ``inputText``).
"""

from __future__ import annotations

import json
import random

from bedrock_finops import sample_corpus as corpus
from bedrock_finops import sample_corpus_teams as teams
from bedrock_finops.sample_records import (
    _anthropic_body,
    _base,
    _chunks,
    _finish,
    _inference_region,
    _input,
    _latency,
)
from bedrock_finops.sample_workload import (
    INTENT_KEYS,
    LLAMA_70B,
    MARKETING_SYSTEM_TOKENS,
    OPUS_4,
    OPUS_4_ARN,
    OPUS_41,
    PARAPHRASES,
    TICKET_INSTRUCTION_TOKENS,
    TITAN_EXPRESS,
    AppSpec,
    Ctx,
    Planned,
)
from bedrock_finops.tokens import estimate_tokens

LLAMA_PROMPT = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\n{user}<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)


def _ticket_router(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    label = rng.choice(corpus.TICKET_LABELS)
    sentences = rng.sample(corpus.TICKET_SENTENCES[label], rng.randint(2, 4))
    filler = rng.sample(corpus.TICKET_FILLER, rng.randint(1, 3))
    ticket = "\n".join(
        [
            rng.choice(corpus.TICKET_GREETINGS),
            " ".join(sentences + filler),
            rng.choice(corpus.TICKET_SIGNATURES),
        ]
    )
    history = [
        " ".join(rng.sample(corpus.TICKET_SENTENCES[rng.choice(corpus.TICKET_LABELS)], 3))
        for _ in range(rng.randint(0, 4))
    ]
    thread = "".join(f"\nEarlier message {i + 1}: {h}" for i, h in enumerate(history))
    user = f"Ticket #{rng.randrange(100000, 999999)}:\n{ticket}{thread}"
    body = _anthropic_body(corpus.TICKET_INSTRUCTIONS, user, max_tokens=10, temperature=0)
    tokens_in = TICKET_INSTRUCTION_TOKENS + estimate_tokens(user)
    reply = label if rng.random() < 0.9 else label.capitalize() + "."
    n_out = estimate_tokens(reply)
    model_id = OPUS_4 if rng.random() < 0.8 else OPUS_4_ARN
    output = {
        "id": f"msg_bdrk_{rng.getrandbits(96):024x}",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-20250514",
        "content": [{"type": "text", "text": reply}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": tokens_in, "output_tokens": n_out},
    }
    rec = _base(ctx, app, ts, model_id, "InvokeModel")
    _finish(
        rec,
        _input(body, tokens_in),
        output,
        n_out,
        _inference_region(rng, OPUS_4, app.region),
        None,
    )
    return [Planned(ts, rec, app.name, tokens_in, n_out)]


def _marketing_writer(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    brief = rng.choice(teams.MARKETING_BRIEFS)
    user = f"{brief}\nAudience: managers of shift-based teams. Length: about 1,000 words."
    body = _anthropic_body(teams.MARKETING_SYSTEM, user, max_tokens=4096, temperature=0.9)
    tokens_in = MARKETING_SYSTEM_TOKENS + estimate_tokens(user)
    paragraphs = []
    for _ in range(rng.randint(8, 14)):
        paragraphs.append(" ".join(rng.sample(teams.MARKETING_SENTENCES, 5)))
    text = "\n\n".join(paragraphs)
    n_out = estimate_tokens(text)
    first_byte = rng.randint(600, 1400)
    chunks: list[dict] = [
        {
            "type": "message_start",
            "message": {
                "id": f"msg_bdrk_{rng.getrandbits(96):024x}",
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4-1-20250805",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": tokens_in, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    chunks += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": c}}
        for c in _chunks(text)
    ]
    chunks += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": n_out},
        },
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": tokens_in,
                "outputTokenCount": n_out,
                "invocationLatency": first_byte + _latency(rng, n_out, 25.0),
                "firstByteLatency": first_byte,
            },
        },
    ]
    rec = _base(ctx, app, ts, OPUS_41, "InvokeModelWithResponseStream")
    _finish(
        rec,
        _input(body, tokens_in),
        chunks,
        n_out,
        _inference_region(rng, OPUS_41, app.region),
        None,
    )
    return [Planned(ts, rec, app.name, tokens_in, n_out)]


def _extraction_text(rng: random.Random) -> tuple[str, dict]:
    people, orgs, places, dates = [], [], [], []
    sentences = []
    for _ in range(rng.randint(4, 9)):
        v = {
            "p1": rng.choice(teams.PEOPLE),
            "p2": rng.choice(teams.PEOPLE),
            "o1": rng.choice(teams.ORGS),
            "o2": rng.choice(teams.ORGS),
            "l1": rng.choice(teams.PLACES),
            "l2": rng.choice(teams.PLACES),
            "m": rng.choice(teams.MONTHS),
            "d": rng.randint(1, 28),
            "n": rng.randint(3, 90),
        }
        tpl = rng.choice(teams.EXTRACT_TEMPLATES)
        sentences.append(tpl.format(**v))
        for key, bucket in (
            ("p1", people),
            ("p2", people),
            ("o1", orgs),
            ("o2", orgs),
            ("l1", places),
            ("l2", places),
        ):
            if "{" + key + "}" in tpl and v[key] not in bucket:
                bucket.append(v[key])
        if "{m}" in tpl:
            dates.append(f"{v['m']} {v['d']}")
    found = {"people": people, "organizations": orgs, "locations": places, "dates": dates}
    return " ".join(sentences), found


def _entity_extractor(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    text, found = _extraction_text(rng)
    prompt = LLAMA_PROMPT.format(system=teams.EXTRACTOR_SYSTEM, user=text)
    body = {"prompt": prompt, "max_gen_len": 512, "temperature": 0}
    tokens_in = estimate_tokens(prompt)
    generation = json.dumps(found)
    n_out = estimate_tokens(generation)
    output = {
        "generation": generation,
        "prompt_token_count": tokens_in,
        "generation_token_count": n_out,
        "stop_reason": "stop",
    }
    rec = _base(ctx, app, ts, LLAMA_70B, "InvokeModel")
    _finish(rec, _input(body, tokens_in), output, n_out, app.region, None)
    return [Planned(ts, rec, app.name, tokens_in, n_out)]


def _faq_helper(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    question = rng.choice(PARAPHRASES[rng.choice(INTENT_KEYS)])
    text = corpus.FAQ_PROMPT.format(q=question)
    body = {
        "inputText": text,
        "textGenerationConfig": {
            "maxTokenCount": 256,
            "temperature": 0.3,
            "topP": 0.9,
            "stopSequences": [],
        },
    }
    tokens_in = estimate_tokens(text)
    answer = rng.choice(corpus.FAQ_ANSWERS)
    n_out = estimate_tokens(answer)
    output = {
        "inputTextTokenCount": tokens_in,
        "results": [{"tokenCount": n_out, "outputText": answer, "completionReason": "FINISH"}],
    }
    rec = _base(ctx, app, ts, TITAN_EXPRESS, "InvokeModel")
    _finish(rec, _input(body, tokens_in), output, n_out, app.region, None)
    return [Planned(ts, rec, app.name, tokens_in, n_out)]
