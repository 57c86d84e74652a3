"""The reviewer's submitted review as PDF (WeasyPrint), in the reviewer's language.

Only the one review: never another reviewer's scores or identity. WeasyPrint is slow to
import, so it is imported inside :func:`render_review_pdf` (module-level imports are banned
by the ruff configuration). Fonts as ``grants/pdf.py``: Noto CJK first, so Chinese prints.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from grants.pdf import css_string, page_counter_content

from . import scoring, services
from .models import Review


def review_pdf_context(review, language):
    review = Review.objects.select_related(
        "assignment__application__call__program",
        "assignment__application__applicant",
        "assignment__application__institution",
        "assignment__reviewer",
    ).get(pk=review.pk)
    assignment = review.assignment
    application = assignment.application
    call = application.call
    scheme = scoring.scheme_for_call(call)
    scores = review.scores or {}
    result = services.review_result(review, scheme)
    funder = _("Science and Technology Commission of Shanghai Municipality")
    context = {
        "review": review,
        "assignment": assignment,
        "application": application,
        "title": services.localized(application, "title", language),
        "call_title": services.localized(call, "title", language),
        "program_name": services.localized(call.program, "name", language),
        "anonymous": call.anonymous_review,
        "scheme_name": scheme.name(language),
        "rows": [
            {
                "label": c.label(language),
                "weight": scoring.plain(c.weight),
                "value": c.display(scores.get(c.code)) or "—",
                "threshold": c.display(c.threshold) if c.threshold is not None else "—",
            }
            for c in scheme.criteria
        ],
        "total": scoring.plain(review.total) if review.total is not None else "—",
        "overall_threshold": (
            scoring.plain(scheme.overall_threshold) if scheme.overall_threshold is not None else ""
        ),
        "passes": result.passes_thresholds if result else None,
        "recommendation": scheme.recommendation_label(review.recommendation, language),
        "submitted_at": timezone.localtime(review.submitted_at) if review.submitted_at else None,
        "generated_at": timezone.localtime(),
        "funder": funder,
        "funder_css": css_string(funder),
        "page_counter": page_counter_content(_("Page %(page)s of %(pages)s")),
        "running_header": css_string(
            _("Review of proposal %(number)s") % {"number": application.number or ""}
        ),
    }
    if not call.anonymous_review:
        context["pi"] = application.applicant.display_name
        context["institution"] = services.localized(application.institution, "name", language)
    return context


def render_review_pdf(review, language=None):
    """The review as PDF bytes, in ``language`` (default: the reviewer's)."""
    import weasyprint

    language = language or services.reviewer_language(review.assignment.reviewer)
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        html = render_to_string(
            "review/pdf/review.html",
            {**review_pdf_context(review, language), "LANGUAGE_CODE": language},
        )
    return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
