"""Seed records for the parser agreement test: the log fixtures, the record helpers, the first
calls of each embedded-sample app, and a request and response of each body format the parsers
read (streamed or not), with tools, media, cache markers, guardrails and a mapped profile."""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path
from typing import Any

import orjson
from PIL import Image
from record_rows import FIXTURE_RECORD, log_record

from bedrock_finops.sample_traffic import BUILDERS
from bedrock_finops.sample_workload import APPS, Ctx

LOGS = Path(__file__).parent / "fixtures" / "logs"
PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/think01"
PROFILE_MAP = {PROFILE: "us.deepseek.r1-v1:0"}  # a profile of a model that thinks in tags
ROUTER = "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1"
CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
NOVA_ROUTER = "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/amazon.nova:1"


def _png(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


PNG = _png(1600, 900)  # an image Anthropic's rule scales down
TXT = base64.b64encode(b"Refunds within 30 days.\n" * 8).decode()  # a plain-text document
DS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>Brief.<\uff5cUser\uff5c>Sky?<\uff5cAssistant\uff5c>"
LLAMA3 = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)
LLAMA4 = "<|header_start|>user<|header_end|>\n\nIn <|image|>?<|eot|><|header_start|>assistant"
# fmt: off
USAGE = {"inputTokens": 12, "outputTokens": 3, "cacheReadInputTokens": 40,
         "cacheWriteInputTokens": 20, "cacheDetails": [{"ttl": "1h", "inputTokens": 20}]}
A_USAGE = {"input_tokens": 9, "output_tokens": 4, "cache_read_input_tokens": 30,
           "cache_creation_input_tokens": 10, "cache_creation": {"ephemeral_1h_input_tokens": 10}}
METRICS = {"amazon-bedrock-invocationMetrics": {"inputTokenCount": 9, "invocationLatency": 512}}
TOOL = {"toolSpec": {"name": "w", "inputSchema": {"json": {"type": "object"}}}}
MARK = {"cachePoint": {"type": "default"}}
A_MARK = {"type": "ephemeral", "ttl": "1h"}
ANTHROPIC = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 300}
USER = [{"role": "user", "content": "Hi"}]


def converse(content: list, stop: str = "end_turn", **more: Any) -> dict:
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
            **more}


