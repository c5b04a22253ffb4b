"""The dialplan's names: contexts, channel variables, user events and call groups, shared by the Python code and the
Asterisk templates (asterisk_config/render.py hands them to every template; nothing in a template retypes them)."""

from __future__ import annotations

from enum import StrEnum


class Context(StrEnum):
    """Every context of extensions.conf and the endpoints of pjsip.conf that enter them."""

    INBOUND = "pasokh-inbound"  # citizens' calls to the public lines; the call tracker follows these channels
    LINES_BUSY = "pasokh-lines-busy"
    TRANSFER = "pasokh-transfer"  # an operator's blind transfer (AMI Redirect)
    WITHHOLD_CALLER = "pasokh-withhold-caller"
    VERIFY = "pasokh-verify"  # the citizen's leg of a verification call
    VERIFY_ANSWERED = "pasokh-verify-answered"
    VERIFY_AUTOMATIC = "pasokh-verify-automatic"  # the automatic dialer's end of the local channel
    STAFF = "pasokh-staff"
    # Rendered only for the AGI baseline bench's instance (tests/perf/agi_baseline.py, ADR 0085), never in production.
    AGI_BASELINE = "pasokh-agi-baseline"


class Variable(StrEnum):
    """Every channel (and global) variable the dialplan, the IVR or the AMI bridge sets or reads."""

    MAX_INBOUND = "PASOKH_MAX_INBOUND"
    MAX_OUTBOUND = "PASOKH_MAX_OUTBOUND"
    LINE = "PASOKH_LINE"  # the public line the citizen called, inherited by every channel of the call
    NEXT = "PASOKH_NEXT"  # the IVR's answer to the dialplan: a NextStep
    # What the 1888 menu learnt; the AMI bridge copies them to the call record (manager.conf ``channelvars``).
    FEEDBACK_KIND = "PASOKH_FEEDBACK_KIND"
    PERSONNEL_CODE = "PASOKH_PERSONNEL_CODE"
    ANONYMOUS = "PASOKH_ANONYMOUS"
    # The file MixMonitor writes the conversation to (set before Queue, read at AgentConnect).
    RECORDING = "PASOKH_RECORDING"
    VERIFY_ATTEMPT = "PASOKH_VERIFY_ATTEMPT"  # the verification attempt an outbound call belongs to
    # Scratch values of the line count, taken under one lock.
    LOCKED = "PASOKH_LOCKED"
    UNLOCKED = "PASOKH_UNLOCKED"
    ACTIVE = "PASOKH_ACTIVE"
    OUTBOUND = "PASOKH_OUTBOUND"
    WAITING = "PASOKH_WAITING"
    REFUSED = "PASOKH_REFUSED"
    # The AGI baseline bench's (ADR 0085): when each AGI session started and ended (Asterisk's clock), which side
    # ran it, the key the menu took and how long the session waited on the caller (prompts, the key).
    BENCH_SIDE = "PASOKH_BENCH_SIDE"
    BENCH_STARTED = "PASOKH_BENCH_STARTED"
    BENCH_ENDED = "PASOKH_BENCH_ENDED"
    BENCH_CHOICE = "PASOKH_BENCH_CHOICE"
    BENCH_WAITED_MS = "PASOKH_BENCH_WAITED_MS"


class NextStep(StrEnum):
    """What the IVR tells the dialplan to do after its AGI step (``Variable.NEXT``)."""

    QUEUE = "queue"
    HANGUP = "hangup"


class UserEvent(StrEnum):
    """The dialplan's UserEvents the AMI bridge listens for."""

    LINES_BUSY = "PasokhLinesBusy"
    VERIFICATION_CALL = "PasokhVerificationCall"  # how a verification call's citizen leg ended
    VERIFICATION_ANSWERED = "PasokhVerificationAnswered"
    AGI_BASELINE = "PasokhAgiBaseline"  # one per AGI session of the baseline bench (ADR 0085)


class Group(StrEnum):
    """The GROUP() a channel is counted in, within ``GROUP_CATEGORY``: both directions count against the lines."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    REFUSED = "refused"


GROUP_CATEGORY = "pasokh"
LINES_LOCK = "pasokh-lines"  # the dialplan's LOCK() around joining a group and counting the lines
OUTBOUND_TRUNK = "outbound-trunk"  # pjsip.conf's endpoint for calls to citizens
VERIFICATION_AGI_ROUTE = "verification"
# What Asterisk puts in every event of a channel (manager.conf ``channelvars``): the 1888 menu's three, in the order
# it sets them, and the recording's name the dialplan sets.
IVR_CHANNEL_VARIABLES = (Variable.FEEDBACK_KIND, Variable.PERSONNEL_CODE, Variable.ANONYMOUS, Variable.RECORDING)


def group_count(group: Group) -> str:
    """The dialplan function counting the channels in ``group``: ``GROUP_COUNT(outbound@pasokh)``."""
    return f"GROUP_COUNT({group}@{GROUP_CATEGORY})"


def template_names() -> dict[str, object]:
    """The names as the Asterisk templates see them (``{{ context.INBOUND }}``, ``{{ variable.LINE }}``...)."""
    return {
        "context": Context,
        "variable": Variable,
        "next_step": NextStep,
        "user_event": UserEvent,
        "group": Group,
        "group_category": GROUP_CATEGORY,
        "lines_lock": LINES_LOCK,
        "outbound_trunk": OUTBOUND_TRUNK,
        "verification_agi_route": VERIFICATION_AGI_ROUTE,
        "channel_variables": IVR_CHANNEL_VARIABLES,
    }
