"""The 137 voice menu driven by real calls (sipp, RFC 4733 DTMF) into real Asterisk: what the citizen hears
is read from Asterisk's own AGI events, in order."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session

from db.models import Unit
from ivr.prompts import unit_prompt_key
from ivr.speech import say_jalali_date, say_tracking_code
from tests.support.ami import AmiObserver, contains_run, heard, queued
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, RunningBackend, earlier_ticket
from tests.support.console import operator_in_queue
from tests.support.sipp import Sipp


def file_ticket(backend: RunningBackend, caller: str) -> tuple[str, list[str]]:
    """A ticket for ``caller``; returns its code and the prompts its status read-out must be made of."""
    ticket = earlier_ticket(backend.engine, caller=caller, description="تیر چراغ برق کج شده")
    with Session(backend.engine) as session:
        unit = session.get(Unit, ticket.unit_id)
        assert unit is not None
        unit_name = unit.name
    readout = ["status_of_request", *say_tracking_code(ticket.tracking_code), "status_registered",
               "responsible_unit", unit_prompt_key(unit_name), "last_change_on",
               *say_jalali_date(ticket.created_at), "status_options"]
    return ticket.tracking_code, readout


# Menu behaviour does not depend on the database kind; these long calls run once, on SQLite.
menu_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_given_a_ticket_when_citizen_presses_2_and_types_its_code_then_status_unit_and_date_are_read(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver
) -> None:
    code, readout = file_ticket(backend, caller="09170000001")
    caller = "09170000002"  # someone else asks about it: no returning-caller offer

    result = await sipp.citizen_calls(caller=caller, digits=f"2{code}#", hold_ms=90000, local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    played = heard(ami_observer, caller)
    assert played[:2] == ["welcome_137", "enter_tracking_code"]
    assert contains_run(played, readout), played
    assert played[-1] == "goodbye"
    assert not queued(ami_observer, caller)


@menu_only
async def test_given_an_open_ticket_when_its_caller_calls_again_then_offered_its_status_first(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver
) -> None:
    caller = "09170000003"
    _code, readout = file_ticket(backend, caller=caller)

    result = await sipp.citizen_calls(caller=caller, digits="1", dtmf_delay_ms=9000, hold_ms=90000,
                                      local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    played = heard(ami_observer, caller)
    # 1 pressed 9 s in interrupts the offer (welcome, "you have an open request", its code, "press 1")
    assert played[:2] == ["welcome_137", "you_have_open_request"], played
    assert contains_run(played, readout), played
    assert "menu_137" not in played


@menu_only
async def test_given_wrong_check_digit_then_garbage_then_too_many_digits_then_the_caller_reaches_an_operator(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, operator_phones: object
) -> None:
    code, _ = file_ticket(backend, caller="09170000004")
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    caller = "09170000005"
    digits = f"2{wrong}#" + "*#*#" + "1" * 30

    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
        result = await sipp.citizen_calls(caller=caller, digits=digits, hold_ms=45000, local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    played = heard(ami_observer, caller)
    assert "invalid_tracking_code" in played
    assert "status_of_request" not in played
    await asyncio.sleep(0.5)
    assert queued(ami_observer, caller)


@menu_only
async def test_given_silence_everywhere_when_citizen_calls_137_then_after_three_prompts_an_operator_queue(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, operator_phones: object
) -> None:
    caller = "09170000006"
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
        result = await sipp.citizen_calls(caller=caller, digits="", hold_ms=75000, local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    played = heard(ami_observer, caller)
    assert played.count("menu_137") == 3
    assert played[-1] == "connecting_to_operator"
    assert queued(ami_observer, caller)
