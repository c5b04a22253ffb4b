"""The in-person service desk: its form (server-rendered, no script needed) and the citizen's receipt, as a
printable page and as a PDF (ADR 0059)."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from agent_console.deps import DeskStaff, SessionDep, SettingsDep
from agent_console.templating import TEMPLATES
from callcenter.citizens.desk import DeskForm, desk_choices, file_at_desk
from callcenter.citizens.links import status_links
from callcenter.citizens.receipts import FOLLOW_UP, HEADING, MUNICIPALITY, receipt_for, receipt_pdf
from callcenter.platform.errors import ValidationFailed
from db.models import User

router = APIRouter(prefix="/desk", include_in_schema=False)
log = logging.getLogger(__name__)

# The form carries a fresh request id each time it is served: a browser's back button must fetch a new one, or
# the next citizen's ticket would replay the previous one's.
NO_STORE = {"Cache-Control": "no-store"}


@router.get("", response_class=HTMLResponse)
def desk_page(request: Request, user: DeskStaff, session: SessionDep) -> Response:
    return _form_page(request, session, user, DeskForm(request_id=uuid.uuid4().hex))


@router.post("", response_class=HTMLResponse)
def file_desk_ticket(
    request: Request, user: DeskStaff, session: SessionDep, settings: SettingsDep,
    category_id: Annotated[str, Form()] = "", district_id: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "", description: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "", request_id: Annotated[str, Form()] = "",
) -> Response:
    """Filed: on to the receipt (303, so a reload does not post again). Refused: the form again, as typed."""
    form = DeskForm(category_id=category_id, district_id=district_id, address=address, description=description,
                    mobile=mobile, request_id=request_id or uuid.uuid4().hex)
    try:
        submission = file_at_desk(session, form=form, by=user, status_link=status_links(settings))
    except ValidationFailed as error:
        session.rollback()  # nothing of a refused form stays, whatever step refused it
        return _form_page(request, session, user, form, error=error)
    ticket = submission.ticket
    if submission.new:
        log.info("Desk %s filed ticket %s (in person)", user.username, ticket.tracking_code)
    return RedirectResponse(f"/desk/receipts/{ticket.tracking_code}", status_code=303)


# Before the page's route: "{tracking_code}" alone would also match "….pdf".
@router.get("/receipts/{tracking_code}.pdf")
def receipt_pdf_file(tracking_code: str, user: DeskStaff, session: SessionDep, settings: SettingsDep) -> Response:
    receipt = receipt_for(session, tracking_code=tracking_code, reader=user, settings=settings)
    return Response(receipt_pdf(receipt), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{receipt.pdf_filename()}"'})


@router.get("/receipts/{tracking_code}", response_class=HTMLResponse)
def receipt_page(
    request: Request, tracking_code: str, user: DeskStaff, session: SessionDep, settings: SettingsDep,
) -> Response:
    receipt = receipt_for(session, tracking_code=tracking_code, reader=user, settings=settings)
    context = {"user": user, "receipt": receipt, "municipality": MUNICIPALITY, "heading": HEADING,
               "follow_up": FOLLOW_UP}
    return TEMPLATES.TemplateResponse(request, "desk_receipt.html", context)


def _form_page(
    request: Request, session: Session, user: User, form: DeskForm, *, error: ValidationFailed | None = None,
) -> HTMLResponse:
    context = {"user": user, "form": form, "choices": desk_choices(session),
               "error": error.message if error else None, "error_field": error.details.get("field") if error else None}
    return TEMPLATES.TemplateResponse(request, "desk.html", context, status_code=error.status_code if error else 200,
                                      headers=NO_STORE)
