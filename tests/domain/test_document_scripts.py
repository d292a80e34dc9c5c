"""S-27: the signed contract names its parties in their own scripts. Each name is read
back from the sealed PDF exactly, with no .notdef glyph, and every font is embedded as a
subset."""

import asyncio
from datetime import UTC, date, datetime
from io import BytesIO

import pypdf
import pytest

from domain.contract_text import bundled_template, render
from domain.documents import fonts
from domain.documents.rendering import ContractDocument, blocks, render_contract
from domain.documents.sealing import load_sealer, seal_pdf
from domain.documents.storage import sha256
from domain.documents.verification import check_pdf
from domain.lifecycle import ContractKind
from domain.settings import Settings
from tests.conftest import sharing_pki
from tests.pdf_text import pages

# legal name, registered address, contact name
PARTIES = {
    "latin": ("Müller & Søn Cloud GmbH", "Hauptstraße 1, 10115 Berlin", "Zoë Østergård"),
    "cyrillic": ("ООО «Акме Клауд»", "ул. Тверская, д. 7, Москва", "Анна Сергеевна"),
    "greek": ("Ελληνική Εταιρεία Νέφους Α.Ε.", "Λεωφόρος Κηφισίας 12, Αθήνα", "Νίκος Παπαδόπουλος"),
    "simplified chinese": ("阿克米云计算有限公司", "上海市浦东新区世纪大道100号", "王小明"),
    "traditional chinese": ("雲端科技股份有限公司", "臺北市信義區松高路11號", "陳國榮"),
    "japanese": ("株式会社クラウドサービス東京", "東京都千代田区丸の内1丁目", "山田太郎"),
    "korean": ("주식회사 클라우드코리아", "서울특별시 강남구 테헤란로 152", "김민준"),
    "thai": ("บริษัท คลาวด์ ไทย จำกัด", "เลขที่ 99 ถนนสุขุมวิท กรุงเทพมหานคร", "สมชาย ใจดี"),
    "arabic": ("شركة السحابة العربية المحدودة", "شارع الملك فهد، الرياض", "محمد العلي"),
    "hebrew": ("חברת הענן בע״מ", "רחוב הרצל 10, תל אביב", "דנה כהן"),
    "mixed latin and cjk": ("Acme 云计算 (Shanghai) Co., Ltd. 上海分公司", "Room 8, 88 Century Ave 世纪大道88号", "Li Wei 李伟"),
}


@pytest.fixture(scope="module")
def settings(settings, tmp_path_factory) -> Settings:
    return sharing_pki(settings, tmp_path_factory.mktemp("data"))


def contract_for(legal_name: str, address: str, contact: str) -> str:
    snapshot = {"legal_name": legal_name, "registration_number": "REG 42", "address": address,
                "contact_name": contact, "email": "partner@example.com", "phone": "+1 555 0100"}
    return render(bundled_template(1), 1, ContractKind.INITIAL, snapshot, ["JP", "TH"],
                  date(2026, 12, 1), date(2027, 11, 30))


def document(text: str) -> ContractDocument:
    return ContractDocument(contract_id="c-42", title="Partner agreement", text=text,
                            programme="Cloud Reseller Programme",
                            created_at=datetime(2026, 11, 30, 9, 30, tzinfo=UTC))


@pytest.fixture(scope="module")
async def sealed(settings) -> dict[str, bytes]:
    sealer = load_sealer(settings)
    out = {}
    for script, party in PARTIES.items():
        pdf = render_contract(document(contract_for(*party)), settings)
        out[script] = await seal_pdf(pdf, sealer, reason="Partner contract c-42")
    return out


@pytest.mark.parametrize("script", PARTIES)
async def test_every_name_reads_back_exactly_from_the_sealed_pdf(settings, sealed, script):
    legal_name, address, contact = PARTIES[script]
    lines = [line for page in pages(sealed[script]) for line in page]  # also: no .notdef
    assert f"Legal name: {legal_name}" in lines
    assert f"Registered address: {address}" in lines
    assert f"Contact: {contact}, partner@example.com, +1 555 0100" in lines
    assert (await check_pdf(sealed[script], sha256(sealed[script]), settings)).valid


