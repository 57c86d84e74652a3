"""One way every list page paginates its django-tables2 table."""

from django.core.paginator import Paginator
from django_tables2 import RequestConfig

PER_PAGE = 25
#: ``?per_page=`` may ask for more rows, up to this many.
MAX_PER_PAGE = 100


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *args, **kwargs):
        super().__init__(object_list, max(1, min(int(per_page), MAX_PER_PAGE)), *args, **kwargs)


def configure(request, table, per_page=PER_PAGE):
    """Order and paginate ``table`` from the request's query string."""
    return RequestConfig(
        request, paginate={"per_page": per_page, "paginator_class": CappedPaginator}
    ).configure(table)
