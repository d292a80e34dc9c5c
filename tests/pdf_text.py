"""A PDF's text as a reader gets it, with pdfminer.six.

pdfminer's own extract_text() leaves out two things a PDF viewer does (pdftotext, pdf.js,
Acrobat): it ignores /ActualText, which says which characters a run of glyphs stands for
when they do not map one to one (a Thai ำ drawn as two glyphs, ด์ as one cluster), and
it returns right-to-left runs in the order they are drawn. This reads the same glyphs
through pdfminer's interpreter, takes /ActualText where a span carries it, and puts each
line into reading order with the Unicode bidirectional algorithm (python-bidi)."""

import unicodedata
from io import BytesIO

from bidi import get_display
from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTChar
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.psparser import PSLiteral


class _Reader(PDFPageAggregator):
    def __init__(self, rsrcmgr):
        super().__init__(rsrcmgr, laparams=LAParams(line_margin=0.3, char_margin=3.0))
        self.actual: list[str | None] = []
        self.notdef = 0

    def begin_tag(self, tag: PSLiteral, props=None) -> None:
        text = None
        if isinstance(props, dict) and "ActualText" in props:
            raw = props["ActualText"]
            text = raw.decode("utf-16") if raw[:2] in (b"\xfe\xff", b"\xff\xfe") else raw.decode("latin-1")
        self.actual.append(text)
        self._first = True

    def end_tag(self) -> None:
        if self.actual:
            self.actual.pop()

    def render_char(self, matrix, font, fontsize, scaling, rise, cid, ncs, graphicstate):
        if cid == 0 and font.is_multibyte():
            self.notdef += 1
        width = super().render_char(matrix, font, fontsize, scaling, rise, cid, ncs, graphicstate)
        actual = next((a for a in reversed(self.actual) if a is not None), None)
        if actual is not None:
            char = self.cur_item._objs[-1]
            assert isinstance(char, LTChar)
            char._text = actual if self._first else ""
            self._first = False
        return width


def _chars(item):
    if isinstance(item, LTChar):
        yield item
    elif hasattr(item, "__iter__"):
        for child in item:
            yield from _chars(child)


def _visual(char: LTChar) -> str:
    """A glyph's characters as drawn: one glyph for several right-to-left characters (a
    lam-alef ligature) holds them in reading order, which the bidi pass would reverse."""
    text = char.get_text()
    strong = next((unicodedata.bidirectional(c) for c in text if unicodedata.bidirectional(c) in ("L", "R", "AL")), "L")
    return text[::-1] if len(text) > 1 and strong in ("R", "AL") else text


def _lines_of(layout) -> list[str]:
    """Glyphs on one baseline make a line, left to right as drawn, then put in reading
    order. (pdfminer's own grouping splits a line where a run changes direction.)"""
    rows: list[list[LTChar]] = []
    for char in sorted(_chars(layout), key=lambda c: -c.matrix[5]):  # by baseline, top down
        if rows and abs(rows[-1][0].matrix[5] - char.matrix[5]) <= 1.5:
            rows[-1].append(char)
        else:
            rows.append([char])
    lines = []
    for row in rows:
        chars = sorted(row, key=lambda c: c.x0)
        drawn, right = "", None
        for char in chars:
            if right is not None and char.x0 - right > 0.2 * char.size and not drawn.endswith(" "):
                drawn += " "
            drawn += _visual(char)
            right = char.x1 if right is None else max(right, char.x1)
        lines.append(get_display(drawn).strip())
    return [line for line in lines if line]


def pages(pdf: bytes, strict: bool = True) -> list[list[str]]:
    """Each page's lines in reading order. Strict: raises if any glyph is .notdef (an
    empty box) or has no known character."""
    manager = PDFResourceManager()
    device = _Reader(manager)
    interpreter = PDFPageInterpreter(manager, device)
    out = []
    for page in PDFPage.get_pages(BytesIO(pdf)):
        interpreter.process_page(page)
        out.append(_lines_of(device.get_result()))
    text = "\n".join("\n".join(p) for p in out)
    if strict:
        assert device.notdef == 0, f"{device.notdef} .notdef glyphs"
        assert "(cid:" not in text, "glyphs with no known character"
    return out


def text(pdf: bytes) -> str:
    return "\n".join("\n".join(p) for p in pages(pdf))
