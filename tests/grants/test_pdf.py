"""The proposal PDF: real text (not boxes) in Chinese and English, with the facts officials need."""

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from grants.enums import ApplicationState
from grants.models import ExpertToAvoid
from grants.pdf import page_counter_content, render_application_pdf
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    ProgramFactory,
    UserFactory,
    applicant,
    set_state,
)

pytestmark = pytest.mark.django_db


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def squash(text):
    """Text without whitespace: extraction may break lines inside a long string."""
    return "".join(text.split())


@pytest.fixture
def application():
    pi = applicant(full_name="李晓明", orcid="0000-0002-1825-0097")
    member = UserFactory(full_name="王芳", institution=pi.institution)
    program = ProgramFactory(name="基础研究项目", name_en="Basic Research Program", code="BR")
    call = CallFactory(
        program=program,
        title="基础研究领域项目申报指南",
        title_en="Call for basic research projects",
    )
    app = ApplicationFactory(
        call=call,
        applicant=pi,
        title="量子材料中的拓扑相变研究",
        title_en="Topological phase transitions in quantum materials",
        abstract="研究拓扑量子材料的相变机理。",
        abstract_en="We study the mechanism of phase transitions in topological materials.",
        keywords=["量子材料", "拓扑相变"],
        keywords_en=["quantum materials", "topological transitions"],
        budget={
            "equipment": Decimal("200000.00"),
            "business": Decimal("312345.67"),
            "labor": Decimal("200000.00"),
            "indirect": Decimal("150000.00"),
        },
        team=[member],
    )
    ExpertToAvoid.objects.create(
        application=app, name="赵强", institution="某某大学", reason="长期竞争关系"
    )
    return set_state(
        app, ApplicationState.SUBMITTED, number="BF-2026-000042", submitted_at=app.created_at
    )


def test_chinese_pdf_has_the_proposal_as_text(application):
    data = render_application_pdf(application, language="zh-hans")

    assert data.startswith(b"%PDF-")
    reader, text = pdf_text(data)
    flat = squash(text)
    assert "量子材料中的拓扑相变研究" in flat
    assert "BF-2026-000042" in flat
    assert "李晓明" in flat
    assert "王芳" in flat
    assert "赵强" in flat and "长期竞争关系" in flat
    assert "基础研究领域项目申报指南" in flat
    assert "862,345.67" in flat  # 200,000 + 312,345.67 + 200,000 + 150,000
    assert "312,345.67" in flat
    # The page is A4 (595 × 842 pt).
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_english_pdf_uses_english_names(application):
    data = render_application_pdf(application, language="en")

    reader, text = pdf_text(data)
    flat = squash(text)
    assert squash("Topological phase transitions in quantum materials") in flat
    assert squash("Call for basic research projects") in flat
    assert "BF-2026-000042" in flat
    assert "李晓明" in flat
    assert "862,345.67" in flat
    pages = len(reader.pages)
    assert squash(f"Page 1 of {pages}") in flat
    assert squash(f"Page {pages} of {pages}") in flat
    assert squash("Experts to avoid") in flat


def test_draft_pdf_says_it_is_not_submitted():
    draft = ApplicationFactory(title="类脑智能芯片", budget={"lump_sum": Decimal("200000")})

    _reader, text = pdf_text(render_application_pdf(draft, language="en"))

    flat = squash(text)
    assert "类脑智能芯片" in flat
    assert squash("not yet submitted") in flat
    assert "200,000.00" in flat


def test_page_counter_follows_the_translated_sentence():
    assert page_counter_content("第 %(page)s 页 / 共 %(pages)s 页") == (
        '"第 " counter(page) " 页 / 共 " counter(pages) " 页"'
    )
    assert page_counter_content("Page %(page)s of %(pages)s") == (
        '"Page " counter(page) " of " counter(pages)'
    )
