"""The proposal as a PDF (WeasyPrint), in the reader's language, for officials and the PI.

WeasyPrint is slow to import, so it is imported inside :func:`render_application_pdf`
(module-level imports are banned by the ruff configuration).
"""

import re
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .enums import BudgetCategory

CATEGORY_ORDER = {c.value: i for i, c in enumerate(BudgetCategory)}


def format_amount(amount):
    """``Decimal('1250000')`` → ``'1,250,000.00'`` (exact: no float on the way)."""
    return f"{Decimal(amount).quantize(Decimal('0.01')):,.2f}"


def css_string(text):
    """``text`` as a CSS string literal, safe inside a <style> element."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\a ")
        .replace("<", "\\3c ")
        .replace(">", "\\3e ")
    )
    return f'"{escaped}"'


def page_counter_content(template):
    """A translated "Page %(page)s of %(pages)s" as a CSS ``content`` value with counters."""
    parts = []
    for piece in re.split(r"(%\((?:page|pages)\)s)", template):
        if piece == "%(page)s":
            parts.append("counter(page)")
        elif piece == "%(pages)s":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return " ".join(parts) or '""'


def _localized(obj, field, english):
    """The English variant of a bilingual field when reading in English and it is filled."""
    if english:
        return getattr(obj, f"{field}_en", "") or getattr(obj, field)
    return getattr(obj, field)


def application_pdf_context(application):
    """Everything the template shows, read in a fixed number of queries."""
    from .models import Application

    application = (
        Application.objects.select_related("call__program", "applicant__institution", "institution")
        .prefetch_related("team__user__institution", "budget_lines", "experts_to_avoid")
        .get(pk=application.pk)
    )
    english = translation.get_language() == "en"
    lines = sorted(application.budget_lines.all(), key=lambda b: CATEGORY_ORDER.get(b.category, 99))
    total = sum((line.amount for line in lines), Decimal("0.00"))
    submitted_at = (
        timezone.localtime(application.submitted_at) if application.submitted_at else None
    )
    funder = _("Science and Technology Commission of Shanghai Municipality")
    return {
        "application": application,
        "funder": funder,
        "program_name": _localized(application.call.program, "name", english),
        "call_title": _localized(application.call, "title", english),
        "institution_name": _localized(application.institution, "name", english),
        "team": [
            {
                "name": m.user.display_name,
                "institution": (
                    _localized(m.user.institution, "name", english) if m.user.institution else ""
                ),
                "role": m.get_role_display(),
            }
            for m in application.team.all()
        ],
        "budget": [
            {"label": line.get_category_display(), "amount": format_amount(line.amount)}
            for line in lines
        ],
        "budget_total": format_amount(total),
        "experts_to_avoid": list(application.experts_to_avoid.all()),
        "submitted_at": submitted_at,
        "generated_at": timezone.localtime(),
        "page_counter": page_counter_content(_("Page %(page)s of %(pages)s")),
        "funder_css": css_string(funder),
        "running_header": css_string(
            _("Proposal %(number)s") % {"number": application.number or _("(draft)")}
        ),
    }


def render_application_pdf(application, language=None):
    """The proposal as PDF bytes, in ``language`` (default: the active language)."""
    import weasyprint

    language = language or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        html = render_to_string(
            "grants/pdf/application.html",
            {**application_pdf_context(application), "LANGUAGE_CODE": language},
        )
    return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
