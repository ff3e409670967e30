"""Hand-written text for the sample's team apps: engineering (doc-summarizer,
code-assistant, eval-harness), marketing (marketing-writer), operations (entity-extractor,
report-bot). Fixed like ``sample_corpus``: the same strings for every seed.
"""

from __future__ import annotations

import json

# --------------------------------------------------------------------------- doc-summarizer
SUMMARIZER_SYSTEM = (
    "You summarise internal documents for the Brightdesk operations team. Write a summary "
    "of at most eight bullet points, then one line of open questions. Keep figures exact."
)
DOC_KINDS = (
    "vendor contract",
    "incident review",
    "quarterly operations report",
    "customer interview notes",
    "policy update",
)
DOC_SENTENCES: tuple[str, ...] = (
    "During the period the team handled {n} requests, {p} percent more than the previous quarter.",
    "The vendor agrees to respond to severity one issues within {h} hours, at any time of day.",
    "The root cause was a configuration change that was rolled out to all regions at once.",
    "Customers in the retail segment asked most often about overtime rules and breaks.",
    "The contract renews automatically for {y} years unless either party gives notice.",
    "Response times improved after the on-call rotation moved to a follow-the-sun model.",
    "The migration was completed {d} days ahead of plan, with no customer-facing downtime.",
    "Fees are invoiced quarterly in advance and payable within {d} days of the invoice date.",
    "Three customers reported that exports were missing the final row of data.",
    "We will review the alert thresholds every month and remove alerts nobody acts on.",
    "The new policy applies to all employees and contractors from the first of next month.",
    "Interviewees said that the mobile app is the main way their staff see the schedule.",
    "Either party may terminate for cause with {d} days' written notice and a chance to cure.",
    "Support costs per customer fell to {n} dollars, driven by better help-centre articles.",
    "The incident lasted {h} hours and affected roughly {p} percent of active workspaces.",
    "Action items were assigned to owners with due dates, and progress is tracked weekly.",
    "Data is stored in the region the customer selects and is not moved without consent.",
    "Several managers asked for a way to approve time off in bulk before the holidays.",
)
SUMMARY_BULLETS: tuple[str, ...] = (
    "- Volume grew compared with the previous period, and the team kept response times "
    "within target.",
    "- The main risk is the automatic renewal clause and its notice period.",
    "- The incident came from a configuration change rolled out everywhere at once.",
    "- Customers want bulk approvals and better overtime reporting.",
    "- Costs fell thanks to better self-service content.",
    "- Termination for cause requires written notice and a cure period.",
    "- Follow-up actions have owners and due dates and are reviewed weekly.",
    "- Data stays in the customer's selected region.",
)

# --------------------------------------------------------------------------- code-assistant
CODE_SYSTEM = "\n\n".join(
    [
        "You are the Brightdesk engineering assistant. You help engineers read, write, "
        "review and debug code in the Brightdesk monorepo.",
        "The backend is Python 3.12 with FastAPI, SQLAlchemy 2 and PostgreSQL; the web app "
        "is TypeScript with React; the mobile apps are Kotlin and Swift. Jobs run on AWS "
        "Lambda and ECS; infrastructure is defined with the AWS CDK.",
        "When you write code, follow the repository conventions: type hints everywhere, "
        "small functions, docstrings only where the reason is not obvious, no global "
        "state, dependency injection for clients, and tests next to the code in pytest "
        "style. Prefer the standard library over new dependencies. Never log personal data "
        "such as names, emails or phone numbers.",
        "When you review code, list concrete problems first, ordered by severity, each with "
        "the line it concerns and a suggested fix. Then list smaller style points. Do not "
        "restate what the code does unless asked.",
        "When you debug, ask for the exact error message and stack trace if they are "
        "missing, form a hypothesis, and propose the smallest change that would confirm or "
        "refute it. Explain why the bug happens, not only how to fix it.",
        "Time zones: store timestamps in UTC, convert at the edges, and use the workspace "
        "time zone for anything a user sees. Shifts that cross midnight belong to the day "
        "they start on. Daylight-saving changes must never create or drop an hour of pay.",
        "Money: use integer cents or Decimal, never floats. Round half to even only when "
        "the payroll provider requires it, and say so in a comment.",
        "Security: parameterise every SQL query, validate input at the API boundary with "
        "pydantic models, check authorisation per workspace on every endpoint, and never "
        "return stack traces to clients.",
        "Performance: avoid N+1 queries by loading related rows with selectinload; "
        "paginate every list endpoint; cache only with an explicit TTL and an owner.",
        "Answer format: a short explanation, then the code in a fenced block with the "
        "language named, then how to test it. Keep explanations under ten sentences unless "
        "the engineer asks for more detail.",
    ]
    * 2
)

