"""Open311 GeoReport v2 against the running backend: the `georeport` client from PyPI reads services, definitions
and requests in JSON and XML; a request is posted form-encoded as the spec's example shows (plain httpx), its token
resolved and read back by id; XML carries the spec's element names; no citizen's number is ever read back; keys are
refused once revoked and beyond their limit, and reading is limited per address."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from urllib.parse import quote
from xml.etree import ElementTree

import httpx
import pytest
import sqlalchemy as sa
import websockets
from fastapi.testclient import TestClient
from georeport import GeoReport
from sqlmodel import col, select

from callcenter.bootstrap.app import create_app
from callcenter.open311.keys import issue_key, revoke_key
from callcenter.platform.settings import load_settings
from callcenter.tickets.store import create_ticket
from db.engine import unit_of_work
from db.models import (
    Category,
    CategoryDistrictUnit,
    Line,
    Open311ApiKey,
    Role,
    Ticket,
    TicketCreate,
    TicketSource,
    Unit,
    UnitKind,
    User,
    utcnow,
)
from tests.support.backend import OPERATOR_1, TEST_SECRETS
from tests.support.console import logged_in_client, next_event
from tests.support.fixtures import WebBackend

JURISDICTION = "qazvin.ir"
PHONE_AS_TYPED = "+98 912 345 6789"
PHONE_STORED = "09123456789"
EMAIL = "citizen@example.org"
FORMATS = ["json", "xml"]


def new_key(engine: sa.Engine, *, per_minute: int = 100, name: str = "برنامهٔ شهر من") -> str:
    with unit_of_work(engine) as session:
        admin = session.exec(select(User).where(User.role == Role.ADMIN)).first()
        if admin is None:
            admin = User(username="open311.admin", full_name="مدیر", role=Role.ADMIN, password_hash="-")
            session.add(admin)
            session.flush()
        return issue_key(session, name=name, requests_per_minute=per_minute, by=admin, now=utcnow()).secret


def a_service_and_district(engine: sa.Engine) -> tuple[Category, Unit, str]:
    """A 137 category, a district, and the unit the routing table sends that category there (an override of its
    own, so the answer's agency proves the routing table chose it)."""
    with unit_of_work(engine) as session:
        category = session.exec(select(Category).where(Category.line == Line.SERVICES)
                                .order_by(col(Category.id))).first()
        district = session.exec(select(Unit).where(Unit.kind == UnitKind.DISTRICT).order_by(col(Unit.id))).first()
        assert category is not None and district is not None
        override = session.exec(select(CategoryDistrictUnit).where(
            CategoryDistrictUnit.category_id == category.id,
            CategoryDistrictUnit.district_id == district.id)).first()
        unit_id = override.unit_id if override else district.id
        if override is None:
            session.add(CategoryDistrictUnit(category_id=category.id, district_id=district.id, unit_id=unit_id))
        unit = session.get(Unit, unit_id)
        assert unit is not None
        return category, district, unit.name


def spec_form(key: str, category: Category, district: Unit) -> str:
    """The body exactly as the spec's example writes it: every field, ``attribute[CODE]`` brackets unescaped."""
    fields = [("api_key", key), ("jurisdiction_id", JURISDICTION), ("service_code", str(category.id)),
              ("lat", "36.2688"), ("long", "50.0041"), ("address_string", "خیابان فردوسی، کوچهٔ ۱۲"),
              ("email", EMAIL), ("device_id", "tt222111"), ("account_id", "123456"), ("first_name", "john"),
              ("last_name", "smith"), ("phone", PHONE_AS_TYPED),
              ("description", "چالهٔ بزرگی وسط خیابان باز شده است"), ("media_url", "http://example.org/hole.jpg")]
    body = "&".join(f"{name}={quote(value, safe='').replace('%20', '+')}" for name, value in fields)
    return body + f"&attribute[district]={district.id}"


async def post_spec_request(client: httpx.AsyncClient, fmt: str, body: str, **headers: str) -> httpx.Response:
    return await client.post(f"/open311/v2/requests.{fmt}", content=body.encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded", **headers})


def posted_answer(response: httpx.Response, fmt: str) -> dict[str, str]:
    if fmt == "json":
        answer: dict[str, str] = response.json()[0]
        return answer
    root = ElementTree.fromstring(response.content)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request is not None
    return {child.tag: child.text or "" for child in request}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_given_the_georeport_client_when_it_lists_services_and_reads_a_definition_then_categories_and_districts(
    web_backend: WebBackend, fmt: str,
) -> None:
    client = GeoReport(f"{web_backend.url}/open311/v2", jurisdiction=JURISDICTION, output_format=fmt)
    listed = await asyncio.to_thread(client.get_service_list)
    with unit_of_work(web_backend.engine) as session:
        categories = session.exec(select(Category).where(Category.line == Line.SERVICES)).all()
        feedback = session.exec(select(Category).where(Category.line == Line.FEEDBACK)).all()
        districts = session.exec(select(Unit).where(Unit.kind == UnitKind.DISTRICT)).all()
    assert {(service["service_code"], service["service_name"]) for service in listed} == {
        (str(category.id), category.name) for category in categories}
    assert not {str(category.id) for category in feedback} & {service["service_code"] for service in listed}
    assert all(str(service["metadata"]).lower() == "true" for service in listed)

    definition = await asyncio.to_thread(client.get_service_definition, listed[0]["service_code"])
    attributes = definition["attributes"] if fmt == "json" else [definition["attributes"]["attribute"]]
    values = attributes[0]["values"] if fmt == "json" else attributes[0]["values"]["value"]
    assert definition["service_code"] == listed[0]["service_code"]
    assert attributes[0]["code"] == "district" and attributes[0]["datatype"] == "singlevaluelist"
    assert {(value["key"], value["name"]) for value in values} == {(str(d.id), d.name) for d in districts}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_given_a_request_posted_as_the_spec_shows_when_its_token_is_resolved_then_the_client_reads_it_by_id(
    web_backend: WebBackend, fmt: str,
) -> None:
    key = new_key(web_backend.engine)
    category, district, unit_name = a_service_and_district(web_backend.engine)
    async with httpx.AsyncClient(base_url=web_backend.url) as http:
        response = await post_spec_request(http, fmt, spec_form(key, category, district))
        assert response.status_code == 201, response.text
        posted = posted_answer(response, fmt)
        resolved = await http.get(f"/open311/v2/tokens/{posted['token']}.{fmt}")
    assert resolved.status_code == 200
    assert posted_answer(resolved, fmt) == {"service_request_id": posted["service_request_id"],
                                            "token": posted["token"]}

    client = GeoReport(f"{web_backend.url}/open311/v2", jurisdiction=JURISDICTION, output_format=fmt)
    request = await asyncio.to_thread(client.get_service_request, posted["service_request_id"])
    assert request["service_request_id"] == posted["service_request_id"]
    assert request["status"] == "open" and request["status_notes"] == "به واحد مسئول ارجاع شد."
    assert request["service_code"] == str(category.id) and request["service_name"] == category.name
    assert request["agency_responsible"] == unit_name
    assert request["description"] == "چالهٔ بزرگی وسط خیابان باز شده است"
    assert float(request["lat"]) == 36.2688 and float(request["long"]) == 50.0041
    assert request["requested_datetime"].endswith("Z")

    by_filters = await asyncio.to_thread(client.get_service_requests, service_code=str(category.id), status="open")
    by_filters = by_filters if isinstance(by_filters, list) else [by_filters]
    assert posted["service_request_id"] in {found["service_request_id"] for found in by_filters}
    closed = await asyncio.to_thread(client.get_service_requests, service_request_id=posted["service_request_id"])
    assert (closed if isinstance(closed, list) else [closed])[0]["service_request_id"] == posted["service_request_id"]

    with unit_of_work(web_backend.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.tracking_code == posted["service_request_id"])).one()
        assert ticket.source == TicketSource.OPEN311 and ticket.caller_number == PHONE_STORED
        assert ticket.district_id == district.id and ticket.created_by_id is None
        stored = " ".join(str(value) for value in ticket.model_dump().values())
    assert EMAIL not in stored and "smith" not in stored


async def test_given_an_app_retrying_with_its_idempotency_key_when_it_posts_twice_then_one_ticket(
    web_backend: WebBackend,
) -> None:
    key = new_key(web_backend.engine)
    category, district, _ = a_service_and_district(web_backend.engine)
    body = spec_form(key, category, district)
    async with httpx.AsyncClient(base_url=web_backend.url) as http:
        first = await post_spec_request(http, "json", body, **{"Idempotency-Key": "report-42"})
        again = await post_spec_request(http, "json", body, **{"Idempotency-Key": "report-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    with unit_of_work(web_backend.engine) as session:
        assert len(session.exec(select(Ticket).where(Ticket.source == TicketSource.OPEN311)).all()) == 1


async def test_given_an_operators_console_open_when_an_app_posts_twice_then_the_ticket_is_announced_once(
    web_backend: WebBackend,
) -> None:
    key = new_key(web_backend.engine)
    category, district, _ = a_service_and_district(web_backend.engine)
    body = spec_form(key, category, district)
    watcher = await logged_in_client(web_backend.url, OPERATOR_1.username, OPERATOR_1.password)
    cookie = f"pasokh_session={watcher.cookies['pasokh_session']}"
    try:
        async with websockets.connect(web_backend.url.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": cookie}) as ws, \
                httpx.AsyncClient(base_url=web_backend.url) as http:
            assert json.loads(await ws.recv())["name"] == "hello"
            first = (await post_spec_request(http, "json", body, **{"Idempotency-Key": "once"})).json()[0]
            await post_spec_request(http, "json", body, **{"Idempotency-Key": "once"})
            marker = (await post_spec_request(http, "json", body)).json()[0]
            announced = []
            while marker["service_request_id"] not in [event["tracking_code"] for event in announced]:
                announced.append((await next_event(ws, "ticket_created", timeout=10))["data"]["ticket"])
    finally:
        await watcher.aclose()
    assert [event["tracking_code"] for event in announced] == [first["service_request_id"],
                                                               marker["service_request_id"]]
    assert {event["source"] for event in announced} == {"open311"}


async def test_given_a_phoned_in_ticket_and_a_posted_one_when_every_get_is_read_then_no_number_and_no_phoned_code(
    web_backend: WebBackend,
) -> None:
    key = new_key(web_backend.engine)
    category, district, _ = a_service_and_district(web_backend.engine)
    with unit_of_work(web_backend.engine) as session:  # a phoned-in ticket too, with its caller's number
        assert category.id is not None
        phoned_code = create_ticket(session, data=TicketCreate(
            category_id=category.id, unit_id=category.default_unit_id or district.id, description="چراغ خاموش",
            address="خانهٔ من", caller_number="09351112233"), created_by=None).tracking_code
    async with httpx.AsyncClient(base_url=web_backend.url) as http:
        posted = (await post_spec_request(http, "json", spec_form(key, category, district))).json()[0]
        bodies = []
        for fmt in FORMATS:
            for path in ("discovery", "services", f"services/{category.id}", "requests",
                         f"requests/{posted['service_request_id']}", f"tokens/{posted['token']}"):
                response = await http.get(f"/open311/v2/{path}.{fmt}")
                assert response.status_code == 200, (path, fmt, response.text)
                bodies.append(response.text)
            # A phoned-in ticket is not Open311's to publish: its code opens nothing here.
            assert (await http.get(f"/open311/v2/requests/{phoned_code}.{fmt}")).status_code == 404
            listed = await http.get(f"/open311/v2/requests.{fmt}",
                                    params={"service_request_id": f"{posted['service_request_id']},{phoned_code}"})
            bodies.append(listed.text)
    assert sum(posted["service_request_id"] in body for body in bodies) == 8  # by id, token, list: both formats
    assert not [body for body in bodies if phoned_code in body]
    for number in (PHONE_STORED, PHONE_STORED[1:], "9123456789", "09351112233", "9351112233"):
        assert not [body for body in bodies if number in body], number
    assert not [body for body in bodies if EMAIL in body or "خانهٔ من" in body]


async def test_given_xml_answers_when_parsed_then_they_carry_the_specs_element_names(web_backend: WebBackend) -> None:
    key = new_key(web_backend.engine)
    category, district, _ = a_service_and_district(web_backend.engine)
    async with httpx.AsyncClient(base_url=web_backend.url) as http:
        await post_spec_request(http, "xml", spec_form(key, category, district))
        services = ElementTree.fromstring((await http.get("/open311/v2/services.xml")).content)
        requests = ElementTree.fromstring((await http.get("/open311/v2/requests.xml")).content)
        definition = ElementTree.fromstring((await http.get(f"/open311/v2/services/{category.id}.xml")).content)
        discovery = ElementTree.fromstring((await http.get("/open311/v2/discovery.xml")).content)
        missing = await http.get("/open311/v2/services/999999.xml")
        unknown = await http.get("/open311/v2/requests/123456784.json")
    assert services.tag == "services" and {child.tag for child in services} == {"service"}
    assert {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"} <= {
        field.tag for field in services[0]}
    assert requests.tag == "service_requests" and {child.tag for child in requests} == {"request"}
    assert {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
            "agency_responsible", "requested_datetime", "updated_datetime", "address", "lat", "long"} <= {
        field.tag for field in requests[0]}
    assert definition.tag == "service_definition"
    assert [element.tag for element in definition.iter("attribute")] == ["attribute"]
    assert definition.find("attributes/attribute/values/value/key") is not None
    assert discovery.tag == "discovery" and discovery.find("endpoints/endpoint/formats/format") is not None
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/xml")
    assert missing.headers["access-control-allow-origin"] == "*" == unknown.headers["access-control-allow-origin"]
    error = ElementTree.fromstring(missing.content)
    assert error.tag == "errors" and error.findtext("error/code") == "404" and error.findtext("error/description")
    assert unknown.status_code == 404 and unknown.json()[0]["code"] == 404 and unknown.json()[0]["description"]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_given_a_revoked_key_when_an_app_posts_with_it_then_403_in_the_specs_error_shape(
    web_backend: WebBackend, fmt: str,
) -> None:
    key = new_key(web_backend.engine)
    category, district, _ = a_service_and_district(web_backend.engine)
    with unit_of_work(web_backend.engine) as session:
        row = session.exec(select(Open311ApiKey)).one()
        assert row.id is not None
        revoke_key(session, key_id=row.id, now=utcnow())
    async with httpx.AsyncClient(base_url=web_backend.url) as http:
        refused = await post_spec_request(http, fmt, spec_form(key, category, district))
        unissued = await post_spec_request(http, fmt, spec_form("p311_never-issued", category, district))
        keyless = await post_spec_request(http, fmt, spec_form("", category, district))
    for response, status in ((refused, 403), (unissued, 403), (keyless, 400)):
        assert response.status_code == status
        if fmt == "json":
            assert response.json()[0]["code"] == status and response.json()[0]["description"]
        else:
            assert ElementTree.fromstring(response.content).findtext("error/code") == str(status)
    with unit_of_work(web_backend.engine) as session:
        assert session.exec(select(Ticket).where(Ticket.source == TicketSource.OPEN311)).all() == []


async def test_given_a_key_of_two_posts_a_minute_when_an_app_posts_on_then_429_with_retry_after(
    web_backend: WebBackend,
) -> None:
    key = new_key(web_backend.engine, per_minute=2)
    category, district, _ = a_service_and_district(web_backend.engine)
    statuses = []
    async with httpx.AsyncClient(base_url=web_backend.url) as http:
        # Fixed one-minute windows: five posts in a row hold three in one window, whichever minute they start in.
        for _ in range(5):
            response = await post_spec_request(http, "json", spec_form(key, category, district))
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.json()[0]["code"] == 429 and int(response.headers["Retry-After"]) >= 1
                break
    assert statuses[-1] == 429 and statuses.count(201) >= 2
    other_key = new_key(web_backend.engine, per_minute=2, name="برنامهٔ دیگر")
    async with httpx.AsyncClient(base_url=web_backend.url) as http:
        assert (await post_spec_request(http, "json", spec_form(other_key, category, district))).status_code == 201


@pytest.fixture
def reading_limited_client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             open311_reads_per_minute=3)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield client


def test_given_three_reads_a_minute_per_address_when_a_client_reads_on_then_429(
    reading_limited_client: TestClient,
) -> None:
    statuses = [reading_limited_client.get("/open311/v2/services.xml").status_code for _ in range(7)]
    assert 200 in statuses and statuses[-1] == 429
    refused = reading_limited_client.get("/open311/v2/services.xml")
    assert ElementTree.fromstring(refused.content).findtext("error/code") == "429"
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("params", [{"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
                                    {"start_date": "yesterday"}, {"status": "pending"},
                                    {"end_date": "2026-01-01T00:00:00"}, {"jurisdiction_id": "elsewhere.example"}])
def test_given_a_bad_filter_when_requests_are_listed_then_the_spec_error_names_it(
    web_client: TestClient, params: dict[str, str],
) -> None:
    response = web_client.get("/open311/v2/requests.json", params=params)
    expected = 404 if "jurisdiction_id" in params else 400
    assert response.status_code == expected and response.json()[0]["code"] == expected


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"service_code": ""}, 400, "service_code"),
    ({"service_code": "999999"}, 404, "service_code"),
    ({"lat": "", "long": "", "address_string": ""}, 400, "address_string"),
    ({"lat": "123.5"}, 400, "lat"),
    ({"attribute[district]": "district-one"}, 400, "attribute[district]"),
    ({"phone": "call me"}, 400, "phone"),
    ({"jurisdiction_id": "elsewhere.example"}, 404, "jurisdiction_id"),
])
def test_given_a_post_with_a_bad_field_when_filed_then_the_spec_error_names_the_field_and_no_ticket(
    web_client: TestClient, engine: sa.Engine, change: dict[str, str], status: int, field: str,
) -> None:
    key = new_key(engine)
    category, district, _ = a_service_and_district(engine)
    form = {"api_key": key, "jurisdiction_id": JURISDICTION, "service_code": str(category.id), "lat": "36.27",
            "long": "50.0", "address_string": "میدان آزادی", "description": "چاله", "phone": "09121234567",
            "attribute[district]": str(district.id), **change}
    response = web_client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == status, response.text
    assert response.json()[0]["code"] == status and response.json()[0]["description"].endswith(f"({field})")
    with unit_of_work(engine) as session:
        assert session.exec(select(Ticket).where(Ticket.source == TicketSource.OPEN311)).all() == []


def test_given_a_unit_of_another_kind_as_the_district_when_posted_then_refused_by_its_spec_name(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    key = new_key(engine)
    category, _, _ = a_service_and_district(engine)
    with unit_of_work(engine) as session:
        not_a_district = session.exec(select(Unit).where(Unit.kind != UnitKind.DISTRICT)).first()
        assert not_a_district is not None
    response = web_client.post("/open311/v2/requests.xml", data={
        "api_key": key, "service_code": str(category.id), "address_string": "میدان آزادی",
        "attribute[district]": str(not_a_district.id)})
    assert response.status_code == 400
    assert ElementTree.fromstring(response.content).findtext("error/description", "").endswith(
        "(attribute[district])")
