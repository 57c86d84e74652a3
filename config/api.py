"""API conventions of api.md: pagination, and errors as 400/409 bodies."""

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import NumberFilter
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from audit.workflow import WorkflowError


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 500


def validation_body(exc):
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in errors] for field, errors in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def exception_handler(exc, context):
    if isinstance(exc, WorkflowError):
        return Response(
            {"code": exc.code, "detail": str(exc.detail)}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, DjangoValidationError):
        return Response(validation_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        return Response({"detail": str(exc) or "Permission denied."}, status=403)
    return drf_exception_handler(exc, context)


# --- the error responses of the conventions, in the OpenAPI schema ---------------------------

ERROR_SCHEMAS = {
    "FieldErrors": {
        "type": "object",
        "description": "400: messages by field (`non_field_errors` for the whole object).",
        "additionalProperties": True,
    },
    "ErrorDetail": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "Conflict": {
        "type": "object",
        "description": "409: the state forbids it; `code` as in api.md's conventions.",
        "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
        "required": ["code", "detail"],
    },
}


def _error(description, component):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation lists the errors that api.md's
    conventions promise (401, 403; 400 where it changes something or takes query parameters; 404 on one
    object or a page that does not exist; 409 where it changes something), so that clients
    and schema checks know every status the API may answer."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            params = {p.get("name") for p in operation.get("parameters", [])}
            writes = method in ("post", "put", "patch", "delete")
            if writes or any(p.get("in") == "query" for p in operation.get("parameters", [])):
                responses.setdefault("400", _error("Invalid input", "FieldErrors"))
            responses.setdefault("401", _error("No or bad credentials", "ErrorDetail"))
            responses.setdefault("403", _error("Not allowed", "ErrorDetail"))
            if "{" in path or "page" in params:
                responses.setdefault("404", _error("Not found or not visible", "ErrorDetail"))
            if writes:
                responses.setdefault("409", _error("The state forbids it", "Conflict"))
    return result


class IdFilter(NumberFilter):
    """A filter on an id: a whole number in the bigint range, else a 400. (A plain
    NumberFilter takes ``1.5`` or ``-1e308`` and hands it to the database: SQLite then
    fails with a 500.)"""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -(2**63))
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)
