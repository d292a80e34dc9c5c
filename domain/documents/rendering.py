"""The contract as a PDF."""

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from domain.settings import Settings

# For text beyond Latin-1, when no font is configured.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)


def _font_path(settings: Settings) -> Path | None:
    if settings.pdf_font_path:
        return settings.pdf_font_path
    return next((p for p in FONT_CANDIDATES if p.exists()), None)


def _needs_unicode_font(text: str) -> bool:
    try:
        text.encode("latin-1")
        return False
    except UnicodeEncodeError:
        return True


def render_pdf(text: str, footer: str, settings: Settings) -> bytes:
    """Latin-1 text uses a PDF core font: no font file to parse, embed and subset,
    which halves the render time. Anything else uses a Unicode TrueType font."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))  # the seal carries the real time
    font = _font_path(settings) if _needs_unicode_font(text + footer) else None
    if font:
        pdf.add_font("Body", fname=str(font))
        pdf.set_font("Body", size=10)
    else:
        pdf.set_font("Helvetica", size=10)
        text = text.encode("latin-1", "replace").decode("latin-1")
        footer = footer.encode("latin-1", "replace").decode("latin-1")
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.write(5, text)
    pdf.ln(10)
    pdf.set_font_size(8)
    pdf.write(4, footer)
    return bytes(pdf.output())
