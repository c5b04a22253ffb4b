"""A named complainant's identity: sealed in the database, rotated to a new key, shown only through the audited
reveal (to whom the access rules allow, for a stated purpose), and the head of inspection's audit log of it."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from callcenter.bootstrap.cli import main
from callcenter.complaints import identity_views
from callcenter.complaints.identity import Identity, rotate, seal, unseal
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.errors import ConfigurationError, PermissionDenied
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings, load_settings
from db.engine import unit_of_work
from db.models import Complaint, IdentityAccess, Role, User
from tests.support.backend import TEST_SECRETS
from tests.support.complaint_identity import INSPECTION, MOBILE, NAME, a_complaint
from tests.support.console import log_in_sync
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def settings_for(database_url: str, keys: str = "") -> Settings:
    return load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                         complaint_identity_keys=keys)


def raw_rows(engine: sa.Engine) -> str:
    """Every column of every complaint as the database holds it, as one text."""
    with engine.connect() as connection:
        return repr(connection.execute(sa.text("SELECT * FROM complaint")).all())


def sealed_of(engine: sa.Engine, complaint_id: int | None) -> str:
    with Session(engine) as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None and complaint.identity_sealed
        return complaint.identity_sealed


def audit_rows(engine: sa.Engine) -> list[IdentityAccess]:
    with Session(engine) as session:
        return list(session.exec(select(IdentityAccess).order_by(col(IdentityAccess.id))).all())


@pytest.fixture
def staff(engine: sa.Engine) -> dict[str, User]:
    """The inspection office, an inspector from the unit complained about, the mayor's office and three others."""
    return {
        "inspector": add_staff(engine, "t.inspector", Role.INSPECTOR, unit=INSPECTION),
        "head": add_staff(engine, "t.head", Role.HEAD_OF_INSPECTION, unit=INSPECTION),
        "conflicted": add_staff(engine, "t.conflicted", Role.INSPECTOR, unit=WASTE),
        "mayor": add_staff(engine, "t.mayor", Role.VIEWER),
        "operator": add_staff(engine, "t.operator", Role.OPERATOR),
        "liaison": add_staff(engine, "t.liaison", Role.UNIT_LIAISON, unit=WASTE),
        "admin": add_staff(engine, "t.admin", Role.ADMIN),
    }


# --- at rest ---


def test_given_a_named_complaint_when_its_raw_row_is_read_then_neither_the_name_nor_the_mobile_is_there(
    engine: sa.Engine, database_url: str,
) -> None:
    settings = settings_for(database_url, KEY_A)
    complaint = a_complaint(engine, settings, target=WASTE)
    raw = raw_rows(engine)
    assert complaint.tracking_code in raw  # the row is what was read
    assert NAME not in raw and MOBILE not in raw and MOBILE[1:] not in raw and persian_digits(MOBILE) not in raw
    assert unseal(settings, sealed_of(engine, complaint.id)) == Identity(NAME, MOBILE)


def test_given_a_sealed_identity_when_read_without_its_key_then_it_cannot_be_unsealed(database_url: str) -> None:
    sealed = seal(settings_for(database_url, KEY_A), Identity(NAME, MOBILE))
    with pytest.raises(ConfigurationError):
        unseal(settings_for(database_url, KEY_B), sealed)
    with pytest.raises(ConfigurationError):
        unseal(settings_for(database_url), sealed)  # the development key derived from the secret is another key


def test_given_two_keys_when_rotated_then_every_identity_is_under_the_new_key_and_the_old_can_be_dropped(
    engine: sa.Engine, database_url: str,
) -> None:
    old = settings_for(database_url, KEY_A)
    complaints = [a_complaint(engine, old, target=WASTE, identity=Identity(f"{NAME} {n}", f"0935123456{n}"))
                  for n in range(3)]
    anonymous = a_complaint(engine, old, target=WASTE, identity=None)
    both = settings_for(database_url, f"{KEY_B},{KEY_A}")  # the new key first, the old still listed
    with unit_of_work(engine) as session:
        assert rotate(session, both) == 3
    new_only = settings_for(database_url, KEY_B)
    for n, complaint in enumerate(complaints):
        sealed = sealed_of(engine, complaint.id)
        assert unseal(new_only, sealed) == Identity(f"{NAME} {n}", f"0935123456{n}")
        with pytest.raises(ConfigurationError):
            unseal(old, sealed)
    with Session(engine) as session:
        row = session.get(Complaint, anonymous.id)
        assert row is not None and row.identity_sealed is None


