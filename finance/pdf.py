"""The contract (任务书) as a PDF (WeasyPrint, CJK fonts as in ``grants.pdf``).

WeasyPrint is slow to import, so it is imported inside :func:`render_contract_pdf`.
"""

from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from grants.pdf import _localized, css_string, format_amount, page_counter_content

from .projects import approved_lines


def _when(moment):
    return timezone.localtime(moment) if moment else None


def contract_pdf_context(contract):
    """Everything the contract shows; ``contract`` may carry unsaved signature fields."""
    from .models import KPI, Milestone

    project = contract.project
    application = project.application
    english = translation.get_language() == "en"
    lines = approved_lines(project)
    total = sum((line.approved for line in lines), Decimal("0.00"))
    requested_total = sum((line.requested for line in lines), Decimal("0.00"))
    rules = application.call.rules
    instalments = []
    for i, share in enumerate(rules["instalments"], start=1):
        share = Decimal(str(share))
        instalments.append(
            {
                "n": i,
                "share": f"{(share * 100).normalize():f} %",
                "amount": format_amount((total * share).quantize(Decimal("0.01"))),
            }
        )
    funder = _("Science and Technology Commission of Shanghai Municipality")
    signatures = [
        (_("Principal investigator"), contract.pi_signed_by, _when(contract.pi_signed_at)),
        (
            _("Host institution"),
            contract.institution_signed_by,
            _when(contract.institution_signed_at),
        ),
        (_("Funder"), contract.officer_signed_by, _when(contract.officer_signed_at)),
    ]
    return {
        "contract": contract,
        "project": project,
        "application": application,
        "funder": funder,
        "program_name": _localized(application.call.program, "name", english),
        "institution_name": _localized(application.institution, "name", english),
        "budget": [
            {
                "label": line.get_category_display(),
                "requested": format_amount(line.requested),
                "approved": format_amount(line.approved),
                "reason": line.reason,
            }
            for line in lines
        ],
        "budget_total": format_amount(total),
        "requested_total": format_amount(requested_total),
        "instalments": instalments,
        "milestones": list(Milestone.objects.filter(project=project)),
        "kpis": list(KPI.objects.filter(project=project)),
        "signatures": [
            {"party": party, "name": who.display_name if who else "", "at": at}
            for party, who, at in signatures
        ],
        "generated_at": timezone.localtime(),
        "page_counter": page_counter_content(_("Page %(page)s of %(pages)s")),
        "funder_css": css_string(funder),
        "running_header": css_string(_("Contract %(number)s") % {"number": project.number}),
    }


def render_contract_html(contract, language=None):
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        return render_to_string(
            "finance/contract_pdf.html",
            {**contract_pdf_context(contract), "LANGUAGE_CODE": language},
        )


def render_contract_pdf(contract, language=None):
    """The contract as PDF bytes, in ``language`` (default: the active language)."""
    import weasyprint

    html = render_contract_html(contract, language)
    return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
