"""``{% credit_box institution %}``: the institution's credit grade with its inputs, for the
officers who may read it (nothing for anyone else). Two queries: the rule and the row."""

from django import template

from ..credit import credit_of
from ..views_credit import may_see_credit, may_see_credit_box

register = template.Library()


@register.inclusion_tag("integrity/credit_box.html", takes_context=True)
def credit_box(context, institution):
    request = context.get("request")
    user = getattr(request, "user", None)
    if institution is None or user is None or not may_see_credit_box(user):
        return {"credit": None}
    return {"credit": credit_of(institution), "link": may_see_credit(user)}
