"""The one Jinja2 environment of the staff pages, with the filters and globals every template may use."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from agent_console.map_tiles import install_map_globals
from agent_console.static_assets import install_page_globals
from callcenter.platform.persian import persian_digits

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["fa_digits"] = persian_digits
install_page_globals(TEMPLATES.env)  # static_url(...) with content hashes, page_vocabulary(role)
install_map_globals(TEMPLATES.env)  # map_tiles(): the public report form's tile server, if any
