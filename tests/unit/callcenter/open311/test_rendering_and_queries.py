"""Open311's pure parts: XML and JSON from the same values, the spec's error array, the GET filters and W3C dates,
and every ticket status mapped to open/closed with a public note."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from callcenter.open311.rendering import Format, errors_body, render
from callcenter.open311.service_requests import (
    MAX_RANGE,
    STATUS_NOTES,
    new_token,
    open_or_closed,
    parse_query,
    parse_w3c,
    w3c,
)
from callcenter.platform.errors import InvalidApiKey, RateLimited, ValidationFailed
from callcenter.tickets.lifecycle import FINAL_STATUSES
from db.models import TicketStatus

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DEFINITION = {"service_code": "7", "attributes": [{"code": "district", "required": False, "order": 1,
                                                   "values": [{"key": "4", "name": "منطقه یک"}]}]}


def test_given_a_definition_when_rendered_as_xml_then_lists_become_the_specs_singular_elements() -> None:
    document = render(DEFINITION, root="service_definition", fmt=Format.XML)
    assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ElementTree.fromstring(document)
    assert root.tag == "service_definition"
    assert root.findtext("attributes/attribute/code") == "district"
    assert root.findtext("attributes/attribute/required") == "false"
    assert root.findtext("attributes/attribute/values/value/name") == "منطقه یک"


def test_given_the_same_values_when_rendered_as_json_then_they_read_back_unchanged() -> None:
    assert json.loads(render(DEFINITION, root="service_definition", fmt=Format.JSON)) == DEFINITION


def test_given_an_empty_value_and_markup_in_text_when_rendered_as_xml_then_empty_and_escaped() -> None:
    root = ElementTree.fromstring(render([{"lat": None, "description": "<b>&"}], root="service_requests",
                                         fmt=Format.XML))
    assert root.findtext("request/lat") == "" and root.findtext("request/description") == "<b>&"


@pytest.mark.parametrize(("error", "code"), [(ValidationFailed("نادرست"), 400), (InvalidApiKey(), 403),
                                             (RateLimited(retry_after=5), 429)])
def test_given_an_error_when_rendered_then_the_specs_code_and_a_persian_description(
    error: ValidationFailed, code: int,
) -> None:
    assert errors_body(error) == [{"code": code, "description": error.staff_message}]
    root = ElementTree.fromstring(render(errors_body(error), root="errors", fmt=Format.XML))
    assert root.findtext("error/code") == str(code)


def test_given_every_status_then_final_ones_are_closed_the_rest_open_and_each_has_a_public_note() -> None:
    assert {status for status in TicketStatus if open_or_closed(status) == "closed"} == FINAL_STATUSES
    assert set(STATUS_NOTES) == set(TicketStatus) and all(STATUS_NOTES.values())


def test_given_no_dates_when_requests_are_queried_then_the_last_ninety_days() -> None:
    query = parse_query({}, now=NOW)
    assert (query.start, query.end) == (NOW - MAX_RANGE, NOW)


def test_given_ids_when_queried_then_they_override_the_other_filters() -> None:
    query = parse_query({"service_request_id": "123456784, 111", "status": "bogus"}, now=NOW)
    assert query.ids == ("123456784", "111") and query.statuses == ()


def test_given_a_start_date_only_when_queried_then_ninety_days_from_it() -> None:
    query = parse_query({"start_date": "2026-01-01", "status": "open,closed"}, now=NOW)
    assert query.start == datetime(2026, 1, 1, tzinfo=UTC) and query.end == query.start + MAX_RANGE
    assert query.statuses == ("open", "closed")


@pytest.mark.parametrize("params", [{"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"},
                                    {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
                                    {"end_date": "2026-01-01T10:00:00"}, {"start_date": "01/02/2026"},
                                    {"status": "pending"}])
def test_given_a_bad_filter_when_queried_then_refused(params: dict[str, str]) -> None:
    with pytest.raises(ValidationFailed):
        parse_query(params, now=NOW)


def test_given_an_offset_when_a_w3c_time_is_read_and_written_then_the_same_instant_in_utc() -> None:
    moment = parse_w3c("2026-03-20T10:00:00+03:30", field="start_date")
    assert w3c(moment) == "2026-03-20T06:30:00Z" and moment - timedelta(hours=6, minutes=30) == datetime(
        2026, 3, 20, tzinfo=UTC)


def test_given_an_idempotency_key_then_the_token_is_per_api_key_and_a_bad_one_is_refused() -> None:
    assert new_token(7, "report-42") == "k7-report-42" != new_token(8, "report-42")
    assert new_token(7, None) != new_token(7, None)
    with pytest.raises(ValidationFailed):
        new_token(7, "has:colon")
