"""Persian PDF documents (fpdf2): the vendored Vazirmatn fonts and HarfBuzz shaping, right to left, set up once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fpdf import FPDF

# The TTFs are copied from the vazirmatn npm package by `make vendor`, like the page's web fonts; nothing is
# fetched at run time.
FONT_DIR = Path(__file__).resolve().parents[2] / "agent_console" / "static" / "vendor"
FONT = "Vazirmatn"
FONT_FILES = (("", "Vazirmatn-Regular.ttf"), ("B", "Vazirmatn-Bold.ttf"))


def persian_document(*, title: str, page_format: str | tuple[float, float],
                     orientation: Literal["P", "L"] = "P") -> FPDF:
    """An empty document in millimetres whose text is Vazirmatn (regular and bold as ``FONT``), shaped and ordered
    right to left."""
    pdf = FPDF(orientation=orientation, unit="mm", format=page_format)
    pdf.set_title(title)
    pdf.set_creator("Pasokh")
    for style, file in FONT_FILES:
        path = FONT_DIR / file
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; `make vendor` copies it from node_modules/vazirmatn")
        pdf.add_font(FONT, style=style, fname=str(path))
    # HarfBuzz joins the Persian letters and fpdf2 orders the runs right to left; without it the letters
    # would be printed isolated and reversed.
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="fas")
    return pdf
