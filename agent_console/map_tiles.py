"""The report form's map: the tile server the installation names (``PASOKH_MAP_TILES_URL``), for templates and the CSP.

Without a tile server the public site shows no map and loads no tile: the form works by address and the phone's
location alone. With one, its origin is the only other place a public page may load images from (decision 62).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from callcenter.platform.settings import Settings

# The template's subdomain placeholder (``https://{s}.tile.example/…``): any subdomain of that host.
_SUBDOMAINS = "{s}."


@dataclass(frozen=True)
class MapTiles:
    url: str  # Leaflet's URL template: {z}/{x}/{y}, optionally {s}
    attribution: str


def map_tiles_of(settings: Settings) -> MapTiles | None:
    return MapTiles(url=settings.map_tiles_url, attribution=settings.map_tiles_attribution) \
        if settings.map_tiles_url else None


def tiles_origin(url: str | None) -> str | None:
    """The CSP source of a tile URL template: its scheme and host (``https://*.tile.example`` for ``{s}.``), or
    None without a template. A template that is not an http(s) URL names no origin: no map is better than a
    policy opened to something unintended."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.netloc
    if parts.scheme not in ("http", "https") or not host or "@" in host:
        return None
    if host.startswith(_SUBDOMAINS):
        host = "*." + host[len(_SUBDOMAINS):]
    if not all(character.isalnum() or character in ".-:*" for character in host):
        return None
    return f"{parts.scheme}://{host}"


@pass_context
def _map_tiles(context: Context) -> MapTiles | None:
    """The page's tile server, from the settings of the app serving the request (None on a page without one, or
    when the URL names no usable origin, since the policy would block its tiles anyway)."""
    request: Any = context.get("request")
    web = getattr(getattr(getattr(request, "app", None), "state", None), "web", None)
    settings = getattr(web, "settings", None)
    if not isinstance(settings, Settings) or tiles_origin(settings.map_tiles_url) is None:
        return None
    return map_tiles_of(settings)


def install_map_globals(env: Environment) -> None:
    """``map_tiles()`` in every template: the public report form's partial asks it whether to draw a map."""
    env.globals["map_tiles"] = _map_tiles
