"""The complaint form's steps as a browser without JavaScript posts them (a TestClient, or an httpx
client on a real socket), and a 137 ticket to link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import select

from callcenter.tickets.store import create_ticket
from db.engine import unit_of_work
from db.models import Category, Complaint, TicketCreate, Unit
from tests.support.citizen_forms import hidden_fields, latest_phone_code

MOBILE = "09121234567"
WASTE = "سازمان مدیریت پسماند"
RECEIPT_SHOWN = 'id="receipt"'  # the element an anonymous filing shows its receipt in


@dataclass
class ComplaintForm:
    client: httpx.Client  # a TestClient is one
    engine: sa.Engine

    def start(self, query: str = "") -> str:
        """Open /complaints/new; the draft id of the step URL it redirects to."""
        response = self.client.get("/complaints/new" + query, follow_redirects=False)
        assert response.status_code == 303, response.text
        return str(response.headers["location"]).split("/")[3]

    def csrf(self) -> str:
        return self.client.cookies["pasokh_csrf"]

    def post(self, draft: str, step: str, data: dict[str, str], *, intent: str = "next",
             files: list[tuple[str, tuple[str, bytes, str]]] | None = None) -> httpx.Response:
        body = {"csrf_token": self.csrf(), **data, "intent": intent}
        return self.client.post(f"/complaints/new/{draft}/{step}", data=body, files=files, follow_redirects=False)

    def page(self, draft: str, step: str) -> httpx.Response:
        response = self.client.get(f"/complaints/new/{draft}/{step}")
        assert hidden_fields(response.text).get("csrf_token") or response.status_code != 200
        return response

    def fill(self, draft: str, *, unit_id: int, anonymous: bool, ticket_codes: str = "", meeting: bool = False,
             description: str = "کارمند واحد بدون دلیل پرونده را نپذیرفت") -> None:
        """Every step up to the review, each answered with a redirect to the next."""
        steps: list[tuple[str, dict[str, str]]] = [
            ("target", {"unit_id": str(unit_id), "person_name": "آقای رضایی", "person_role": "کارشناس",
                        "personnel_code": "۱۲۳۴۵"}),
            ("ground", {"ground": "delay"}),
            ("story", {"description": description, "day": "3", "month": "2", "year": "1403",
                       "place": "ساختمان مرکزی", "ticket_codes": ticket_codes}),
            ("files", {}),
        ]
        for step, data in steps:
            self.expect_next(self.post(draft, step, data))
        if anonymous:
            self.expect_next(self.post(draft, "identity", {"identity": "anonymous"}))
        else:
            self.verify_named(draft)
        self.expect_next(self.post(draft, "meeting", {"meeting": "1"} if meeting else {}))

    def verify_named(self, draft: str, name: str = "مریم احمدی") -> None:
        data = {"identity": "named", "name": name, "mobile": "۰۹۱۲۱۲۳۴۵۶۷"}
        sent = self.post(draft, "identity", data, intent="send_code")
        assert sent.status_code == 200 and "پیامک شد" in sent.text, sent.text
        self.expect_next(self.post(draft, "identity", {**data, "code": latest_phone_code(self.engine, MOBILE)}))

    @staticmethod
    def expect_next(response: httpx.Response) -> None:
        assert response.status_code == 303, response.text

    def receipt(self, filed: httpx.Response) -> str:
        """The receipt an anonymous filing shows, once."""
        assert filed.status_code == 200 and RECEIPT_SHOWN in filed.text, filed.text
        return filed.text.split(RECEIPT_SHOWN + ">")[1].split("<")[0]

    def complaints(self) -> list[Complaint]:
        with unit_of_work(self.engine) as session:
            return list(session.exec(select(Complaint)).all())


def unit_named(engine: sa.Engine, name: str) -> int:
    with unit_of_work(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == name)).one()
        assert unit.id is not None
        return unit.id


def a_ticket(engine: sa.Engine, **extra: Any) -> str:
    """A 137 ticket's tracking code (filed by no one: a web ticket's way)."""
    with unit_of_work(engine) as session:
        category = session.exec(select(Category).where(Category.name == "جمع‌آوری زباله")).one()
        assert category.id is not None
        ticket = create_ticket(session, data=TicketCreate(
            category_id=category.id, unit_id=unit_named(engine, WASTE), description="سطل زباله پر است",
            address="خیابان فردوسی", caller_number=MOBILE, **extra), created_by=None)
        return ticket.tracking_code
