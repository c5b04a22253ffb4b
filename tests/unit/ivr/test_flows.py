"""The line flows, driven by a scripted channel instead of Asterisk."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest

from callcenter.intake.routing import RoutingPolicy
from callcenter.platform.metrics import Metrics
from callcenter.telephony.recordings import RecordingStore
from callcenter.tickets.store import DatabaseTicketDirectory, TicketSummary
from callcenter.tickets.tracking_code import is_valid, verhoeff_check_digit
from db.engine import make_engine
from db.models import TicketStatus
from ivr.agi_server import AgiServer, CallerHungUp
from ivr.flows import ALL_DIGITS, MAX_TRIES, Flows, Prompts
from ivr.menu import Menu
from ivr.operator_access import OperatorAccess, VoiceMessageLimits
from ivr.prompt_catalog import PROMPTS
from ivr.prompts import unit_prompt_key
from ivr.speech import say_jalali_date, say_tracking_code
from tests.support.backend import free_port
from tests.support.scripted_channel import (
    NO_DIGIT,
    SOUNDS,
    TIMEOUT,
    FakeDirectory,
    FakeRequests,
    FixedQueueState,
    OpenHours,
    ScriptedChannel,
    digit,
    played,
)

CODE = "123456784"  # body 12345678, Verhoeff check digit 4
assert is_valid(CODE)
TICKET = TicketSummary(tracking_code=CODE, status="registered", unit_name="منطقه یک",
                       last_change=datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
READOUT = [
    "status_of_request", *say_tracking_code(CODE), "status_registered", "responsible_unit",
    unit_prompt_key("منطقه یک"), "last_change_on", *say_jalali_date(TICKET.last_change), "status_options",
]


def build_flows(*, queue: FixedQueueState, requests: FakeRequests, hours: OpenHours, recordings: Path) -> Flows:
    menu = Menu(Prompts(sounds_dir=SOUNDS))
    operators = OperatorAccess(
        menu=menu, routing=RoutingPolicy(hours=hours, max_wait_seconds=120), queue_state=queue,
        requests=requests, recordings=RecordingStore(host_dir=recordings, asterisk_dir=PurePosixPath("/rec")),
        limits=VoiceMessageLimits(),
    )
    return Flows(menu=menu, tickets=FakeDirectory(("09120000000", TICKET)), operators=operators)


@pytest.fixture
def flows(tmp_path: Path) -> Flows:
    return build_flows(queue=FixedQueueState(), requests=FakeRequests(), hours=OpenHours(), recordings=tmp_path)


async def test_given_1_pressed_during_the_greeting_when_line_137_runs_then_the_caller_is_queued_without_asking(
    flows: Flows,
) -> None:
    channel = ScriptedChannel(stream_file=[digit("1"), NO_DIGIT])
    await flows.line_137(channel)
    assert channel.commands == [
        ("STREAM FILE", "/snd/fa/welcome_137", ALL_DIGITS),
        ("STREAM FILE", "/snd/fa/connecting_to_operator", ""),
        ("SET VARIABLE", "PASOKH_NEXT", "queue"),
    ]


async def test_given_no_digit_ever_when_line_137_runs_then_the_menu_is_offered_three_times_and_still_queues(
    flows: Flows,
) -> None:
    channel = ScriptedChannel(stream_file=[NO_DIGIT] * 20, wait_for_digit=[TIMEOUT] * MAX_TRIES)
    await flows.line_137(channel)
    assert played(channel) == [
        "welcome_137", "menu_137", "invalid_choice", "menu_137", "invalid_choice", "menu_137",
        "connecting_to_operator",
    ]
    assert channel.variables == {"PASOKH_NEXT": "queue"}


async def test_given_0_pressed_in_the_menu_when_line_137_runs_then_straight_to_an_operator(flows: Flows) -> None:
    channel = ScriptedChannel(stream_file=[NO_DIGIT, digit("0"), NO_DIGIT])
    await flows.line_137(channel)
    assert played(channel) == ["welcome_137", "menu_137", "connecting_to_operator"]
    assert channel.variables == {"PASOKH_NEXT": "queue"}


async def test_given_2_and_a_valid_code_when_line_137_runs_then_status_unit_and_date_are_read_then_goodbye(
    flows: Flows,
) -> None:
    channel = ScriptedChannel(stream_file=[digit("2")] + [NO_DIGIT] * 40, get_data=[(CODE, "")],
                              wait_for_digit=[TIMEOUT])
    await flows.line_137(channel)
    assert played(channel) == ["welcome_137", "enter_tracking_code", *READOUT, "goodbye"]
    assert channel.variables == {"PASOKH_NEXT": "hangup"}


async def test_given_the_status_was_read_when_caller_presses_1_then_it_is_read_again(flows: Flows) -> None:
    channel = ScriptedChannel(stream_file=[digit("2")] + [NO_DIGIT] * 80, get_data=[(CODE, "")],
                              wait_for_digit=[digit("1"), TIMEOUT])
    await flows.line_137(channel)
    assert played(channel) == ["welcome_137", "enter_tracking_code", *READOUT, *READOUT, "goodbye"]


@pytest.mark.parametrize("entered", ["123456781", "*", "111111111111", "12345"])
async def test_given_wrong_codes_three_times_when_asked_for_status_then_the_caller_reaches_an_operator(
    flows: Flows, entered: str
) -> None:
    channel = ScriptedChannel(stream_file=[digit("2")] + [NO_DIGIT] * 10, get_data=[(entered, "")] * MAX_TRIES)
    await flows.line_137(channel)
    assert played(channel).count("invalid_tracking_code") == MAX_TRIES
    assert "status_of_request" not in played(channel)
    assert channel.variables == {"PASOKH_NEXT": "queue"}


async def test_given_a_valid_but_unknown_code_when_asked_for_status_then_not_found_is_said(flows: Flows) -> None:
    unknown = "12345670" + verhoeff_check_digit("12345670")
    channel = ScriptedChannel(stream_file=[digit("2")] + [NO_DIGIT] * 80, get_data=[(unknown, ""), (CODE, "")],
                              wait_for_digit=[TIMEOUT])
    await flows.line_137(channel)
    assert played(channel)[:4] == ["welcome_137", "enter_tracking_code", "tracking_code_not_found",
                                   "enter_tracking_code"]
    assert channel.variables == {"PASOKH_NEXT": "hangup"}


async def test_given_a_returning_caller_with_an_open_ticket_when_1_pressed_then_its_status_is_read(
    flows: Flows,
) -> None:
    channel = ScriptedChannel(stream_file=[NO_DIGIT] * 60, wait_for_digit=[digit("1"), TIMEOUT])
    channel.caller = "09120000000"
    await flows.line_137(channel)
    offer = ["welcome_137", "you_have_open_request", *say_tracking_code(CODE), "press_1_for_status"]
    assert played(channel) == [*offer, *READOUT, "goodbye"]


async def test_given_a_returning_caller_who_ignores_the_offer_then_the_menu_follows_without_a_second_welcome(
    flows: Flows,
) -> None:
    script = [NO_DIGIT] * (3 + len(say_tracking_code(CODE))) + [digit("1"), NO_DIGIT]
    channel = ScriptedChannel(stream_file=script, wait_for_digit=[TIMEOUT])
    channel.caller = "09120000000"
    await flows.line_137(channel)
    assert played(channel).count("welcome_137") == 1
    assert played(channel)[-2:] == ["menu_137", "connecting_to_operator"]


def test_every_ticket_status_has_a_prompt_to_read_it() -> None:
    assert all(f"status_{status.value}" in PROMPTS for status in TicketStatus)


async def test_given_criticism_about_a_staff_member_not_anonymous_when_1888_runs_then_choices_go_on_the_channel(
    flows: Flows,
) -> None:
    channel = ScriptedChannel(stream_file=[digit("1"), digit("2"), NO_DIGIT], get_data=[("4711", "")])
    await flows.line_1888(channel)
    assert played(channel) == ["welcome_1888", "enter_personnel_code", "anonymity_1888", "connecting_to_operator"]
    assert channel.variables == {"PASOKH_FEEDBACK_KIND": "criticism", "PASOKH_PERSONNEL_CODE": "4711",
                                 "PASOKH_NEXT": "queue"}


async def test_given_appreciation_skipping_the_code_and_anonymous_when_1888_runs_then_no_code_and_anonymous(
    flows: Flows,
) -> None:
    channel = ScriptedChannel(stream_file=[digit("3"), digit("1"), NO_DIGIT], get_data=[("", "")])
    await flows.line_1888(channel)
    assert channel.variables == {"PASOKH_FEEDBACK_KIND": "appreciation", "PASOKH_ANONYMOUS": "1",
                                 "CALLERID(all)": "Anonymous <anonymous>", "CALLERID(pres)": "prohib",
                                 "PASOKH_NEXT": "queue"}


async def test_given_a_caller_choosing_anonymity_when_1888_runs_then_the_caller_id_is_withheld_before_the_next_prompt(
    flows: Flows,
) -> None:
    # 1 criticism, # skips the code, 1 anonymous; then gone while "connecting" plays.
    channel = ScriptedChannel(stream_file=[digit("1"), digit("1")], get_data=[("", "")])
    channel.hang_up_on_prompt("connecting_to_operator")
    with pytest.raises(CallerHungUp):
        await flows.line_1888(channel)
    sets = [c[1:] for c in channel.named("SET VARIABLE")]
    assert sets == [("PASOKH_FEEDBACK_KIND", "criticism"), ("PASOKH_ANONYMOUS", "1"),
                    ("CALLERID(all)", "Anonymous <anonymous>"), ("CALLERID(pres)", "prohib")]
    assert channel.commands.index(("SET VARIABLE", "CALLERID(pres)", "prohib")) < next(
        i for i, c in enumerate(channel.commands) if c[0] == "STREAM FILE" and c[1].endswith("/connecting_to_operator"))


@pytest.mark.parametrize("entered", ["12345678901", "12*4"])
async def test_given_a_bad_personnel_code_when_1888_runs_then_it_is_asked_again(flows: Flows, entered: str) -> None:
    channel = ScriptedChannel(stream_file=[digit("2"), NO_DIGIT, digit("2"), NO_DIGIT],
                              get_data=[(entered, ""), ("815", "")])
    await flows.line_1888(channel)
    assert played(channel)[:4] == ["welcome_1888", "enter_personnel_code", "invalid_personnel_code",
                                   "enter_personnel_code"]
    assert channel.variables["PASOKH_PERSONNEL_CODE"] == "815"


async def test_given_0_in_the_1888_menu_then_an_operator_without_choices(flows: Flows) -> None:
    channel = ScriptedChannel(stream_file=[digit("0"), NO_DIGIT])
    await flows.line_1888(channel)
    assert played(channel) == ["welcome_1888", "connecting_to_operator"]
    assert channel.variables == {"PASOKH_NEXT": "queue"}


def test_given_a_known_prompt_key_when_asking_its_path_then_it_is_under_the_sounds_dir_without_extension() -> None:
    assert Prompts(sounds_dir=SOUNDS).path("welcome_137") == "/snd/fa/welcome_137"


def test_given_an_unknown_prompt_key_when_asking_its_path_then_key_error_is_raised() -> None:
    assert "no_such_prompt" not in PROMPTS
    with pytest.raises(KeyError):
        Prompts(sounds_dir=SOUNDS).path("no_such_prompt")


def test_given_an_agi_server_when_registering_the_flows_then_both_lines_get_a_route(flows: Flows) -> None:
    server = AgiServer(metrics=Metrics())
    flows.register(server)
    with pytest.raises(ValueError):
        flows.register(server)
    with pytest.raises(ValueError):
        server.add_route("line1888", flows.line_1888)


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A PostgreSQL address that accepts connections and never answers, as a database whose machine hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"postgresql://postgres@127.0.0.1:{listener.getsockname()[1]}/pasokh"


def flows_on(directory: DatabaseTicketDirectory, tmp_path: Path) -> Flows:
    built = build_flows(queue=FixedQueueState(), requests=FakeRequests(), hours=OpenHours(), recordings=tmp_path)
    return Flows(menu=built.menu, tickets=directory, operators=built.operators, lookup_seconds=0.2)


async def test_given_the_database_refusing_when_line_137_runs_then_the_menu_is_offered_and_the_caller_queued(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/pasokh")  # nothing listens there
    flows = flows_on(DatabaseTicketDirectory(engine=engine), tmp_path)
    channel = ScriptedChannel(stream_file=[NO_DIGIT, digit("1"), NO_DIGIT])
    await flows.line_137(channel)
    assert played(channel) == ["welcome_137", "menu_137", "connecting_to_operator"]
    assert channel.variables == {"PASOKH_NEXT": "queue"}


async def test_given_a_database_that_never_answers_when_a_caller_asks_a_status_then_they_reach_an_operator(
    silent_database: str, tmp_path: Path,
) -> None:
    flows = flows_on(DatabaseTicketDirectory(engine=make_engine(silent_database)), tmp_path)
    channel = ScriptedChannel(stream_file=[NO_DIGIT, digit("2")] + [NO_DIGIT] * 10, get_data=[(CODE, "")])
    await flows.line_137(channel)  # neither lookup waits for the database's own timeout
    assert played(channel) == ["welcome_137", "menu_137", "enter_tracking_code", "connecting_to_operator"]
    assert channel.variables == {"PASOKH_NEXT": "queue"}
