"""Masking a citizen's number for onlookers; whose number may be announced at all."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from callcenter.platform.privacy import (
    AccessLogWithoutCitizens,
    call_as_announced,
    loggable_path,
    masked_number,
    may_show_caller_number,
)
from db.models import CallOutcome, CallPublic


@pytest.mark.parametrize(("number", "shown"), [
    ("09121234567", "***4567"), ("+989121234567", "***4567"), ("4567", "***"), ("12", "***"), ("", ""),
    (None, None),
])
def test_given_a_number_when_masked_then_only_its_last_four_digits_remain(number: str | None,
                                                                          shown: str | None) -> None:
    assert masked_number(number) == shown


def a_call(**fields: object) -> CallPublic:
    values: dict[str, object] = {"id": 1, "linkedid": "1700000000.1", "line": "1888", "caller_number": "09121234567",
                                 "started_at": datetime(2026, 12, 1, tzinfo=UTC), "queued_at": None,
                                 "answered_at": None, "ended_at": None, "operator_extension": None,
                                 "outcome": CallOutcome.IN_PROGRESS}
    return CallPublic.model_validate({**values, **fields})


QUEUED = datetime(2026, 12, 1, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(("fields", "shown"), [
    ({"line": "137"}, True),
    ({"line": "137", "anonymous": True}, False),
    ({}, False),  # 1888, still in the menu: not decided yet
    ({"queued_at": QUEUED}, True),  # 1888, chose to be named and waits for an operator
    ({"queued_at": QUEUED, "anonymous": True}, False),
])
def test_given_a_call_when_announced_then_its_number_only_where_the_caller_allows(
    fields: dict[str, object], shown: bool,
) -> None:
    call = a_call(**fields)
    assert may_show_caller_number(call) is shown
    assert call_as_announced(call).caller_number == ("09121234567" if shown else "")
    assert call_as_announced(call).model_dump(exclude={"caller_number"}) == call.model_dump(exclude={"caller_number"})


def test_given_uvicorns_access_line_when_filtered_then_no_address_query_or_link_secret_remains() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("203.0.113.9:51234", "GET", "/citizen/s/123456784/AbCdEfGh12345678?x=1", "1.1", 200),
                               None)
    assert AccessLogWithoutCitizens().filter(record)
    line = record.getMessage()
    assert "203.0.113.9" not in line and "AbCdEfGh" not in line and "123456784" not in line
    assert line == '- - "GET /citizen/s/… HTTP/1.1" 200'


def test_given_a_query_with_a_tracking_code_when_logged_then_only_the_path_is_kept() -> None:
    assert loggable_path("/citizen/track?code=123456784&digits=4567") == "/citizen/track"
    assert loggable_path("/citizen/feedback") == "/citizen/feedback"


def test_given_a_complaint_draft_step_when_logged_then_the_draft_id_is_not_kept() -> None:
    assert loggable_path("/complaints/new/AbCdEfGhIjKlMnOpQrStUvWxYz012345/identity") == "/complaints/new/…"
