"""A test page under the public site holding the report form's location partial, as the report form includes it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from agent_console.templating import TEMPLATES

PATH = "/citizen/location-test"
# A form like the report form: the partial included unchanged, the fields kept as a refused submission keeps them.
PAGE = """{% extends "public/base.html" %}
{% block main %}
<form method="post" action="/citizen/location-test" id="test-form">
  <input type="hidden" name="csrf_token" value="{{ request.session.csrf }}">
  <label for="address">نشانی محل</label>
  <textarea id="address" name="address"></textarea>
  {% include "public/_location.html" ignore missing %}
  <button type="submit">ثبت</button>
</form>
{% endblock %}"""


def add_location_page(app: FastAPI) -> None:
    """GET shows the form (``?latitude=…&longitude=…`` as kept fields); POST echoes what the form sent."""
    template = TEMPLATES.env.from_string(PAGE)

    async def page(request: Request) -> HTMLResponse:
        fields = dict(request.query_params)
        return HTMLResponse(template.render(request=request, fields=fields))

    async def sent(request: Request) -> dict[str, str]:
        form = await request.form()
        return {name: str(value) for name, value in form.items() if name != "csrf_token"}

    app.add_api_route(PATH, page, methods=["GET"], include_in_schema=False)
    app.add_api_route(PATH, sent, methods=["POST"], include_in_schema=False)