CODE_TASKS = (
    "Why does this function return the wrong total for shifts that cross midnight?",
    "Can you refactor this into smaller functions and add type hints?",
    "Write pytest tests for this module, including the daylight-saving edge case.",
    "Review this code before I open the pull request.",
    "This endpoint is slow with large workspaces; how can I speed it up?",
    "Add pagination to this list endpoint without breaking existing clients.",
)

CODE_SNIPPET = '''def {name}(shifts, tz):
    """Total paid minutes per person for the given shifts."""
    totals = {{}}
    for shift in shifts:
        start = shift.start.astimezone(tz)
        end = shift.end.astimezone(tz)
        minutes = (end - start).seconds // 60
        if shift.unpaid_break:
            minutes -= shift.unpaid_break
        totals[shift.person_id] = totals.get(shift.person_id, 0) + minutes
    return totals


class {cls}Repository:
    def __init__(self, session):
        self.session = session

    def list_for_workspace(self, workspace_id):
        rows = self.session.execute(
            select({cls}).where({cls}.workspace_id == workspace_id)
        ).scalars()
        return [row for row in rows if not row.deleted]
'''
CODE_NAMES = (
    "paid_minutes",
    "overtime_minutes",
    "weekly_hours",
    "night_premium",
    "break_minutes",
    "holiday_hours",
)
CODE_CLASSES = ("Shift", "TimeOff", "Timesheet", "Location", "Department", "Availability")

CODE_EXPLANATIONS: tuple[str, ...] = (
    "The bug comes from `timedelta.seconds`, which ignores whole days and is always "
    "non-negative, so a shift that ends after midnight in another offset loses time.",
    "Use `total_seconds()` instead, and convert to the workspace time zone only for display.",
    "I split the loop into a pure function that computes one shift's minutes and a small "
    "aggregator, which makes both easy to test.",
    "The repository loads every row and filters deleted ones in Python; filtering in SQL "
    "and paginating with a keyset avoids reading the whole table.",
    "The tests below cover a normal shift, a shift across midnight, an unpaid break, and "
    "the night when clocks go back one hour.",
    "Run the tests with `pytest -q tests/test_paid_minutes.py`; they need no database.",
)

CODE_REPLY_BLOCK = '''```python
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def shift_minutes(start: datetime, end: datetime, unpaid_break: int = 0) -> int:
    """Paid minutes of one shift; start and end are aware datetimes."""
    if end <= start:
        raise ValueError(f"shift ends before it starts: {start} -> {end}")
    return int((end - start).total_seconds() // 60) - unpaid_break


def paid_minutes(shifts, tz: ZoneInfo) -> dict[int, int]:
    totals: dict[int, int] = {}
    for shift in shifts:
        minutes = shift_minutes(shift.start, shift.end, shift.unpaid_break or 0)
        totals[shift.person_id] = totals.get(shift.person_id, 0) + minutes
    return totals


def test_shift_across_midnight() -> None:
    tz = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 10, 24, 22, 0, tzinfo=tz)
    end = start + timedelta(hours=8)
    assert shift_minutes(start, end) == 480
```'''

# --------------------------------------------------------------------------- marketing-writer
MARKETING_SYSTEM = (
    "You are Brightdesk's senior copywriter. Write warm, concrete, confident copy for "
    "managers of shift-based teams in retail, hospitality and healthcare. Avoid cliches, "
    "avoid exclamation marks, and never make claims about competitors."
)
MARKETING_BRIEFS = (
    "Write a long-form blog post about how restaurant managers can cut scheduling time in "
    "half before the holiday season.",
    "Write a customer story about a chain of bakeries that moved from paper rotas to Brightdesk.",
    "Write a product launch announcement for open shifts and shift swaps on mobile.",
    "Write a newsletter for hospital ward managers about fair night-shift rotations.",
    "Write a landing page for the new payroll integrations, with three sections and a "
    "closing call to action.",
)
MARKETING_SENTENCES: tuple[str, ...] = (
    "Every Sunday evening, somewhere, a manager is still building next week's rota by hand.",
    "The spreadsheet has grown tabs nobody remembers creating, and the colours mean "
    "something only to the person who left last spring.",
    "Brightdesk starts from a simple idea: the schedule belongs to the whole team, not to a "
    "file on one laptop.",
    "When a barista can swap a shift from her phone in thirty seconds, the manager gets her "
    "evening back.",
    "Open shifts go to the people who want the hours, in the order they asked, with the "
    "rules you set once.",
    "Labor cost appears next to the schedule while you build it, so there are no surprises "
    "at the end of the month.",
    "Night shifts rotate fairly because the rota remembers who worked the last holiday.",
    "Timesheets flow to payroll without retyping, and the numbers match because they come "
    "from the same clock.",
    "Teams that switched told us the first thing they noticed was fewer messages asking who "
    "is on tomorrow.",
    "The best schedule is the one nobody has to think about, because it simply works.",
    "Try it with one location for a month, and keep the spreadsheet as a safety net; most "
    "teams never open it again.",
    "Behind every shift is a person with a life outside work, and good scheduling respects that.",
)

