"""Which AMI actions and provisioning commands a web-only worker may have the telephony process run, each field's
allowed form included.

The relay (callcenter/telephony/ami_relay.py) executes what it finds on a Redis list. Anyone able to write to that Redis
could otherwise run any manager action as the bridge's AMI user (an ``Originate`` of ``System()``, a config
rewrite...). So a relayed request must have exactly the shape one of ``AsteriskActions``' methods sends: the
action's name, its set of fields, and every value matched in full against that field's rule (our queues, our
dialplan contexts, our phones' interfaces, digits where digits belong). Refusal reasons name fields, never
values: a refused request may carry a citizen's number, and logs must not. The admin pages' provisioning
commands (callcenter/telephony/provisioner.py) are checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from callcenter.platform.errors import AmiActionRefused
from callcenter.telephony.asterisk_actions import MUTE_FUNCTION, PJSIP_MODULE, QUEUES, SPY_OPTIONS
from callcenter.telephony.dialplan import Context, Group, Variable, group_count
from callcenter.telephony.provisioner import APPLY_PHONE_CHANGES, RENDER_UNIT_NAME_PROMPT

Rule = re.Pattern[str] | frozenset[str]

# [0-9], not \d: Python's \d also matches Persian and Arabic digits, which Asterisk would not read as numbers.
_EXTENSION = "[0-9]{2,6}"
_NUMBER = r"\+?[0-9]{3,20}"
PHONE_INTERFACE = re.compile(f"PJSIP/{_EXTENSION}")
# A channel as CoreShowChannels names it: PJSIP/1001-00000008, PJSIP/citizen-trunk-00000007, Local/…;1
CHANNEL = re.compile(r"(PJSIP|Local)/[A-Za-z0-9._@+;-]{1,80}")
# A member's name or a pause reason: any printable text (Persian included), no control characters.
TEXT = re.compile(r"[^\x00-\x1f\x7f]{0,80}")
DIGITS = re.compile("[0-9]{1,9}")
TRUE_FALSE = frozenset({"true", "false"})
ATTEMPT = re.compile(f"{Variable.VERIFY_ATTEMPT}=[0-9]{{1,12}}")
# A unit's name as the directory stores it (db.models.Unit.name): printable text, at most 200 characters.
UNIT_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


@dataclass(frozen=True)
class Shape:
    """One form of an action: fields that must be there, fields that may be, each with its rule."""

    required: Mapping[str, Rule]
    optional: Mapping[str, Rule] = field(default_factory=dict)

    def problem(self, fields: Mapping[str, str]) -> str | None:
        """None when ``fields`` has this shape, else why not (field names only)."""
        missing = sorted(set(self.required) - set(fields))
        if missing:
            return f"missing field(s) {', '.join(missing)}"
        unknown = sorted(set(fields) - set(self.required) - set(self.optional))
        if unknown:
            return f"field(s) not allowed: {', '.join(_printable(name) for name in unknown)}"
        for name, value in fields.items():
            rule = self.required.get(name) or self.optional[name]
            allowed = value in rule if isinstance(rule, frozenset) else rule.fullmatch(value) is not None
            if not allowed:
                return f"field {name} has a value outside its allowed form"
        return None


def _one_of(*values: str) -> frozenset[str]:
    return frozenset(values)


_QUEUE = frozenset(QUEUES)
ALLOWED: dict[str, tuple[Shape, ...]] = {
    "QueueAdd": (Shape({"Queue": _QUEUE, "Interface": PHONE_INTERFACE, "MemberName": TEXT,
                        "StateInterface": PHONE_INTERFACE, "Paused": TRUE_FALSE}),),
    "QueuePause": (Shape({"Queue": _QUEUE, "Interface": PHONE_INTERFACE, "Paused": TRUE_FALSE},
                         optional={"Reason": TEXT}),),
    "QueueRemove": (Shape({"Queue": _QUEUE, "Interface": PHONE_INTERFACE}),),
    "CoreShowChannels": (Shape({}),),
    "Hangup": (Shape({"Channel": CHANNEL, "Cause": DIGITS}),),
    # Blind transfer: only into our transfer context, to a queue of ours or a staff extension.
    "Redirect": (Shape({"Channel": CHANNEL, "Context": _one_of(Context.TRANSFER),
                        "Exten": re.compile(f"{_EXTENSION}|{'|'.join(map(re.escape, QUEUES))}"),
                        "Priority": _one_of("1")}),),
    # Hold: the MUTEAUDIO function on the citizen's channel, and no other variable.
    "Setvar": (Shape({"Channel": CHANNEL, "Variable": _one_of(MUTE_FUNCTION), "Value": _one_of("on", "off")}),),
    # The line counts the dialer and click-to-call check before dialing, and no other expression.
    "Getvar": (Shape({"Variable": _one_of(group_count(Group.OUTBOUND), group_count(Group.INBOUND),
                                          *(f"QUEUE_WAITING_COUNT({queue})" for queue in QUEUES))}),),
    "Originate": (
        # Listen / whisper / barge: the supervisor's phone runs ChanSpy on an operator's phone, nothing else.
        Shape({"Channel": PHONE_INTERFACE, "Application": _one_of("ChanSpy"),
               "Data": re.compile(f"PJSIP/{_EXTENSION}-,({'|'.join(SPY_OPTIONS.values())})"),
               "CallerID": re.compile(f"Pasokh <{_EXTENSION}>"), "Timeout": DIGITS, "Async": _one_of("true")}),
        # A supervisor's verification call: their phone, then the citizen through our verification context.
        Shape({"Channel": PHONE_INTERFACE, "Context": _one_of(Context.VERIFY), "Exten": re.compile(_NUMBER),
               "Priority": _one_of("1"), "CallerID": re.compile(f"[0-9]{{1,12}} <{_NUMBER}>"), "Timeout": DIGITS,
               "Variable": ATTEMPT, "Async": _one_of("true")}),
        # The automatic verification call: a Local channel into the same context, answered by our FastAGI.
        Shape({"Channel": re.compile(f"Local/{_NUMBER}@{Context.VERIFY}"),
               "Context": _one_of(Context.VERIFY_AUTOMATIC), "Exten": _one_of("s"), "Priority": _one_of("1"),
               "Timeout": DIGITS, "Variable": ATTEMPT, "Async": _one_of("true")}),
    ),
    # The admin page's phone changes: re-read pjsip.conf, no other module (sent by the telephony process after an
    # ApplyPhoneChanges command; admitted like every action AsteriskActions sends).
    "Reload": (Shape({"Module": _one_of(PJSIP_MODULE)}),),
}


# The admin pages' changes to Asterisk's files and prompts: pjsip.conf from the staff table (nothing to choose),
# and the spoken name of a unit (text that is only read aloud; its file is named by a hash of it, never by it).
COMMANDS: dict[str, tuple[Shape, ...]] = {
    APPLY_PHONE_CHANGES: (Shape({}),),
    RENDER_UNIT_NAME_PROMPT: (Shape({"UnitName": UNIT_NAME}),),
}


def checked_action(action: object) -> dict[str, str]:
    """``action`` itself when it is an allowed action of an allowed shape; else :class:`AmiActionRefused`."""
    return _checked(action, name_field="Action", allowed=ALLOWED, kind="action")


def checked_command(command: object) -> dict[str, str]:
    """``command`` itself when it is an allowed provisioning command of an allowed shape; else
    :class:`AmiActionRefused`."""
    return _checked(command, name_field="Command", allowed=COMMANDS, kind="command")


def _checked(request: object, *, name_field: str, allowed: Mapping[str, tuple[Shape, ...]],
             kind: str) -> dict[str, str]:
    if not isinstance(request, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in request.items()):
        raise AmiActionRefused("not a mapping of text fields")
    if any(_has_control(text) for pair in request.items() for text in pair):
        raise AmiActionRefused("a field holds a line break or another control character",
                               action=_printable(request.get(name_field, "")))
    name = request.get(name_field, "")
    shapes = allowed.get(name)
    if shapes is None:
        raise AmiActionRefused(f"{kind} not on the relay's allowlist", action=_printable(name))
    fields = {key: value for key, value in request.items() if key != name_field}
    problems = [shape.problem(fields) for shape in shapes]
    if None not in problems:
        raise AmiActionRefused("; ".join(p for p in problems if p), action=name)
    return request


def _has_control(text: str) -> bool:
    return any(ord(char) < 0x20 or ord(char) == 0x7F for char in text)


def _printable(text: str) -> str:
    """A name from the request, safe to log (escaped, short)."""
    return ascii(text[:40])
