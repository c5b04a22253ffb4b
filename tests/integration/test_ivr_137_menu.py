"""The 137 voice menu driven by real calls (sipp, RFC 4733 DTMF) into real Asterisk: what the citizen hears
is read from Asterisk's own AGI events, in order."""

from __future__ import annotations

import asyncio

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


# Each menu path is a long real call (the read-outs are many prompts); one call per test in a row cost the suite
# over six minutes on one worker, so the four citizens call at once, each from their own port, and each path is
# judged on its own caller's prompts. The status read-out reads the database, so this runs on both kinds.
STATUS_PORT, RETURNING_PORT, WRONG_CODE_PORT, SILENT_PORT = (CITIZENS_PORT + offset for offset in (0, 10, 14, 18))


async def test_given_four_citizens_calling_137_at_once_then_each_hears_the_path_their_keys_chose(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, operator_phones: object
) -> None:
    asked_code, readout = file_ticket(backend, caller="09170000001")
    _own_code, own_readout = file_ticket(backend, caller="09170000003")
    wrong_code, _ = file_ticket(backend, caller="09170000004")
    wrong = wrong_code[:-1] + str((int(wrong_code[-1]) + 1) % 10)

    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
        results = await asyncio.gather(
            # someone else asks about the first ticket: no returning-caller offer
            sipp.citizen_calls(caller="09170000002", digits=f"2{asked_code}#", hold_ms=90000,
                               local_port=STATUS_PORT),
            # the second ticket's own caller; 1 pressed 9 s in interrupts the offer
            sipp.citizen_calls(caller="09170000003", digits="1", dtmf_delay_ms=9000, hold_ms=90000,
                               local_port=RETURNING_PORT),
            sipp.citizen_calls(caller="09170000005", digits=f"2{wrong}#" + "*#*#" + "1" * 30, hold_ms=45000,
                               local_port=WRONG_CODE_PORT),
            sipp.citizen_calls(caller="09170000006", digits="", hold_ms=75000, local_port=SILENT_PORT),
        )
    await asyncio.sleep(0.5)

    for result in results:
        assert result.failed == 0, result.output[-2000:]
    status_code_typed_then_status_unit_and_date_are_read(ami_observer, "09170000002", readout)
    returning_caller_is_offered_their_open_ticket_first(ami_observer, "09170000003", own_readout)
    wrong_check_digit_then_garbage_then_too_many_digits_reach_an_operator(ami_observer, "09170000005")
    silence_everywhere_reaches_an_operator_after_three_menus(ami_observer, "09170000006")


def status_code_typed_then_status_unit_and_date_are_read(observer: AmiObserver, caller: str,
                                                         readout: list[str]) -> None:
    played = heard(observer, caller)
    assert played[:2] == ["welcome_137", "enter_tracking_code"], played
    assert contains_run(played, readout), played
    assert played[-1] == "goodbye", played
    assert not queued(observer, caller)


def returning_caller_is_offered_their_open_ticket_first(observer: AmiObserver, caller: str,
                                                        readout: list[str]) -> None:
    played = heard(observer, caller)
    # welcome, "you have an open request", its code, "press 1"; the 1 interrupts it
    assert played[:2] == ["welcome_137", "you_have_open_request"], played
    assert contains_run(played, readout), played
    assert "menu_137" not in played, played


def wrong_check_digit_then_garbage_then_too_many_digits_reach_an_operator(observer: AmiObserver,
                                                                          caller: str) -> None:
    played = heard(observer, caller)
    assert "invalid_tracking_code" in played, played
    assert "status_of_request" not in played, played
    assert queued(observer, caller)


def silence_everywhere_reaches_an_operator_after_three_menus(observer: AmiObserver, caller: str) -> None:
    played = heard(observer, caller)
    assert played.count("menu_137") == 3, played
    assert played[-1] == "connecting_to_operator", played
    assert queued(observer, caller)
