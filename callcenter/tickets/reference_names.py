"""Names of units, categories and staff for the rows a page lists, read once per unit of work."""

from __future__ import annotations

from sqlmodel import Session, SQLModel, select

from db.models import Category, Unit, User

_CACHE_KEY = "pasokh_reference_names"


def _name(session: Session, model: type[SQLModel], row_id: int | None, attribute: str, *,
          whole_table: bool = False) -> str:
    """The row's ``attribute``, or "" for no row. The session's identity map holds its rows only weakly, so a page of
    50 tickets would read the same unit again for each one (ADR 0083's benchmark counted 108 statements for one
    inbox page): the names are kept in the session's ``info`` for as long as it lasts (one request, one job step).
    A small reference table (units, categories: tens of rows) is read whole on the first miss."""
    if row_id is None:
        return ""
    names: dict[tuple[str, int], str] = session.info.setdefault(_CACHE_KEY, {})
    key = (model.__name__, row_id)
    if key not in names:
        if whole_table:
            id_column, name_column = getattr(model, "id"), getattr(model, attribute)  # noqa: B009
            names.update(((model.__name__, found), str(name))
                         for found, name in session.exec(select(id_column, name_column)).all())
        else:
            row = session.get(model, row_id)
            names[key] = str(getattr(row, attribute)) if row is not None else ""
    return names.get(key, "")


def unit_name(session: Session, unit_id: int | None) -> str:
    return _name(session, Unit, unit_id, "name", whole_table=True)


def category_name(session: Session, category_id: int | None) -> str:
    return _name(session, Category, category_id, "name", whole_table=True)


def staff_full_name(session: Session, user_id: int | None) -> str:
    return _name(session, User, user_id, "full_name")
