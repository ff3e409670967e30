"""Record builders for the sample apps that call the Converse and ConverseStream APIs.

support-chat, doc-summarizer, code-assistant, report-bot and eval-harness: each builder turns
one call time into the ``Planned`` record(s) of one request, token counts agreeing with the text.
"""

from __future__ import annotations

import json
import random

import orjson

from bedrock_finops import sample_corpus as corpus
from bedrock_finops import sample_corpus_teams as teams
from bedrock_finops.sample_records import (
    _base,
    _converse_body,
    _converse_output,
    _converse_stream_output,
    _cut_to_tokens,
    _finish,
    _hour_prefix,
    _inference_region,
    _input,
    _latency,
    _usage,
)
from bedrock_finops.sample_workload import (
    ANSWERS,
    BUCKET,
    CODE_MAX_TOKENS,
    CODE_SYSTEM_TOKENS,
    CODE_TRUNCATED_P,
    INTENT_KEYS,
    KB,
    MOBILE_SHARE,
    PARAPHRASES,
    REPORT_INSTRUCTION_TOKENS,
    RESEND_SHARE,
    SONNET_4,
    SONNET_4_ARN,
    SUMMARIZER_SYSTEM_TOKENS,
    SUPPORT_SYSTEM,
    SUPPORT_SYSTEM_TOKENS,
    UNKNOWN_MODEL,
    AppSpec,
    Ctx,
    Planned,
)
from bedrock_finops.tokens import estimate_tokens


def _support_chat(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    intent = rng.choice(INTENT_KEYS)
    question = rng.choice(PARAPHRASES[intent])
    context = "\n\n".join(KB[intent])
    user = f"<context>\n{context}\n</context>\n\nCustomer question: {question}"
    body = _converse_body([SUPPORT_SYSTEM], user, 1024, 0.3)
    tokens_in = SUPPORT_SYSTEM_TOKENS + estimate_tokens(user)
    client = "mobile" if rng.random() < MOBILE_SHARE else "web"
    meta = {"app": app.name, "client": client, "tenant": f"ws-{rng.randrange(1, 400):04d}"}
    first = _support_record(ctx, app, ts, body, tokens_in, intent, meta)
    out = [first]
    if client == "mobile" and rng.random() < RESEND_SHARE / MOBILE_SHARE:
        resend = _support_record(
            ctx, app, ts + rng.uniform(0.15, 1.9), body, tokens_in, intent, meta
        )
        resend.resend_of = first.request_id
        out.append(resend)
    return out


def _support_record(
    ctx: Ctx, app: AppSpec, ts: float, body: dict, tokens_in: int, intent: str, meta: dict
) -> Planned:
    rng = ctx.rng
    rec = _base(ctx, app, ts, SONNET_4, "Converse")
    answer = rng.choice(ANSWERS[intent])
    n_out = estimate_tokens(answer)
    usage = _usage(tokens_in, n_out, 0, 0, False)
    output = _converse_output(answer, "end_turn", usage, _latency(rng, n_out))
    _finish(
        rec,
        _input(body, tokens_in),
        output,
        n_out,
        _inference_region(rng, SONNET_4, app.region),
        meta,
    )
    return Planned(ts, rec, app.name, tokens_in, n_out, intent=intent)


def _document(rng: random.Random, tokens: int) -> str:
    title = f"{rng.choice(teams.DOC_KINDS).title()} {rng.randrange(100, 999)}"
    parts = [title]
    size = len(title)
    while size < tokens * 4:
        s = rng.choice(teams.DOC_SENTENCES).format(
            n=rng.randrange(120, 9000),
            p=rng.randrange(2, 40),
            h=rng.randrange(1, 12),
            y=rng.randrange(1, 4),
            d=rng.randrange(5, 60),
        )
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)