def test_given_an_identity_under_an_unlisted_key_when_rotating_then_it_refuses_and_changes_nothing(
    engine: sa.Engine, database_url: str,
) -> None:
    under_a = a_complaint(engine, settings_for(database_url, KEY_A), target=WASTE)
    under_b = a_complaint(engine, settings_for(database_url, KEY_B), target=WASTE)
    before = [sealed_of(engine, under_a.id), sealed_of(engine, under_b.id)]
    with pytest.raises(ConfigurationError), unit_of_work(engine) as session:
        rotate(session, settings_for(database_url, KEY_B))  # KEY_A missing
    assert [sealed_of(engine, under_a.id), sealed_of(engine, under_b.id)] == before


def test_given_the_cli_when_asked_for_a_new_key_then_it_prints_a_fernet_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["complaints", "new-key"]) == 0
    key = capsys.readouterr().out.strip()
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"


def test_given_the_cli_when_rotate_key_runs_then_the_rows_are_under_the_first_key(
    engine: sa.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    complaint = a_complaint(engine, settings_for(database_url, KEY_A), target=WASTE)
    environment = {"PASOKH_DATABASE_URL": database_url, "PASOKH_ENVIRONMENT": "test",
                   "PASOKH_SECRET_KEY": TEST_SECRETS["secret_key"], "PASOKH_AMI_SECRET": TEST_SECRETS["ami_secret"],
                   "PASOKH_COMPLAINT_IDENTITY_KEYS": f"{KEY_B},{KEY_A}"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(["complaints", "rotate-key"]) == 0
    assert "1 complainants' identities re-encrypted" in capsys.readouterr().out
    assert unseal(settings_for(database_url, KEY_B), sealed_of(engine, complaint.id)) == Identity(NAME, MOBILE)


# --- the reveal, in the domain ---


def test_given_an_inspector_when_revealing_twice_then_two_audit_rows_with_who_what_and_why(
    engine: sa.Engine, database_url: str, staff: dict[str, User],
) -> None:
    settings = settings_for(database_url, KEY_A)
    complaint = a_complaint(engine, settings, target=WASTE)
    for purpose in ("اعلام نتیجه رسیدگی", "سایر: پیگیری تلفنی"):
        with unit_of_work(engine) as session:
            shown = identity_views.reveal(session, settings, staff["inspector"], complaint, purpose)
            assert shown == Identity(NAME, MOBILE)
    rows = audit_rows(engine)
    assert [(row.complaint_id, row.user_id, row.purpose) for row in rows] == [
        (complaint.id, staff["inspector"].id, "اعلام نتیجه رسیدگی"),
        (complaint.id, staff["inspector"].id, "سایر: پیگیری تلفنی")]


def test_given_a_reveal_when_the_request_then_fails_then_neither_the_view_nor_its_audit_row_remains(
    engine: sa.Engine, database_url: str, staff: dict[str, User],
) -> None:
    settings = settings_for(database_url, KEY_A)
    complaint = a_complaint(engine, settings, target=WASTE)
    with pytest.raises(RuntimeError), unit_of_work(engine) as session:
        identity_views.reveal(session, settings, staff["inspector"], complaint, "اعلام نتیجه رسیدگی")
        assert session.exec(select(IdentityAccess)).all() != []  # written before the identity was returned
        raise RuntimeError("the page failed to render")
    assert audit_rows(engine) == []


@pytest.mark.parametrize("who", ["conflicted", "operator", "liaison", "admin", "mayor"])
def test_given_someone_the_rules_keep_out_when_revealing_then_refused_in_persian_and_nothing_recorded(
    engine: sa.Engine, database_url: str, staff: dict[str, User], who: str,
) -> None:
    settings = settings_for(database_url, KEY_A)
    complaint = a_complaint(engine, settings, target=WASTE)
    with pytest.raises(PermissionDenied, match="اجازه"), unit_of_work(engine) as session:
        identity_views.reveal(session, settings, staff[who], complaint, "اعلام نتیجه رسیدگی")
    assert audit_rows(engine) == []


def test_given_a_complaint_about_the_inspection_office_when_the_mayors_office_reveals_then_allowed_not_the_head(
    engine: sa.Engine, database_url: str, staff: dict[str, User],
) -> None:
    settings = settings_for(database_url, KEY_A)
    complaint = a_complaint(engine, settings, target=INSPECTION)
    with unit_of_work(engine) as session:
        assert identity_views.reveal(session, settings, staff["mayor"], complaint, "اعلام نتیجه رسیدگی").name == NAME
    with pytest.raises(PermissionDenied), unit_of_work(engine) as session:
        identity_views.reveal(session, settings, staff["head"], complaint, "اعلام نتیجه رسیدگی")
    with Session(engine) as session:  # the head's log does not tell of a complaint about the office
        head = session.get(User, staff["head"].id)
        assert head is not None
        assert identity_views.audit_log(session, head).entries == []


def test_given_many_views_when_the_head_pages_and_filters_the_log_then_newest_first_by_keyset(
    engine: sa.Engine, database_url: str, staff: dict[str, User],
) -> None:
    settings = settings_for(database_url, KEY_A)
    first, second = a_complaint(engine, settings, target=WASTE), a_complaint(engine, settings, target=WASTE)
    second_inspector = add_staff(engine, "t.inspector2", Role.INSPECTOR, unit=INSPECTION)
    views = [(first, staff["inspector"]), (second, staff["inspector"]), (first, second_inspector),
             (second, staff["head"]), (first, staff["inspector"])]
    for complaint, user in views:
        with unit_of_work(engine) as session:
            identity_views.reveal(session, settings, user, complaint, "درخواست اطلاعات بیشتر از شاکی")
    ids = [row.id for row in audit_rows(engine)]
    with Session(engine) as session:
        head = session.get(User, staff["head"].id)
        assert head is not None
        seen: list[int] = []
        page = identity_views.audit_log(session, head, limit=2)
        while True:
            seen += [entry.id for entry in page.entries]
            if page.next_cursor is None:
                break
            page = identity_views.audit_log(session, head, limit=2, after=page.next_cursor)
        assert seen == list(reversed(ids))
        by_code = identity_views.audit_log(session, head, tracking_code=first.tracking_code).entries
        assert [entry.tracking_code for entry in by_code] == [first.tracking_code] * 3
        by_user = identity_views.audit_log(session, head, username="t.inspector2").entries
        assert [(entry.username, entry.tracking_code) for entry in by_user] == [("t.inspector2", first.tracking_code)]


# --- the pages ---

PAGE = {"Accept": "text/html"}


def identity_url(complaint: Complaint) -> str:
    return f"/inspection/complaints/{complaint.id}/identity"


def reveal_form(client: TestClient, purpose: str = "meeting", other: str = "") -> dict[str, str]:
    return {"csrf_token": client.cookies["pasokh_csrf"], "purpose": purpose, "purpose_other": other}


def test_given_an_inspector_when_revealing_through_the_page_then_name_and_persian_mobile_uncached_and_audited(
    engine: sa.Engine, database_url: str, web_client: TestClient, staff: dict[str, User],
    caplog: pytest.LogCaptureFixture,
) -> None:
    complaint = a_complaint(engine, settings_for(database_url), target=WASTE)
    log_in_sync(web_client, "t.inspector", PASSWORD)
    caplog.set_level(logging.DEBUG)
    form = web_client.get(identity_url(complaint), headers=PAGE)
    assert form.status_code == 200 and "هدف از دیدن هویت" in form.text
    assert NAME not in form.text and form.headers["cache-control"] == "no-store"
    shown = web_client.post(identity_url(complaint), data=reveal_form(web_client), headers=PAGE)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert NAME in shown.text and persian_digits(MOBILE) in shown.text and MOBILE not in shown.text
    assert "Identity of complaint" in caplog.text and NAME not in caplog.text and MOBILE not in caplog.text
    (row,) = audit_rows(engine)
    assert row.user_id == staff["inspector"].id and row.purpose == identity_views.PURPOSES["meeting"]

    log_in_sync(web_client, "t.head", PASSWORD)
    audit = web_client.get("/inspection/audit", headers=PAGE)
    assert audit.status_code == 200 and "t.inspector" in audit.text
    assert identity_views.PURPOSES["meeting"] in audit.text
    assert NAME not in audit.text and persian_digits(MOBILE) not in audit.text


def test_given_other_without_words_when_posting_then_a_persian_error_the_words_kept_and_no_audit_row(
    engine: sa.Engine, database_url: str, web_client: TestClient, staff: dict[str, User],
) -> None:
    complaint = a_complaint(engine, settings_for(database_url), target=WASTE)
    log_in_sync(web_client, "t.inspector", PASSWORD)
    refused = web_client.post(identity_url(complaint), data=reveal_form(web_client, "other", "ab"), headers=PAGE)
    assert refused.status_code == 422 and identity_views.OTHER_MISSING in refused.text
    assert 'value="ab"' in refused.text and NAME not in refused.text
    assert audit_rows(engine) == []
    shown = web_client.post(identity_url(complaint), data=reveal_form(web_client, "other", "هماهنگی بازدید"),
                            headers=PAGE)
    assert NAME in shown.text
    assert [row.purpose for row in audit_rows(engine)] == ["سایر: هماهنگی بازدید"]


def test_given_an_anonymous_complaint_when_its_identity_page_is_opened_then_it_says_so_and_records_nothing(
    engine: sa.Engine, database_url: str, web_client: TestClient, staff: dict[str, User],
) -> None:
    complaint = a_complaint(engine, settings_for(database_url), target=WASTE, identity=None)
    log_in_sync(web_client, "t.inspector", PASSWORD)
    for response in (web_client.get(identity_url(complaint), headers=PAGE),
                     web_client.post(identity_url(complaint), data=reveal_form(web_client), headers=PAGE)):
        assert response.status_code == 200 and identity_views.ANONYMOUS in response.text
    assert audit_rows(engine) == []


@pytest.mark.parametrize("who", ["t.conflicted", "t.mayor"])
def test_given_someone_who_may_not_see_the_complaint_when_opening_its_identity_then_404_as_if_missing(
    engine: sa.Engine, database_url: str, web_client: TestClient, staff: dict[str, User], who: str,
) -> None:
    complaint = a_complaint(engine, settings_for(database_url), target=WASTE)
    log_in_sync(web_client, who, PASSWORD)
    missing = web_client.get("/inspection/complaints/999999/identity", headers=PAGE)
    hidden = web_client.get(identity_url(complaint), headers=PAGE)
    posted = web_client.post(identity_url(complaint), data=reveal_form(web_client), headers=PAGE)
    assert missing.status_code == hidden.status_code == posted.status_code == 404
    assert hidden.text == missing.text and NAME not in posted.text
    assert audit_rows(engine) == []


def test_given_an_inspector_when_opening_a_complaint_about_the_inspection_office_then_404(
    engine: sa.Engine, database_url: str, web_client: TestClient, staff: dict[str, User],
) -> None:
    complaint = a_complaint(engine, settings_for(database_url), target=INSPECTION)
    log_in_sync(web_client, "t.inspector", PASSWORD)
    assert web_client.get(identity_url(complaint), headers=PAGE).status_code == 404
    log_in_sync(web_client, "t.mayor", PASSWORD)
    assert web_client.get(identity_url(complaint), headers=PAGE).status_code == 200


@pytest.mark.parametrize("who", ["t.operator", "t.liaison", "t.admin"])
def test_given_staff_outside_the_complaint_roles_when_opening_identity_or_audit_then_refused(
    engine: sa.Engine, database_url: str, web_client: TestClient, staff: dict[str, User], who: str,
) -> None:
    complaint = a_complaint(engine, settings_for(database_url), target=WASTE)
    log_in_sync(web_client, who, PASSWORD)
    assert web_client.get(identity_url(complaint), headers=PAGE).status_code == 403
    assert web_client.post(identity_url(complaint), data=reveal_form(web_client), headers=PAGE).status_code == 403
    assert web_client.get("/inspection/audit", headers=PAGE).status_code == 403
    assert audit_rows(engine) == []


def test_given_an_inspector_when_opening_the_audit_log_then_refused(
    web_client: TestClient, staff: dict[str, User],
) -> None:
    log_in_sync(web_client, "t.inspector", PASSWORD)
    refused = web_client.get("/inspection/audit", headers=PAGE)
    assert refused.status_code == 403 and "مدیر بازرسی" in refused.text


def test_given_the_head_when_filtering_the_audit_page_by_code_then_only_that_complaint_and_a_bad_code_is_told(
    engine: sa.Engine, database_url: str, web_client: TestClient, staff: dict[str, User],
) -> None:
    settings = settings_for(database_url)
    first, second = a_complaint(engine, settings, target=WASTE), a_complaint(engine, settings, target=WASTE)
    for complaint in (first, second):
        with unit_of_work(engine) as session:
            identity_views.reveal(session, settings, staff["inspector"], complaint, "اعلام نتیجه رسیدگی")
    log_in_sync(web_client, "t.head", PASSWORD)
    shown = web_client.get("/inspection/audit", params={"code": persian_digits(first.tracking_code)}, headers=PAGE)
    assert persian_digits(format_for_reading(first.tracking_code)) in shown.text
    assert persian_digits(format_for_reading(second.tracking_code)) not in shown.text
    bad = web_client.get("/inspection/audit", params={"code": "123"}, headers=PAGE)
    assert bad.status_code == 422 and "کد پیگیری شکایت" in bad.text