def embedded_fonts(pdf: bytes) -> dict[str, str]:
    """Each font's name and the key of its embedded font file."""
    out = {}
    for page in pypdf.PdfReader(BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            [file] = [key for key in descriptor if key.startswith("/FontFile")]
            out[str(font["/BaseFont"])] = file
    return out


@pytest.mark.parametrize("script, font", [
    ("simplified chinese", "NotoSansCJKsc"), ("traditional chinese", "NotoSansCJKtc"),
    ("japanese", "NotoSansCJKjp"), ("korean", "NotoSansCJKkr"), ("thai", "NotoSansThai"),
    ("arabic", "NotoSansArabic"), ("hebrew", "NotoSansHebrew"), ("cyrillic", "NotoSans-"),
])
def test_each_script_is_set_in_its_own_font_embedded_as_a_subset(sealed, script, font):
    fonts_used = embedded_fonts(sealed[script])
    assert any(font in name for name in fonts_used), fonts_used
    for name in fonts_used:
        tag, _, _ = name.lstrip("/").partition("+")
        assert len(tag) == 6 and tag.isupper(), f"{name} is not a subset"


def test_a_cjk_subset_is_small(sealed):
    # The CJK font files are 19 MB; a subset of a few dozen glyphs is kilobytes.
    assert len(sealed["simplified chinese"]) < 150_000


def test_the_text_is_structured_not_just_dumped():
    kinds = [b["kind"] for b in blocks(contract_for(*PARTIES["latin"]))]
    assert kinds[0] == "title"
    assert kinds.count("heading") == 11  # the numbered clauses
    assert "items" in kinds  # the regions


def test_a_partner_value_is_text_not_markup(settings):
    hostile = '#read("/etc/passwd") *bold* $x$ ] [ #set page(width: 1pt)'
    pdf = render_contract(document(contract_for(hostile, "Addr", "C")), settings)
    assert f"Legal name: {hostile}" in [line for page in pages(pdf) for line in page]


def test_rendering_is_deterministic(settings):
    text = contract_for(*PARTIES["thai"])
    assert render_contract(document(text), settings) == render_contract(document(text), settings)


async def test_contracts_rendered_at_once_in_threads_all_come_out(settings):
    # The worker renders in a thread, and runs several signing jobs at once.
    texts = [contract_for(*PARTIES[script]) for script in ("thai", "korean", "arabic", "latin")]
    pdfs = await asyncio.gather(*[asyncio.to_thread(render_contract, document(t), settings) for t in texts])
    assert pdfs == [render_contract(document(t), settings) for t in texts]


@pytest.mark.parametrize("text, flavour", [
    ("阿克米云计算", "sc"), ("雲端科技", "tc"), ("株式会社クラウド", "jp"), ("클라우드", "kr"), ("Acme", "sc"),
])
def test_the_cjk_font_follows_the_text(text, flavour):
    assert fonts.cjk_flavour(text) == flavour


def test_a_machine_without_the_fonts_fails_loudly(tmp_path):
    (tmp_path / "fonts").mkdir()
    settings = Settings(_env_file=None, data_dir=tmp_path, pdf_font_dirs=[tmp_path / "fonts"])
    with pytest.raises(fonts.FontsMissing, match="fonts-noto-core fonts-noto-cjk"):
        fonts.check_fonts(settings)


def test_the_worker_refuses_to_start_without_the_fonts(tmp_path):
    import subprocess
    import sys

    from tests.processes import environment

    settings = Settings(_env_file=None, data_dir=tmp_path)
    env = environment(settings, PDF_FONT_DIRS=str(tmp_path), REDIS_URL="redis://127.0.0.1:6379/0",
                      DATABASE_URL=f"sqlite://{tmp_path / 'db.sqlite3'}")
    run = subprocess.run([sys.executable, "-m", "ops.cli", "worker"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode != 0
    assert "FontsMissing" in run.stdout + run.stderr


def test_a_character_no_font_has_stops_the_render_instead_of_printing_a_box(settings):
    # PDF/A-2b forbids .notdef glyphs, so Typst refuses; the signing job fails and retries,
    # and after its retries the contract shows SIGNING_FAILED with the reason.
    import typst

    with pytest.raises(typst.TypstError, match="could not be displayed"):
        render_contract(document(contract_for("Acme \ue000 Ltd", "Addr", "C")), settings)
