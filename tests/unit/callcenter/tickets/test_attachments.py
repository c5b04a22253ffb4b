"""Photos on report-done, on both databases: what counts as a photo, the limits, and that a refused step keeps
no file and no row while an accepted one keeps both, listed in the history under its step."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.platform.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from callcenter.tickets.attachments import (
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    PhotoStore,
    Upload,
    apply_action_with_photos,
    check_photos,
    history_with_photos,
    sniff_image,
    sweep_orphan_photos,
)
from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import Role, Ticket, TicketAction, TicketAttachment, TicketStatus, User
from tests.support.photos import FAKE_JPEG, image_bytes
from tests.support.ticket_flow import GREENERY, WASTE, Filed, add_staff, referred_ticket, status_of

S, A = TicketStatus, TicketAction


@pytest.fixture
def store(tmp_path: Path) -> PhotoStore:
    return PhotoStore(directory=tmp_path / "state" / "photos")


def files_in(store: PhotoStore) -> list[Path]:
    return sorted(store.directory.iterdir()) if store.directory.exists() else []


def rows(engine: sa.Engine) -> list[TicketAttachment]:
    with unit_of_work(engine) as session:
        return list(session.exec(select(TicketAttachment)).all())


def accepted_ticket(engine: sa.Engine) -> tuple[Filed, User]:
    operator = add_staff(engine, "photo.operator", Role.OPERATOR)
    liaison = add_staff(engine, "photo.liaison", Role.UNIT_LIAISON, unit=WASTE)
    ticket = referred_ticket(engine, by=operator, unit=WASTE)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=liaison)
    return ticket, liaison


@pytest.mark.parametrize(("kind", "content_type"), [
    ("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"),
])
def test_given_a_real_image_when_sniffed_then_its_bytes_name_the_type(kind: str, content_type: str) -> None:
    sniffed = sniff_image(image_bytes(kind))
    assert sniffed is not None and sniffed[0] == content_type


@pytest.mark.parametrize("data", [FAKE_JPEG, image_bytes("GIF"), b"", b"RIFF\x00\x00\x00\x00WAVEfmt "])
def test_given_a_file_that_is_not_jpeg_png_or_webp_when_checked_then_refused_whatever_its_name(data: bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_photos([Upload(filename="photo.jpg", data=data)])
    assert caught.value.message == "فایل «photo.jpg» عکس JPEG، PNG یا WebP نیست."
    assert caught.value.details["field"] == "photos"


def test_given_a_png_named_jpg_when_checked_then_it_is_kept_as_the_png_it_is() -> None:
    [photo] = check_photos([Upload(filename="IMG_0001.JPG", data=image_bytes("PNG"))])
    assert (photo.content_type, photo.extension) == ("image/png", "png")


def test_given_one_photo_over_five_megabytes_when_checked_then_refused_in_persian() -> None:
    big = image_bytes("JPEG") + b"\0" * MAX_PHOTO_BYTES
    with pytest.raises(ValidationFailed) as caught:
        check_photos([Upload(filename="big.jpg", data=big)])
    assert caught.value.message == "عکس «big.jpg» بزرگ‌تر از ۵ مگابایت است."


def test_given_a_photo_of_exactly_five_megabytes_when_checked_then_accepted() -> None:
    data = image_bytes("JPEG")
    [photo] = check_photos([Upload(filename="edge.jpg", data=data + b"\0" * (MAX_PHOTO_BYTES - len(data)))])
    assert len(photo.data) == MAX_PHOTO_BYTES


def test_given_six_photos_when_checked_then_refused_because_five_is_the_limit() -> None:
    six = [Upload(filename=f"{n}.png", data=image_bytes("PNG")) for n in range(MAX_PHOTOS + 1)]
    with pytest.raises(ValidationFailed) as caught:
        check_photos(six)
    assert caught.value.message == "حداکثر ۵ عکس می‌توانید بفرستید."
    assert len(check_photos(six[:MAX_PHOTOS])) == MAX_PHOTOS


def test_given_an_accepted_ticket_when_reported_done_with_two_photos_then_files_and_rows_belong_to_that_step(
    engine: sa.Engine, store: PhotoStore,
) -> None:
    ticket, liaison = accepted_ticket(engine)
    jpeg, webp = image_bytes("JPEG"), image_bytes("WEBP", colour="navy")
    with unit_of_work(engine) as session:
        step = apply_action_with_photos(session, store, ticket_id=ticket.id, action=A.REPORT_DONE, actor=liaison,
                                        note="سطل‌ها تخلیه شد",
                                        uploads=[Upload("a.jpg", jpeg), Upload("b.webp", webp)])
    assert status_of(engine, ticket) == S.DONE
    stored = rows(engine)
    assert [(r.transition_id, r.ticket_id, r.uploaded_by_id) for r in stored] == [(step.id, ticket.id, liaison.id)] * 2
    assert [(r.content_type, r.size, r.sha256) for r in stored] == [
        ("image/jpeg", len(jpeg), hashlib.sha256(jpeg).hexdigest()),
        ("image/webp", len(webp), hashlib.sha256(webp).hexdigest()),
    ]
    assert [store.path(r.stored_name).read_bytes() for r in stored] == [jpeg, webp]
    assert [path.name for path in files_in(store)] == sorted(r.stored_name for r in stored)  # no partial files
    assert all(r.at.tzinfo is not None for r in stored)

    with unit_of_work(engine) as session:
        found = session.get(Ticket, ticket.id)
        assert found is not None
        steps = history_with_photos(session, found)
    assert [(s.action, len(s.photos)) for s in steps] == [(A.REFER, 0), (A.ACCEPT, 0), (A.REPORT_DONE, 2)]
    assert [p.url for p in steps[-1].photos] == [f"/api/tickets/{ticket.tracking_code}/photos/{r.id}" for r in stored]


@pytest.mark.parametrize(("case", "error"), [
    ("no note", ValidationFailed),
    ("another unit's liaison", PermissionDenied),
    ("screen was stale", Conflict),
    ("ticket not accepted", InvalidTransition),
])
def test_given_a_report_done_that_is_refused_when_photos_came_with_it_then_no_file_and_no_row_stay_behind(
    engine: sa.Engine, store: PhotoStore, case: str, error: type[Exception],
) -> None:
    ticket, liaison = accepted_ticket(engine)
    note, expected = "انجام شد", None
    if case == "no note":
        note = "  "
    elif case == "another unit's liaison":
        liaison = add_staff(engine, "green.liaison", Role.UNIT_LIAISON, unit=GREENERY)
    elif case == "screen was stale":
        expected = S.REFERRED
    elif case == "ticket not accepted":
        operator = add_staff(engine, "other.operator", Role.OPERATOR)
        ticket = referred_ticket(engine, by=operator, unit=WASTE, description="دومی")
    with Session(engine) as session, pytest.raises(error):
        apply_action_with_photos(session, store, ticket_id=ticket.id, action=A.REPORT_DONE, actor=liaison, note=note,
                                 expected_status=expected, uploads=[Upload("a.jpg", image_bytes("JPEG"))])
    assert files_in(store) == [] and rows(engine) == []
    assert status_of(engine, ticket) in (S.ACCEPTED, S.REFERRED)


def test_given_photos_with_an_action_other_than_report_done_then_refused_before_anything_is_written(
    engine: sa.Engine, store: PhotoStore,
) -> None:
    operator = add_staff(engine, "photo.operator", Role.OPERATOR)
    liaison = add_staff(engine, "photo.liaison", Role.UNIT_LIAISON, unit=WASTE)
    ticket = referred_ticket(engine, by=operator, unit=WASTE)
    with Session(engine) as session, pytest.raises(ValidationFailed) as caught:
        apply_action_with_photos(session, store, ticket_id=ticket.id, action=A.ACCEPT, actor=liaison,
                                 uploads=[Upload("a.jpg", image_bytes("JPEG"))])
    assert caught.value.message == "عکس فقط همراه با «اعلام انجام کار» فرستاده می‌شود."
    assert files_in(store) == [] and status_of(engine, ticket) == S.REFERRED


def test_given_a_report_done_without_a_note_when_applied_then_the_state_machine_asks_what_was_done(
    engine: sa.Engine,
) -> None:
    ticket, liaison = accepted_ticket(engine)
    with Session(engine) as session, pytest.raises(ValidationFailed) as caught:
        apply_action(session, ticket_id=ticket.id, action=A.REPORT_DONE, actor=liaison)
    assert (caught.value.message, caught.value.details) == ("بنویسید چه کاری انجام شد.", {"field": "note"})
    assert status_of(engine, ticket) == S.ACCEPTED


@pytest.mark.parametrize("name", ["../pasokh.sqlite3", "x.jpg", "/etc/passwd", "0" * 32 + ".gif"])
def test_given_a_name_we_did_not_make_when_looked_up_then_not_found(store: PhotoStore, name: str) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "x.jpg").write_bytes(image_bytes("JPEG"))
    with pytest.raises(Exception, match="فایل عکس پیدا نشد"):
        store.path(name)


def written_at(path: Path, moment: datetime) -> Path:
    os.utime(path, (moment.timestamp(), moment.timestamp()))
    return path


def test_given_files_a_killed_process_left_behind_when_swept_then_only_old_unlinked_ones_go(
    engine: sa.Engine, store: PhotoStore,
) -> None:
    ticket, liaison = accepted_ticket(engine)
    with unit_of_work(engine) as session:
        apply_action_with_photos(session, store, ticket_id=ticket.id, action=A.REPORT_DONE, actor=liaison,
                                 note="سطل‌ها تخلیه شد", uploads=[Upload("a.jpg", image_bytes("JPEG"))])
    [linked] = files_in(store)
    now = datetime.now(UTC)
    day_ago, minute_ago = now - timedelta(days=1), now - timedelta(minutes=1)
    written_at(linked, day_ago)  # old, but a ticket step shows it: kept
    orphan = store.directory / f"{'a' * 32}.jpg"
    orphan.write_bytes(FAKE_JPEG)
    written_at(orphan, day_ago)
    partial = store.directory / f".{'b' * 32}.png.part"
    partial.write_bytes(b"half")
    written_at(partial, day_ago)
    in_flight = store.directory / f"{'c' * 32}.webp"  # a step still being applied: written a minute ago
    in_flight.write_bytes(b"new")
    written_at(in_flight, minute_ago)
    not_ours = store.directory / "README.txt"
    not_ours.write_text("an administrator's note")
    written_at(not_ours, day_ago)

    assert sweep_orphan_photos(engine=engine, store=store, older_than=now - timedelta(hours=1)) == 2

    assert files_in(store) == sorted([linked, in_flight, not_ours])
    assert sweep_orphan_photos(engine=engine, store=store, older_than=now - timedelta(hours=1)) == 0


def test_given_no_photo_folder_yet_when_swept_then_nothing_happens(engine: sa.Engine, store: PhotoStore) -> None:
    assert sweep_orphan_photos(engine=engine, store=store, older_than=datetime.now(UTC)) == 0
    assert not store.directory.exists()
