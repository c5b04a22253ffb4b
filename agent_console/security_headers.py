"""Response headers every page and API answer carries: what a browser may load, frame, send and use for us."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The citizens' public site (agent_console/templates/public/): the only pages that may ask for the phone's
# location (the report form's "use my location"), and draw a map from the configured tile server (decision 62).
PUBLIC_SITE = "/citizen"


def content_security_policy(*, image_origins: tuple[str, ...] = ()) -> str:
    """Scripts and styles only from our own files (no inline <script>, no on*= handlers, no style= attributes:
    the pages keep theirs in agent_console/static); images and audio are our photos and recordings, plus on the
    public site the map's tiles (``image_origins``, only when a tile server is configured); the only connections
    are our API and websocket ('self' covers ws:/wss: to the same host). Nobody may frame a page (clickjacking),
    and forms post only to us."""
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        " ".join(("img-src 'self'", *image_origins)),
        "font-src 'self'",
        "media-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def permissions_policy(*, geolocation: bool = False) -> str:
    """No staff page needs a camera, a microphone (operators speak through their SIP phone), a location or the
    like; the public site may ask for the location, from our own pages only."""
    features = ("camera", "microphone", "geolocation", "payment", "usb", "serial", "bluetooth", "hid", "midi",
                "accelerometer", "gyroscope", "magnetometer", "display-capture", "browsing-topics")
    return ", ".join(f"{feature}=(self)" if feature == "geolocation" and geolocation else f"{feature}=()"
                     for feature in features)


CONTENT_SECURITY_POLICY = content_security_policy()
PERMISSIONS_POLICY = permissions_policy()
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "same-origin",  # a tracking code in a URL never leaves for another site
    "Permissions-Policy": PERMISSIONS_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Cross-Origin-Opener-Policy": "same-origin",
}


def is_public_site(path: str) -> bool:
    return path == PUBLIC_SITE or path.startswith(PUBLIC_SITE + "/")


def security_headers(path: str, *, tiles_origin: str | None = None) -> dict[str, str]:
    """The headers of an answer at ``path``: ``SECURITY_HEADERS``, and on the public site the location and the
    tile server's images (agent_console/map_tiles.py names its origin) allowed."""
    if not is_public_site(path):
        return SECURITY_HEADERS
    return {
        **SECURITY_HEADERS,
        "Content-Security-Policy": content_security_policy(image_origins=(tiles_origin,) if tiles_origin else ()),
        "Permissions-Policy": permissions_policy(geolocation=True),
    }


class SecurityHeadersMiddleware:
    """Adds ``security_headers(path)`` to every HTTP response (pages, API, static files, errors, the 413s)."""

    def __init__(self, app: ASGIApp, *, tiles_origin: str | None = None) -> None:
        self.app = app
        self.tiles_origin = tiles_origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = security_headers(scope.get("path", ""), tiles_origin=self.tiles_origin)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in chosen.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