def _doc_summarizer(ctx: Ctx, app: AppSpec, ts: float, large: bool = False) -> list[Planned]:
    rng = ctx.rng
    doc = _document(rng, 30_000 if large else rng.randint(3_000, 8_000))
    user = f"Summarise this document.\n\n<document>\n{doc}\n</document>"
    body = _converse_body([teams.SUMMARIZER_SYSTEM], user, 1200, 0.2)
    tokens_in = SUMMARIZER_SYSTEM_TOKENS + estimate_tokens(user)
    bullets = rng.sample(teams.SUMMARY_BULLETS, rng.randint(5, 8))
    summary = "\n".join(bullets) + "\nOpen questions: who owns the follow-up review?"
    n_out = estimate_tokens(summary)
    rec = _base(ctx, app, ts, SONNET_4, "Converse")
    usage = _usage(tokens_in, n_out, 0, 0, False)
    output = _converse_output(summary, "end_turn", usage, _latency(rng, n_out) + tokens_in // 8)
    inp = _input(body, tokens_in)
    payload = None
    if large:
        payload = orjson.dumps(body)
        hour_prefix = _hour_prefix(app.region, ts)
        del inp["inputBodyJson"]
        inp["inputBodyS3Path"] = (
            f"s3://{BUCKET}/{hour_prefix}/data/{rec['requestId']}_input.json.gz"
        )
    _finish(
        rec,
        inp,
        output,
        n_out,
        _inference_region(rng, SONNET_4, app.region),
        {"app": app.name, "pipeline": "nightly-docs"},
    )
    return [Planned(ts, rec, app.name, tokens_in, n_out, large_body=payload)]


def _code_reply(rng: random.Random, blocks: int) -> str:
    parts = rng.sample(teams.CODE_EXPLANATIONS, 3)
    for _ in range(blocks):
        name = rng.choice(teams.CODE_NAMES)
        parts.append(teams.CODE_REPLY_BLOCK.replace("paid_minutes", name))
        parts.append(rng.choice(teams.CODE_EXPLANATIONS))
    return "\n\n".join(parts)


def _code_assistant(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    files = [
        teams.CODE_SNIPPET.format(
            name=rng.choice(teams.CODE_NAMES), cls=rng.choice(teams.CODE_CLASSES)
        )
        for _ in range(rng.randint(3, 12))
    ]
    user = rng.choice(teams.CODE_TASKS) + "\n\n```python\n" + "\n\n".join(files) + "\n```"
    body = _converse_body([teams.CODE_SYSTEM], user, CODE_MAX_TOKENS, 0.2, cache_point=True)
    user_tokens = estimate_tokens(user)
    if ts - ctx.code_cache_ts <= 300:  # 5-minute TTL, refreshed on every hit
        read, write = CODE_SYSTEM_TOKENS, 0
    else:
        read, write = 0, CODE_SYSTEM_TOKENS
    ctx.code_cache_ts = ts
    if rng.random() < CODE_TRUNCATED_P:
        reply, stop = _cut_to_tokens(_code_reply(rng, 10), CODE_MAX_TOKENS), "max_tokens"
    else:
        reply, stop = _code_reply(rng, rng.randint(1, 5)), "end_turn"
    n_out = estimate_tokens(reply)
    usage = _usage(user_tokens, n_out, read, write, True)
    rec = _base(ctx, app, ts, SONNET_4, "ConverseStream")
    output = _converse_stream_output(reply, stop, usage, _latency(rng, n_out, 12.0))
    _finish(
        rec,
        _input(body, user_tokens, read, write),
        output,
        n_out,
        _inference_region(rng, SONNET_4, app.region),
        {"app": app.name, "ide": rng.choice(("vscode", "jetbrains"))},
    )
    return [Planned(ts, rec, app.name, user_tokens, n_out, read, write)]


def _report_data(rng: random.Random) -> dict:
    staff = [
        {
            "name": f"Staff {i + 1:02d}",
            "role": rng.choice(("barista", "cook", "host", "shift lead")),
            "scheduled_hours": round(rng.uniform(12, 44), 1),
            "worked_hours": round(rng.uniform(10, 46), 1),
            "overtime_hours": round(max(0.0, rng.uniform(-6, 4)), 1),
            "absences": rng.randint(0, 2),
        }
        for i in range(rng.randint(8, 16))
    ]
    days = [
        {
            "day": d,
            "sales_forecast": rng.randint(3000, 9000),
            "labor_cost": rng.randint(900, 2600),
            "open_shifts": rng.randint(0, 4),
        }
        for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    ]
    return {
        "location": f"Store {rng.randrange(1, 60):02d}",
        "week": rng.randint(40, 45),
        "currency": "USD",
        "days": days,
        "staff": staff,
    }


def _report_bot(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    data = _report_data(rng)
    pretty = teams.pretty_json(data)
    compact = json.dumps(data, separators=(",", ":"))
    system = "You write weekly operations reports for Brightdesk customers.\n\n" + (
        teams.REPORT_INSTRUCTIONS
    )
    user = f"{teams.REPORT_INSTRUCTIONS}\n\nData:\n{pretty}"
    body = _converse_body([system], user, None, 0.7)
    tokens_in = estimate_tokens(system) + estimate_tokens(user)
    fill = {
        "h": rng.randint(300, 700),
        "h2": rng.randint(300, 700),
        "s": len(data["staff"]),
        "c": sum(d["labor_cost"] for d in data["days"]),
        "p": rng.randint(18, 32),
        "o": rng.randint(0, 30),
        "a": rng.randint(0, 9),
        "os": rng.randint(2, 20),
    }
    sections = [s.format(**fill) for s in teams.REPORT_SECTIONS]
    notes = [
        f"### {d['day']}\nForecast sales were {d['sales_forecast']} dollars and labor "
        f"cost was {d['labor_cost']} dollars, with {d['open_shifts']} open shifts. The "
        "team handled the day well, and there is nothing unusual to report beyond the "
        "figures above."
        for d in data["days"]
    ]
    reply = "\n\n".join(sections[:-1] + ["## Day by day"] + notes + sections[-1:])
    n_out = estimate_tokens(reply)
    usage = _usage(tokens_in, n_out, 0, 0, False)
    rec = _base(ctx, app, ts, SONNET_4_ARN, "Converse")
    output = _converse_output(reply, "end_turn", usage, _latency(rng, n_out))
    _finish(
        rec,
        _input(body, tokens_in),
        output,
        n_out,
        _inference_region(rng, SONNET_4, app.region),
        None,
    )
    extras = {
        "duplicated_instruction_tokens": REPORT_INSTRUCTION_TOKENS,
        "json_whitespace_tokens": estimate_tokens(pretty) - estimate_tokens(compact),
    }
    return [Planned(ts, rec, app.name, tokens_in, n_out, extras=extras)]


def _eval_harness(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    article = rng.choice(KB[rng.choice(INTENT_KEYS)])
    user = rng.choice(teams.EVAL_PROMPTS).format(a=article)
    body = _converse_body([], user, 300, 0.0)
    tokens_in = estimate_tokens(user)
    reply = rng.choice(corpus.FAQ_ANSWERS)
    n_out = estimate_tokens(reply)
    usage = _usage(tokens_in, n_out, 0, 0, False)
    rec = _base(ctx, app, ts, UNKNOWN_MODEL, "Converse")
    _finish(
        rec,
        _input(body, tokens_in),
        _converse_output(reply, "end_turn", usage, _latency(rng, n_out)),
        n_out,
        app.region,
        {"app": app.name, "suite": "answer-quality"},
    )
    return [Planned(ts, rec, app.name, tokens_in, n_out)]
