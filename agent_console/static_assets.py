"""The pages' static files under content-hashed URLs (cached for a year), and the globals templates use to name them.

A page names a file as ``static_url('console.js')``: ``/static/console.js?v=<hash of its content>``. An ES module's
imports of its siblings (``from "./common.js"``) are rewritten when served to carry the sibling's hash too, so a
module's own hash covers what it imports and a change anywhere reaches the browser as a new URL (ADR 0048).
Hashes are computed once, on first use, from the files as they are then.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from agent_console.vocabulary import page_vocabulary

STATIC_DIR = Path(__file__).resolve().parent / "static"
# A hashed URL never changes content; an unhashed one (or an old hash) is revalidated on every use.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_SIBLING_IMPORT = re.compile(r'(\b(?:from|import)\s*)"\./([\w-]+\.js)"')
_VERSION_LENGTH = 16


@dataclass(frozen=True)
class Asset:
    version: str
    rewritten: bytes | None  # an ES module whose sibling imports now carry their hashes; None: served as on disk


class StaticAssets:
    """Every file under ``directory`` with its content hash; our own modules with their imports rewritten."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def url(self, name: str) -> str:
        asset = self.assets.get(name)
        # A file missing at startup (vendor/ not built yet) keeps a plain URL: the page still renders, and the
        # file, once there, is revalidated on every use.
        return f"/static/{name}" if asset is None else f"/static/{name}?v={asset.version}"

    @cached_property
    def assets(self) -> dict[str, Asset]:
        found: dict[str, Asset] = {}
        names = sorted(path.relative_to(self.directory).as_posix() for path in self.directory.rglob("*")
                       if path.is_file())
        for name in names:
            self._asset(name, found, visiting=())
        return found

    def _asset(self, name: str, found: dict[str, Asset], visiting: tuple[str, ...]) -> Asset:
        if name in found:
            return found[name]
        if name in visiting:
            raise RuntimeError(f"import cycle among static modules: {' -> '.join((*visiting, name))}")
        data = (self.directory / name).read_bytes()
        rewritten = None
        if name.endswith(".js") and "/" not in name:  # ours, not vendor/ (served as published)
            folder = (*visiting, name)
            text = _SIBLING_IMPORT.sub(
                lambda m: f'{m.group(1)}"./{m.group(2)}?v={self._asset(m.group(2), found, folder).version}"',
                data.decode("utf-8"))
            rewritten = text.encode("utf-8")
            data = rewritten
        found[name] = Asset(version=hashlib.sha256(data).hexdigest()[:_VERSION_LENGTH], rewritten=rewritten)
        return found[name]


class HashedStaticFiles(StaticFiles):
    """StaticFiles serving rewritten modules, with a year's caching for a URL whose hash is current."""

    def __init__(self, assets: StaticAssets) -> None:
        super().__init__(directory=assets.directory)
        self.static_assets = assets

    async def get_response(self, path: str, scope: Scope) -> Response:
        asset = self.static_assets.assets.get(Path(path).as_posix())
        if asset is not None and asset.rewritten is not None:
            response = _module_response(asset, scope)
        else:
            response = await super().get_response(path, scope)
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
        current = asset is not None and asked == asset.version and response.status_code in (200, 304)
        response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
        return response


def _module_response(asset: Asset, scope: Scope) -> Response:
    etag = f'"{asset.version}"'
    headers = {"ETag": etag}
    request_headers = dict(scope.get("headers", []))
    if request_headers.get(b"if-none-match", b"").decode("latin-1") == etag:
        return Response(status_code=304, headers=headers)
    assert asset.rewritten is not None
    return Response(asset.rewritten, media_type="text/javascript", headers=headers)


ASSETS = StaticAssets(STATIC_DIR)


def install_page_globals(env: Environment, assets: StaticAssets = ASSETS) -> None:
    """What every template may call: ``static_url(name)`` and ``page_vocabulary(role)`` (embedded as JSON)."""
    names: dict[str, Callable[..., Any]] = {"static_url": assets.url, "page_vocabulary": page_vocabulary}
    env.globals.update(names)