# --------------------------------------------------------------------------- entity-extractor
EXTRACTOR_SYSTEM = (
    "Extract entities from the text. Return only JSON with the keys people, organizations, "
    "locations and dates, each a list of strings. Do not add commentary."
)
PEOPLE = (
    "Ana Souza",
    "James Okafor",
    "Mei Lin",
    "Carlos Rivera",
    "Fatima Zahra",
    "Oliver Brown",
    "Sofia Rossi",
    "Arjun Patel",
    "Hannah Schmidt",
    "Kwame Mensah",
)
ORGS = (
    "Harbor Foods",
    "Cityline Clinics",
    "Northgate Retail",
    "Bluewave Hotels",
    "Maple Logistics",
    "Sunrise Bakeries",
    "Metro Care",
    "Pinecrest Schools",
)
PLACES = ("Chicago", "Lisbon", "Toronto", "Austin", "Manchester", "Melbourne", "Dublin", "Denver")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
EXTRACT_TEMPLATES: tuple[str, ...] = (
    "{p1} from {o1} met {p2} in {l1} on {m} {d} to discuss the rollout to {n} stores.",
    "{o1} announced that {p1} will lead its new office in {l1} starting {m} {d}.",
    "In a call on {m} {d}, {p2} confirmed that {o2} will move its staff scheduling to {l2}.",
    "{p1} said {o1} and {o2} signed the agreement in {l2} after three months of talks.",
    "Staff at the {l1} site of {o2} reported to {p2} that the new rota worked well.",
)

# --------------------------------------------------------------------------- report-bot
REPORT_INSTRUCTIONS = (
    "Instructions:\n"
    "1. Write a weekly operations report for the location manager.\n"
    "2. Start with a one-paragraph overview of the week.\n"
    "3. Then cover hours, labor cost, overtime, absences and open shifts, one section "
    "each.\n"
    "4. Compare every figure with the previous week and say whether it is better or worse.\n"
    "5. End with three recommendations for next week.\n"
    "6. Use the figures in the JSON exactly as given; do not invent numbers."
)
REPORT_SECTIONS: tuple[str, ...] = (
    "## Overview\nThis week the location ran {h} scheduled hours across {s} staff. Overall "
    "the week was steadier than the last one, with fewer last-minute changes and better "
    "coverage during the lunch peak.",
    "## Hours\nScheduled hours came to {h}, compared with {h2} the previous week. The "
    "difference comes mostly from the extra weekend shifts added for the promotion.",
    "## Labor cost\nLabor cost was {c} dollars, which is {p} percent of forecast sales. That "
    "is within the target band, although the weekend premium pushed Saturday above plan.",
    "## Overtime\nOvertime reached {o} hours. Most of it fell on two people who covered "
    "absences on Thursday and Friday; spreading those shifts would have avoided it.",
    "## Absences\nThere were {a} absences, of which most were planned time off. Unplanned "
    "absences were concentrated at the start of the week.",
    "## Open shifts\n{os} open shifts were posted and most were claimed within a day. Shifts "
    "posted less than twelve hours ahead were the hardest to fill.",
    "## Recommendations\n1. Post weekend open shifts at least two days ahead.\n2. Balance "
    "overtime by offering extra hours to part-time staff first.\n3. Review the lunch-peak "
    "coverage again after the promotion ends.",
)

# --------------------------------------------------------------------------- eval-harness
EVAL_PROMPTS = (
    "Summarise the following help-centre article in one sentence: {a}",
    "Rewrite this answer in a friendlier tone: {a}",
)


def pretty_json(data: object) -> str:
    """The report context exactly as report-bot sends it: indent=2, keys in order."""
    return json.dumps(data, indent=2)
