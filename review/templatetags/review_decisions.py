"""The decided proposal's reviews, anonymised, on the PI's proposal page (with ratings)."""

from django import template
from django.utils.translation import get_language

from review.decisions import anonymised_reviews, can_rate

register = template.Library()


@register.inclusion_tag("review/decision_reviews.html", takes_context=True)
def applicant_reviews(context, application):
    """Shown to the PI only, once the proposal is decided (in notice, awarded, rejected)."""
    user = context.get("user")
    if user is None or not can_rate(application, user):
        return {"show": False}
    return {
        "show": True,
        "application": application,
        "reviews": anonymised_reviews(application, language=get_language()),
        "csrf_token": context.get("csrf_token"),
        "ratings": [(4, "4"), (3, "3"), (2, "2"), (1, "1")],
    }
