"""Open311 answers as the spec writes them: JSON, or XML with its element names (``<services><service>…``).

Both come from the same plain values (dicts, lists, strings, numbers, booleans, None): a list is an element per
item, named by the singular the spec uses (``service_requests`` → ``request``, ``attributes`` → ``attribute``).
"""

from __future__ import annotations

import enum
import json
from typing import Any
from xml.etree import ElementTree

from callcenter.platform.errors import PasokhError, ValidationFailed


class Format(enum.StrEnum):
    """The formats, as the path's suffix names them."""

    JSON = "json"
    XML = "xml"


CONTENT_TYPES = {Format.JSON: "application/json; charset=utf-8", Format.XML: "text/xml; charset=utf-8"}
ITEM_NAMES = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
              "values": "value", "endpoints": "endpoint", "formats": "format"}


def render(value: Any, *, root: str, fmt: Format) -> bytes:
    """``value`` (the whole answer) in ``fmt``; ``root`` is the XML document element (JSON has none)."""
    if fmt == Format.JSON:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    document = ElementTree.Element(root)
    _fill(document, root, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(document, encoding="utf-8",
                                                                               xml_declaration=False)


def error_code(error: PasokhError) -> int:
    """The HTTP status an Open311 client gets: invalid input is the spec's 400 (our API elsewhere says 422)."""
    return 400 if isinstance(error, ValidationFailed) else error.status_code


def errors_body(error: PasokhError) -> list[dict[str, Any]]:
    """The spec's error array: a code and a description, Persian as every message of ours, followed by the
    parameter it is about in the spec's own name (``(service_code)``), for the app's developer."""
    field = error.details.get("field") if error.for_staff else None
    description = f"{error.staff_message} ({field})" if field else error.staff_message
    return [{"code": error_code(error), "description": description}]


def _fill(element: ElementTree.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, key), key, item)
    elif isinstance(value, list):
        for item in value:
            child_name = ITEM_NAMES[name]
            _fill(ElementTree.SubElement(element, child_name), child_name, item)
    else:
        element.text = _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
