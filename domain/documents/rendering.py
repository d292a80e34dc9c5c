"""The contract as a PDF, typeset by Typst (domain/templates/contract.typ).

Typst shapes every script (Thai clusters, Arabic joining, right-to-left runs), falls back
from font to font within a line, embeds each font as a subset, numbers the pages and
writes PDF/A-2b. It was chosen over fpdf2 on the same contract: see bench/renderers.py
and docs/decisions.md."""

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources

import typst

from domain import metrics
from domain.documents.fonts import families_for, font_book, font_dirs
from domain.settings import Settings

TEMPLATE = "templates/contract.typ"
_HEADING = re.compile(r"^\d+\.\s+\S")


@dataclass(frozen=True)
class EvidenceRow:
    label: str
    value: str


@dataclass(frozen=True)
class EvidenceSection:
    title: str
    rows: list[EvidenceRow]


@dataclass(frozen=True)
class Evidence:
    """The evidence page: what happened at signing, set after the contract and so covered
    by the seal (S-27)."""

    heading: str
    intro: str
    sections: list[EvidenceSection]
    stamp_title: str
    stamp_subtitle: str
    stamp_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ContractDocument:
    contract_id: str
    title: str
    text: str  # the signed text: its hash is what the partner saw
    programme: str
    created_at: datetime  # the PDF's creation date: the sealing time
    closing: str | None = None
    evidence: Evidence | None = None


def _run(text: str) -> dict:
    return {"text": text, "fonts": families_for(text)}


def blocks(text: str) -> list[dict]:
    """The signed text's structure, for typesetting only (the hash covers the text): the
    first paragraph is the title, a one-line "N. WORDS" paragraph a clause heading,
    paragraphs of "- " lines a list, everything else a paragraph with its line breaks."""
    out = []
    for i, chunk in enumerate(p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()):
        lines = [line.rstrip() for line in chunk.strip("\n").split("\n")]
        if i == 0:
            kind = "title"
        elif len(lines) == 1 and _HEADING.match(lines[0]):
            kind = "heading"
        elif all(line.startswith("- ") for line in lines):
            kind, lines = "items", [line[2:] for line in lines]
        else:
            kind = "para"
        out.append({"kind": kind, "lines": [_run(line) for line in lines]})
    return out


def _evidence(evidence: Evidence | None) -> dict | None:
    if evidence is None:
        return None
    return {
        "heading": evidence.heading,
        "intro": evidence.intro,
        "sections": [
            {"title": s.title, "rows": [{"label": r.label, "value": _run(r.value)} for r in s.rows]}
            for s in evidence.sections
        ],
        "stamp": {"title": evidence.stamp_title, "subtitle": evidence.stamp_subtitle,
                  "lines": evidence.stamp_lines},
    }


def inputs(document: ContractDocument) -> dict:
    """What the template reads: plain data, every value a string."""
    return {
        "title": document.title,
        "author": document.programme,
        "keywords": [f"contract {document.contract_id}"],
        "programme": document.programme,
        "header_right": "Partner agreement",
        "footer_left": f"Contract {document.contract_id}",
        "fonts": families_for(document.text),
        "blocks": blocks(document.text),
        "closing": _run(document.closing) if document.closing else None,
        "evidence": _evidence(document.evidence),
    }


@lru_cache
def _compiler(font_dirs: tuple[str, ...]) -> typst.Compiler:
    template = resources.files("domain").joinpath(TEMPLATE)
    return typst.Compiler(
        str(template), root=str(template.parent), font_paths=font_book(font_dirs).fonts,
        ignore_system_fonts=True,
    )


# A Typst compiler runs one compilation at a time ("Already borrowed" otherwise), and the
# worker renders in threads (domain/services/sealing.py).
_compiling = threading.Lock()


def render_contract(document: ContractDocument, settings: Settings) -> bytes:
    compiler = _compiler(font_dirs(settings))
    data = json.dumps(inputs(document), ensure_ascii=False)
    with _compiling, metrics.RENDER_SECONDS.time():
        pdf = compiler.compile(
            format="pdf", sys_inputs={"data": data},
            timestamp=document.created_at.replace(microsecond=0),  # a PDF date has whole seconds
            pdf_standards=["a-2b"],
        )
    assert isinstance(pdf, bytes)
    return pdf

