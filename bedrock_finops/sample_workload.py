"""The embedded sample's fictional company: its IDs, apps, traffic profiles and plants.

Everything here is fixed (the same for every seed): the account and bucket, the model IDs the
apps call, each app's volume and hours, the shares and places of the planted opportunities and
faults (``Plan``), the fixed prompt text shared by the builders and the truth, and the two small
state holders the generator passes around (``Planned``, ``Ctx``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bedrock_finops import sample_corpus as corpus
from bedrock_finops import sample_corpus_teams as teams
from bedrock_finops.tokens import estimate_tokens

ACCOUNT_ID = "123456789012"
BUCKET = "brightdesk-bedrock-invocation-logs"
HOME_REGION = "us-east-1"
PERMISSION_CHECK_KEY = f"AWSLogs/{ACCOUNT_ID}/BedrockModelInvocationLogs/" + (
    "amazon-bedrock-logs-permission-check"
)
LARGE_BODY_BYTES = 100_000  # Bedrock moves bodies above 100 KB to data/
FILE_WINDOW_S = 600  # one delivery file per ten minutes of traffic (per region)
GZIP_LEVEL = 1

SONNET_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
OPUS_4 = "us.anthropic.claude-opus-4-20250514-v1:0"
OPUS_4_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:inference-profile/{OPUS_4}"
OPUS_41 = "us.anthropic.claude-opus-4-1-20250805-v1:0"
SONNET_4_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:inference-profile/{SONNET_4}"
LLAMA_70B = "meta.llama3-1-70b-instruct-v1:0"
TITAN_EXPRESS = "amazon.titan-text-express-v1"
UNKNOWN_MODEL = "ai21.jamba-1-5-large-v1:0"  # real Bedrock ID, absent from the catalog

# Approximate on-demand list prices, USD per 1M tokens (input, output, cache write 5 min,
# cache read), us-east-1, from shared reference notes. Only for the truth's bill estimate;
# the toolkit prices with its own catalog. Unknown models get None, never $0.
APPROX_PRICES: dict[str, tuple[float, float, float, float]] = {
    "anthropic.claude-sonnet-4": (3.0, 15.0, 3.75, 0.30),
    "anthropic.claude-opus-4": (15.0, 75.0, 18.75, 1.50),
    "anthropic.claude-opus-4-1": (15.0, 75.0, 18.75, 1.50),
    "meta.llama3-1-70b-instruct": (0.72, 0.72, 0.72, 0.72),
    "amazon.titan-text-express": (0.20, 0.60, 0.20, 0.20),
}

# Relative load by UTC hour for US business hours (ET/PT working day = 13:00-01:00 UTC).
US_BUSINESS_HOURS = (
    0.6,
    0.4,
    0.25,
    0.15,
    0.1,
    0.08,
    0.08,
    0.1,
    0.15,
    0.2,
    0.3,
    0.45,
    0.7,
    0.95,
    1.0,
    1.0,
    1.0,
    0.95,
    0.95,
    1.0,
    0.95,
    0.85,
    0.75,
    0.7,
)
FLAT = (1.0,) * 24
NIGHT_BATCH = tuple(1.0 if h in (1, 2, 3) else 0.0 for h in range(24))  # 01:00-04:00 UTC


@dataclass(frozen=True)
class AppSpec:
    """One application of the fictional company and how it calls Bedrock."""

    name: str
    operation: str
    region: str
    role: str
    session: str
    task_type: str
    per_day: float  # requests per weekday at scale 1.0
    hours: tuple[float, ...]
    weekend: float  # weekend volume relative to a weekday
    sets_app_metadata: bool

    @property
    def identity_arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{self.role}/{self.session}"


APPS: tuple[AppSpec, ...] = (
    AppSpec(
        "support-chat",
        "Converse",
        HOME_REGION,
        "support-chat-api",
        "support-chat-ecs",
        "simple_qa",
        560,
        US_BUSINESS_HOURS,
        0.35,
        True,
    ),
    AppSpec(
        "ticket-router",
        "InvokeModel",
        HOME_REGION,
        "ticket-router",
        "ticket-router-fn",
        "classification",
        300,
        US_BUSINESS_HOURS,
        0.5,
        False,
    ),
    AppSpec(
        "doc-summarizer",
        "Converse",
        HOME_REGION,
        "doc-summarizer-pipeline",
        "nightly-batch",
        "summarisation",
        90,
        NIGHT_BATCH,
        1.0,
        True,
    ),
    AppSpec(
        "code-assistant",
        "ConverseStream",
        HOME_REGION,
        "code-assistant",
        "code-assistant-ecs",
        "reasoning_coding",
        170,
        US_BUSINESS_HOURS,
        0.15,
        True,
    ),
    AppSpec(
        "marketing-writer",
        "InvokeModelWithResponseStream",
        "us-west-2",
        "marketing-writer",
        "marketing-writer-fn",
        "creative",
        50,
        US_BUSINESS_HOURS,
        0.1,
        False,
    ),
    AppSpec(
        "entity-extractor",
        "InvokeModel",
        HOME_REGION,
        "entity-extractor",
        "entity-extractor-ecs",
        "extraction",
        480,
        FLAT,
        1.0,
        False,
    ),
    AppSpec(
        "report-bot",
        "Converse",
        HOME_REGION,
        "report-bot",
        "report-bot-fn",
        "generation",
        40,
        US_BUSINESS_HOURS,
        0.2,
        False,
    ),
    AppSpec(
        "faq-helper",
        "InvokeModel",
        HOME_REGION,
        "faq-helper",
        "faq-helper-fn",
        "simple_qa",
        12,
        US_BUSINESS_HOURS,
        0.5,
        False,
    ),
    AppSpec(
        "eval-harness",
        "Converse",
        HOME_REGION,
        "eval-harness",
        "eval-runner",
        "evaluation",
        4,
        US_BUSINESS_HOURS,
        0.0,
        True,
    ),
)
APP_BY_NAME = {a.name: a for a in APPS}

RESEND_SHARE = 0.03  # support-chat requests re-sent by the mobile client
MOBILE_SHARE = 0.5
DUP_DELIVERY_P = 0.002
CODE_MAX_TOKENS = 2048
CODE_TRUNCATED_P = 0.05
ANOMALY_APP = "report-bot"
ANOMALY_FACTOR = 10
ANOMALY_HOURS = (15, 16, 17)


@dataclass
class Planned:
    """One record about to be written, with what the truth needs to know about it."""

    ts: float
    record: dict[str, Any]
    app: str
    input_tokens: int
    output_tokens: int
    cache_read: int = 0
    cache_write: int = 0
    intent: str | None = None
    resend_of: str | None = None
    large_body: bytes | None = None
    extras: dict[str, int] = field(default_factory=dict)
    line: bytes = b""

    @property
    def request_id(self) -> str:
        return self.record["requestId"]


@dataclass
class Ctx:
    """Generator state that crosses hours: the RNG and the prompt-cache clock."""

    rng: random.Random
    code_cache_ts: float = -1e18


# Fixed text, built once (the same for every seed).
INTENT_KEYS = list(corpus.INTENTS)
PARAPHRASES = {k: corpus.paraphrases(k) for k in INTENT_KEYS}
KB = {k: corpus.kb_articles(k) for k in INTENT_KEYS}
ANSWERS = {k: corpus.support_answers(k) for k in INTENT_KEYS}
SUPPORT_SYSTEM = corpus.support_system_prompt()
SUPPORT_SYSTEM_TOKENS = estimate_tokens(SUPPORT_SYSTEM)
TICKET_INSTRUCTION_TOKENS = estimate_tokens(corpus.TICKET_INSTRUCTIONS)
SUMMARIZER_SYSTEM_TOKENS = estimate_tokens(teams.SUMMARIZER_SYSTEM)
CODE_SYSTEM_TOKENS = estimate_tokens(teams.CODE_SYSTEM)
MARKETING_SYSTEM_TOKENS = estimate_tokens(teams.MARKETING_SYSTEM)
REPORT_INSTRUCTION_TOKENS = estimate_tokens(teams.REPORT_INSTRUCTIONS)


@dataclass(frozen=True)
class Plan:
    """Where the planted faults and events fall for a given period."""

    days: int
    start: date

    @property
    def anomaly_day(self) -> int:
        return self.days // 2

    @property
    def truncated_slot(self) -> tuple[int, int]:
        return (min(2, self.days - 1), 10)

    def malformed_at(self, day: int, hour: int) -> bool:
        return hour == 12 and day % 7 == 1

    def large_body_at(self, day: int, hour: int) -> bool:
        return hour == 2 and day % 6 == 2
