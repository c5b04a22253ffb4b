"""Root-cause tags inspectors name for complaints (lack of staff, unclear procedure...): the list, and a
complaint's tags."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, delete, select

from callcenter.platform.errors import ValidationFailed
from callcenter.platform.persian import normalize_text
from db.models import ComplaintRootCause, RootCauseTag

MAX_TAG_LENGTH = 100


def all_tags(session: Session) -> list[RootCauseTag]:
    """Every tag, by name."""
    return list(session.exec(select(RootCauseTag).order_by(col(RootCauseTag.name))).all())


def tag_ids_of(session: Session, complaint_id: int) -> set[int]:
    """The ids of the tags set on a complaint."""
    return set(session.exec(
        select(ComplaintRootCause.tag_id).where(ComplaintRootCause.complaint_id == complaint_id)).all())


def tag_name(raw: str) -> str:
    """The name as stored (normalised Persian, runs of spaces made one); a clear Persian error if unusable."""
    name = normalize_text(raw)
    if not name:
        raise ValidationFailed("نام ریشه را بنویسید.", field="new_tag")
    if len(name) > MAX_TAG_LENGTH:
        raise ValidationFailed("نام ریشه حداکثر ۱۰۰ نویسه است.", field="new_tag")
    return name


def create_tag(session: Session, raw_name: str) -> RootCauseTag:
    """The tag of that name, created if new (typing an existing name again picks it rather than failing)."""
    name = tag_name(raw_name)
    existing = session.exec(select(RootCauseTag).where(RootCauseTag.name == name)).first()
    if existing is not None:
        return existing
    tag = RootCauseTag(name=name)
    session.add(tag)
    session.flush()
    return tag


def set_tags(session: Session, complaint_id: int, tag_ids: Iterable[int]) -> set[int]:
    """Make the complaint's tags exactly ``tag_ids`` (the caller has checked the complaint is theirs to see);
    an id that names no tag is refused."""
    wanted = set(tag_ids)
    known = set(session.exec(select(RootCauseTag.id).where(col(RootCauseTag.id).in_(wanted))).all())
    if wanted - known:
        raise ValidationFailed("ریشه انتخاب‌شده وجود ندارد.", field="tag")
    current = tag_ids_of(session, complaint_id)
    removed = current - wanted
    if removed:
        session.exec(delete(ComplaintRootCause).where(
            col(ComplaintRootCause.complaint_id) == complaint_id, col(ComplaintRootCause.tag_id).in_(removed)))
    for tag_id in sorted(wanted - current):
        session.add(ComplaintRootCause(complaint_id=complaint_id, tag_id=tag_id))
    session.flush()
    return wanted
