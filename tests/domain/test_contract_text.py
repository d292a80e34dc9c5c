"""domain/contract_text.py: the text the partner signs, and its content hash (S-8, S-9)."""

import hashlib
from datetime import date

import pytest

from domain.contract_text import SNAPSHOT_FIELDS, bundled_template, content_hash, render
from domain.lifecycle import ContractKind

SNAPSHOT = {
    "legal_name": "Acme Cloud GmbH",
    "registration_number": "HRB 98765",
    "address": "Hauptstrasse 1, 10115 Berlin",
    "contact_name": "Anna Schmidt",
    "email": "anna@acme.example",
    "phone": "+49301234567",
}
BASE = {
    "template_body": bundled_template(1),
    "template_version": 1,
    "kind": ContractKind.INITIAL,
    "snapshot": SNAPSHOT,
    "regions": ["DE", "FR"],
    "effective_on": date(2025, 3, 10),
    "expires_on": date(2026, 3, 9),
}


def hash_of(**changes) -> str:
    return content_hash(render(**{**BASE, **changes}))


def test_the_same_inputs_give_the_same_text_and_hash():
    assert render(**BASE) == render(**dict(BASE))
    assert hash_of() == hash_of()
    assert hash_of(snapshot=dict(SNAPSHOT)) == hash_of()


def test_the_hash_is_the_sha256_of_the_utf8_text():
    text = render(**BASE)
    assert content_hash(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert len(content_hash(text)) == 64


def test_the_text_shows_what_is_signed():
    text = render(**BASE)
    for value in SNAPSHOT.values():
        assert value in text
    assert "- DE Germany" in text and "- FR France" in text
    assert "2025-03-10" in text and "2026-03-09" in text
    assert "Template version: 1" in text and "Agreement type: Initial" in text


@pytest.mark.parametrize("field", SNAPSHOT_FIELDS)
def test_any_snapshot_field_changes_the_hash(field):
    changed = {**SNAPSHOT, field: SNAPSHOT[field] + "x"}
    assert hash_of(snapshot=changed) != hash_of()


@pytest.mark.parametrize("regions", [["DE"], ["DE", "FR", "GB"], ["DE", "GB"], ["FR", "DE"], []])
def test_the_regions_change_the_hash(regions):
    assert hash_of(regions=regions) != hash_of()


def test_no_regions_yet_is_said_in_the_text():
    assert "(to be selected by the Partner)" in render(**{**BASE, "regions": []})


@pytest.mark.parametrize(
    "dates",
    [
        {"effective_on": date(2025, 3, 11)},
        {"expires_on": date(2026, 3, 10)},
        {"effective_on": date(2025, 3, 11), "expires_on": date(2026, 3, 10)},
    ],
)
def test_the_dates_change_the_hash(dates):
    assert hash_of(**dates) != hash_of()


def test_the_template_version_changes_the_hash():
    assert hash_of(template_version=2) != hash_of()


def test_the_template_body_changes_the_hash():
    assert hash_of(template_body=bundled_template(1) + "\n13. ONE MORE CLAUSE\n") != hash_of()


def test_the_kind_changes_the_hash():
    assert hash_of(kind=ContractKind.RENEWAL) != hash_of()
    assert "Agreement type: Renewal" in render(**{**BASE, "kind": ContractKind.RENEWAL})


def test_a_value_that_looks_like_a_placeholder_is_rendered_literally():
    snapshot = {**SNAPSHOT, "legal_name": "$expires_on ${regions} Ltd"}
    text = render(**{**BASE, "snapshot": snapshot})
    assert "Legal name: $expires_on ${regions} Ltd" in text


def test_non_latin_text_hashes_by_its_utf8_bytes():
    snapshot = {**SNAPSHOT, "legal_name": "ООО «Акме Клауд»"}
    text = render(**{**BASE, "snapshot": snapshot})
    assert "ООО «Акме Клауд»" in text
    assert content_hash(text) == hashlib.sha256(text.encode("utf-8")).hexdigest() != hash_of()