# (model ID, operation, request body, response body); IM: InvokeModel, IMS: its stream
BODIES: list[tuple[str, str, dict, Any]] = [
    (CLAUDE, "Converse", {
        "system": [{"text": "Rules."}, {"text": "More rules."}, MARK],
        "toolConfig": {"tools": [TOOL, MARK]},
        "messages": [{"role": "user", "content": [
            {"image": {"format": "png", "source": {"bytes": PNG}}},
            {"document": {"format": "txt", "name": "d", "source": {"bytes": TXT},
                          "citations": {"enabled": True}}},
            {"text": "Summarise."}, {"cachePoint": {"type": "default", "ttl": "1h"}}]}],
        "inferenceConfig": {"maxTokens": 512, "temperature": 0.2},
        "serviceTier": {"type": "priority"}},
     converse([{"text": "```json\n{}\n```"}], usage=USAGE, metrics={"latencyMs": 812})),
    (CLAUDE, "Converse", {
        "messages": [
            {"role": "user", "content": [{"guardContent": {"text": {"text": "Weather?"}}}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "w",
                                                           "input": {"c": "P"}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t",
                                                         "content": [{"text": "21C"}]}}]}],
        "toolConfig": {"tools": [TOOL], "toolChoice": {"auto": {}}},
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}}},
     converse([{"reasoningContent": {"reasoningText": {"text": "hm"}}},
               {"toolUse": {"toolUseId": "u", "name": "w", "input": {"c": "L"}}}],
              "tool_use", performanceConfig={"latency": "optimized"})),
    (CLAUDE, "Converse", {"messages": [{"role": "user", "content": [{"text": "bad words"}]}]},
     converse([{"text": "Blocked."}], "guardrail_intervened")),
    (CLAUDE, "ConverseStream", {"messages": [{"role": "user", "content": [{"text": "bad"}]}]}, [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Blocked."}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "guardrail_intervened"}},
        {"metadata": {"usage": {"inputTokens": 0, "outputTokens": 0}}}]),
    (CLAUDE, "IMS", {**ANTHROPIC, "messages": USER}, [  # Bedrock's guardrail action, streamed
        {"type": "message_start", "message": {"role": "assistant", "content": []}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "No"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
        {"type": "message_stop", "amazon-bedrock-guardrailAction": "INTERVENED", **METRICS}]),
    (ROUTER, "ConverseStream", {"messages": USER, "system": "Terse."}, [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Hel"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"a":'}}, "contentBlockIndex": 1}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": USAGE, "metrics": {"latencyMs": 90}, "serviceTier": "flex",
                      "trace": {"promptRouter": {"invokedModelId": CLAUDE}}}}]),
    (NOVA_ROUTER, "Converse",  # the rules of the model the router chose: Nova's, no tools entry
     {"messages": USER, "system": [{"text": "Terse."}], "toolConfig": {"tools": [TOOL]}},
     converse([{"text": "Hi."}], usage=USAGE,
              trace={"promptRouter": {"invokedModelId": "us.amazon.nova-pro-v1:0"}})),
    (CLAUDE, "IM", {**ANTHROPIC, "temperature": 1,
        "system": [{"type": "text", "text": "Terse.", "cache_control": A_MARK}],
        "tools": [{"name": "w", "input_schema": {}, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "document", "source": {"type": "base64", "media_type": "text/plain",
                                            "data": TXT}},
            {"type": "text", "text": "Q?", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "w",
                                               "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                          "content": "ok"}]}]},
     {"content": [{"type": "thinking", "thinking": "x"}, {"type": "text", "text": "A."}],
      "stop_reason": "end_turn", "usage": A_USAGE}),
    (CLAUDE, "IMS", {**ANTHROPIC, "messages": USER, "tool_choice": {"type": "any"}}, [
        {"type": "message_start", "message": {"usage": A_USAGE}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "input_json_delta", "partial_json": "{}"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"output_tokens": 4}},
        {"type": "message_stop", **METRICS}]),
    ("anthropic.claude-v2:1", "IM",
     {"prompt": "S\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 9},
     {"completion": " Hello", "stop_reason": "stop_sequence"}),
    ("meta.llama3-1-8b-instruct-v1:0", "IM",
     {"prompt": LLAMA3, "max_gen_len": 64, "temperature": 0.5},
     {"generation": "Hello", "stop_reason": "stop"}),
    ("us.meta.llama4-maverick-17b-instruct-v1:0", "IMS", {"prompt": LLAMA4, "images": [PNG]},
     [{"generation": "A cat"}, {"generation": "", "stop_reason": "stop", **METRICS}]),
    ("amazon.titan-text-express-v1", "IM",
     {"inputText": "Hi", "textGenerationConfig": {"maxTokenCount": 50, "temperature": 0}},
     {"results": [{"outputText": "Hello", "completionReason": "FINISH"}]}),
    ("mistral.mistral-7b-instruct-v0:2", "IMS",
     {"prompt": "<s>[INST] <<SYS>>\nBrief.\n<</SYS>>\n\nHi [/INST]", "max_tokens": 12},
     [{"outputs": [{"text": "Hel"}]}, {"outputs": [{"text": "lo", "stop_reason": "length"}]}]),
    ("mistral.mistral-large-2407-v1:0", "IM", {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "image_url",
                                      "image_url": {"url": "data:image/png;base64," + PNG}}]},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "w"}}]}]},
     {"choices": [{"message": {"content": "", "tool_calls": [{"function": {"name": "w"}}]},
                   "stop_reason": "tool_calls"}]}),
    ("amazon.nova-lite-v1:0", "IM", {"schemaVersion": "messages-v1", "messages": USER,
                                     "system": [], "inferenceConfig": {"max_new_tokens": 99},
                                     "toolConfig": {"tools": [{"toolSpec": {"name": "w"}}]}},
     converse([{"text": "Hello"}], usage={"inputTokens": 3, "cacheReadInputTokenCount": 2})),
    ("cohere.command-r-plus-v1:0", "IM", {"message": "", "preamble": "Terse.", "documents": [{}],
        "chat_history": [{"role": "CHATBOT", "message": "", "tool_calls": [{"name": "w"}]}],
        "tool_results": [{"call": {"name": "w"}, "outputs": [{"t": 21}]}]},
     {"text": "21C.", "finish_reason": "COMPLETE"}),
    ("cohere.command-text-v14", "IMS", {"prompt": "Say hi", "max_tokens": 10},
     [{"generations": [{"text": "Hi", "index": 0}]},
      {"generations": [{"text": "!", "finish_reason": "COMPLETE"}], **METRICS}]),
    ("ai21.jamba-1-5-mini-v1:0", "IM", {"messages": USER, "max_tokens": 20},
     {"choices": [{"message": {"content": "Hello"}, "finish_reason": "stop"}]}),
    ("ai21.j2-ultra-v1", "IM", {"prompt": "Hi", "maxTokens": 20},
     {"completions": [{"data": {"text": "Hello"}, "finishReason": {"reason": "endoftext"}}]}),
    ("us.deepseek.r1-v1:0", "IM", {"prompt": DS + "<think>\n", "max_tokens": 200},
     {"choices": [{"text": "Blue sky.</think>\n\nBlue", "stop_reason": "stop"}]}),
    ("qwen.qwen3-32b-v1:0", "IMS", {"messages": USER},
     [{"choices": [{"delta": {"content": "<think>hm</think>"}}]},
      {"choices": [{"delta": {"content": "Blue"}, "finish_reason": "stop"}]}]),
    ("openai.gpt-oss-120b-1:0", "IM", {"max_completion_tokens": 50, "messages": [
        {"role": "developer", "content": "JSON only."}, {"role": "user", "content": "pong?"}]},
     {"choices": [{"message": {"content": '<reasoning>ok</reasoning>{"w": 1}'}}]}),
    (PROFILE, "IM", {"prompt": "Sky?", "max_tokens": 9},  # cut at </think> by its map target
     {"choices": [{"text": "hm</think>Blue"}], "amazon-bedrock-guardrailAction": "NONE"}),
    # media by reference in tool results, a document's images, a system prompt's image
    (CLAUDE, "Converse", {
        "system": [{"text": "Read scans."},
                   {"guardContent": {"image": {"format": "png", "source": {"bytes": PNG}}}}],
        "messages": [
            {"role": "user", "content": [{"text": "Fetch them."}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "w",
                                                           "input": {}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": [
                {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k"}}}},
                {"document": {"format": "pdf", "name": "d", "citations": {"enabled": True},
                              "source": {"s3Location": {"uri": "s3://b/d"}}}},
                {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://b/v"}}}},
                {"json": {"image": {"format": "png"}}}]}}]}]},
     converse([{"text": "Two scans."}])),
    (CLAUDE, "IM", {**ANTHROPIC, "messages": [
        {"role": "user", "content": [{"type": "document", "source": {"type": "content",
            "content": [{"type": "text", "text": "p1"}, {"type": "image", "source": {
                "type": "base64", "media_type": "image/png", "data": PNG}}]}}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "w",
                                           "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                      "cache_control": {"type": "ephemeral"}, "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            {"type": "document", "source": {"type": "file", "file_id": "file_01"}}]}]}]},
     {"content": [{"type": "text", "text": "A."}], "stop_reason": "end_turn"}),
    ("mistral.pixtral-large-2502-v1:0", "IM", {"messages": [
        {"role": "user", "content": [{"type": "image_url",
                                      "image_url": {"url": "https://example.com/r.png"}}]},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "w"}}]},
        {"role": "tool", "content": [{"type": "image_url", "image_url": "https://e.com/s.png"}]}]},
     {"choices": [{"message": {"content": "A receipt."}, "stop_reason": "stop"}]}),
    # no output tokens: embeddings, rerank, images (no outputTokenCount, see body_records)
    ("amazon.titan-embed-text-v2:0", "IM", {"inputText": "embed me", "dimensions": 256},
     {"embedding": [0.1, 0.2], "inputTextTokenCount": 3}),
    ("cohere.embed-english-v3", "IM", {"texts": ["a", "b"]}, {"embeddings": [[0.1]]}),
    ("cohere.rerank-v3-5:0", "IM", {"query": "q", "documents": ["a"]},
     {"results": [{"index": 0, "relevance_score": 0.9}]}),
    ("amazon.nova-canvas-v1:0", "IM", {"textToImageParams": {"text": "a cat"}}, {"images": ["x"]}),
]
# fmt: on
NO_OUTPUT_TOKENS = 4  # the last BODIES
OPERATIONS = {"IM": "InvokeModel", "IMS": "InvokeModelWithResponseStream"}


def body_records() -> list[dict]:
    """One record around each of BODIES, with request metadata and cache counts."""
    out = []
    for model, op, body, response in BODIES:
        rec = log_record(body, response, OPERATIONS.get(op, op))
        rec.update(modelId=model, requestMetadata={"app": " team-a "}, accountId="123456789012")
        out.append(rec)
    out[0]["input"].update(cacheReadInputTokenCount=40, cacheWriteInputTokenCount=20)
    for rec in out[-NO_OUTPUT_TOKENS:]:
        del rec["output"]["outputTokenCount"]
    return out


def sample_records() -> list[dict]:
    """The first two calls of each app of the embedded sample, as its generator builds them."""
    ctx = Ctx(random.Random(7))
    return [p.record for app in APPS for p in BUILDERS[app.name](ctx, app, 1_790_000_000.0)[:2]]


def seed_records() -> list[dict]:
    """Every seed, each a fresh copy of its JSON."""
    lines = [line for f in sorted(LOGS.rglob("*.json")) for line in f.read_bytes().splitlines()]
    recs = [orjson.loads(line) for line in lines if line.strip()]
    recs += [FIXTURE_RECORD, *body_records(), *sample_records()]
    return [orjson.loads(orjson.dumps(r)) for r in recs]
