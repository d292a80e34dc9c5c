"""fpdf2 against Typst on the same contract: CPU time per render, and whether every
partner name reads back exactly from the PDF.

    .venv/bin/python -m bench.renderers [--runs 20]

The contract is the bundled template with a partner whose name, address and contact are in
every script the programme's markets use (one line each, and a mixed Latin + CJK line).
Both renderers get the same fonts (Debian's Noto), both embed subsets:
- Typst: domain/documents/rendering.py as the worker runs it (PDF/A-2b, page N of M).
- fpdf2 2.8: Noto Sans with set_fallback_fonts for CJK, Thai, Arabic and Hebrew, and
  set_text_shaping(True) (uharfbuzz), one multi_cell per paragraph.
Text is read back with tests/pdf_text.py (pdfminer.six, /ActualText, bidi) and, where
poppler's pdftotext is installed, with that too. CPU is this process's user + system time
(time.process_time), so it counts Typst's threads as well. The machine's load shows in
every figure: the load average is printed.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime

from domain.contract_text import bundled_template, render
from domain.documents.fonts import CJK, font_book, font_dirs
from domain.documents.rendering import ContractDocument, render_contract
from domain.lifecycle import ContractKind
from domain.settings import Settings
from tests.pdf_text import pages

LINES = {
    "latin": "Müller & Søn Cloud GmbH",
    "cyrillic": "ООО «Акме Клауд»",
    "greek": "Ελληνική Εταιρεία Νέφους Α.Ε.",
    "simplified chinese": "阿克米云计算有限公司",
    "traditional chinese": "雲端科技股份有限公司",
    "japanese": "株式会社クラウドサービス東京",
    "korean": "주식회사 클라우드코리아",
    "thai": "บริษัท คลาวด์ ไทย จำกัด",
    "arabic": "شركة السحابة العربية المحدودة",
    "hebrew": "חברת הענן בע״מ",
    "mixed latin + cjk": "Acme 云计算 (Shanghai) Co., Ltd. 上海分公司",
}


def contract_text(i: int) -> str:
    snapshot = {"legal_name": LINES["mixed latin + cjk"], "registration_number": f"REG {i}",
                "address": LINES["thai"], "contact_name": LINES["japanese"],
                "email": "partner@example.com", "phone": "+1 555 0100"}
    text = render(bundled_template(1), 1, ContractKind.INITIAL, snapshot, ["JP", "KR", "TH"],
                  date(2026, 12, 1), date(2027, 11, 30))
    # Every other script on a line of its own, as the parties' names and addresses appear.
    return text + "\n\nNAMES ON RECORD\n\n" + "\n".join(f"{k}: {v}" for k, v in LINES.items())


def typst_render(text: str, i: int, settings: Settings) -> bytes:
    return render_contract(ContractDocument(
        contract_id=f"bench-{i}", title="Partner agreement", text=text,
        programme="Cloud Reseller Programme", created_at=datetime(2026, 11, 30, 9, 30, i % 60, tzinfo=UTC),
    ), settings)


def fpdf2_render(text: str, i: int, settings: Settings) -> bytes:
    from fpdf import FPDF

    families = {f.family: f for f in font_book(font_dirs(settings)).fonts.fonts()}
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2026, 11, 30, tzinfo=UTC))
    for name, family in [("Body", "Noto Sans"), ("CJK", CJK["sc"]), ("Thai", "Noto Sans Thai"),
                         ("Arabic", "Noto Sans Arabic"), ("Hebrew", "Noto Sans Hebrew")]:
        info = families[family]
        pdf.add_font(name, fname=info.path, collection_font_number=info.index)
    pdf.set_font("Body", size=10)
    pdf.set_fallback_fonts(["CJK", "Thai", "Arabic", "Hebrew"])
    pdf.set_text_shaping(True)
    pdf.add_page()
    for paragraph in text.split("\n\n"):
        pdf.multi_cell(0, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())


def read_back(pdf: bytes) -> dict[str, bool]:
    lines = {line for page in pages(pdf, strict=False) for line in page}
    return {k: f"{k}: {v}" in lines for k, v in LINES.items()}


def pdftotext(pdf: bytes) -> dict[str, bool] | None:
    if not shutil.which("pdftotext"):
        return None
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(["pdftotext", f.name, "-"], capture_output=True, text=True).stdout
    strip = str.maketrans("", "", "\u202a\u202b\u202c")  # its bidi embedding marks
    lines = {line.translate(strip) for line in out.splitlines()}
    return {k: f"{k}: {v}" in lines for k, v in LINES.items()}


def measure(name: str, fn, runs: int, settings: Settings) -> dict:
    t = time.process_time()
    first = fn(contract_text(0), 0, settings)
    first_cpu = time.process_time() - t
    cpu = []
    for i in range(1, runs + 1):
        text = contract_text(i)  # a different contract each time: no cached result
        t = time.process_time()
        pdf = fn(text, i, settings)
        cpu.append(time.process_time() - t)
    return {"name": name, "first": first_cpu, "cpu": cpu, "pdf": pdf or first}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fpdf2-runs", type=int, default=5, help="fpdf2 is slow: fewer runs")
    args = parser.parse_args()
    settings = Settings(_env_file=None)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other work slows every figure)")
    results = [measure("typst", typst_render, args.runs, settings),
               measure("fpdf2", fpdf2_render, args.fpdf2_runs, settings)]
    for r in results:
        cpu = sorted(r["cpu"])
        print(f"\n== {r['name']} ==")
        print(f"  first render (loads fonts)  {r['first'] * 1000:8.1f} ms CPU")
        print(f"  later renders ({len(cpu):3})        median {statistics.median(cpu) * 1000:7.1f} ms CPU, "
              f"min {cpu[0] * 1000:.1f}, max {cpu[-1] * 1000:.1f}")
        print(f"  PDF size                    {len(r['pdf']):8d} bytes")
        ours, poppler = read_back(r["pdf"]), pdftotext(r["pdf"])
        for script in LINES:
            p = "" if poppler is None else f"   pdftotext: {'exact' if poppler[script] else 'WRONG'}"
            print(f"  {script:22} pdfminer: {'exact' if ours[script] else 'WRONG'}{p}")
    print(f"\nload average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
