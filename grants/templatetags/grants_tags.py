from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def cny(value):
    """An amount of money as ``1,250,000.00`` in every language (as in the PDFs)."""
    if value in (None, ""):
        return "—"
    try:
        return f"{Decimal(value).quantize(Decimal('0.01')):,.2f}"
    except (InvalidOperation, TypeError, ValueError):
        return value
