"""API v1 (api.md): integrity credit records and the eligibility check.

Integrity officers, auditors and program officers read the records; integrity officers
record them (through ``integrity.services``). Records are never edited or deleted: a
correction is a new record. Everyone else sees no record at all (an empty list, 404).
"""

import hashlib

from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Role

from . import exchange, services
from .models import Action, CreditRecord

#: Roles that read the credit records.
READ_ROLES = (Role.INTEGRITY_OFFICER, Role.AUDITOR, Role.PROGRAM_OFFICER)


def reads_records(user):
    return user.is_authenticated and (user.is_superuser or user.has_role(*READ_ROLES))


def records_records(user):
    return user.is_authenticated and (user.is_superuser or user.has_role(Role.INTEGRITY_OFFICER))


class BarsField(serializers.ListField):
    child = serializers.ChoiceField(choices=Action.choices)

    def get_attribute(self, instance):
        return instance.bars


class RawJSONParser(BaseParser):
    """Keeps the JSON body's bytes (checksum of the list; read from the request stream, past
    Django's in-memory limit on form bodies — a list of 100,000 rows is tens of MB): the view
    parses them. Not a JSONParser subclass, which DRF would feed from ``request.body``."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"_raw": stream.read() if stream is not None else b""}


class CreditRecordSerializer(serializers.ModelSerializer):
    bars = BarsField(
        required=False,
        help_text=_("What the record bars while in force: apply, review, receive_funds."),
    )
    superseded_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = CreditRecord
        fields = [
            "id",
            "subject_user",
            "subject_institution",
            "category",
            "bars",
            "starts_on",
            "ends_on",
            "source",
            "description",
            "decision",
            "deciding_body",
            "legal_basis",
            "source_department",
            "supersedes",
            "superseded_by",
            "created_at",
            "subject_agency",
            "subject_kind",
            "subject_name",
            "subject_id_masked",
            "subject_orcid",
            "subject_credit_code",
            "subject_institution_name",
            "match_status",
            "sanctions",
            "serious_dishonesty",
            "import_batch",
        ]
        read_only_fields = [
            "supersedes",
            "created_at",
            "subject_id_masked",
            "match_status",
            "serious_dishonesty",
            "import_batch",
        ]

    def validate_bars(self, bars):
        return list(dict.fromkeys(bars))

    def validate(self, attrs):
        if not any(
            attrs.get(name) for name in ("subject_user", "subject_institution", "subject_agency")
        ):
            raise serializers.ValidationError(
                _("Name the person or the institution the record is about.")
            )
        return attrs

    def create(self, validated_data):
        return services.record_create(created_by=self.context["request"].user, **validated_data)


#: The lists' exchange is invisible to those who do not read credit records.
NOT_VISIBLE = OpenApiResponse(description=_("Not visible to the caller."))


class RecordPermission(permissions.BasePermission):
    message = _("Only integrity officers record credit records.")

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return records_records(request.user)


class CreditRecordFilter(filters.FilterSet):
    bars = filters.ChoiceFilter(choices=Action.choices, method="filter_bars")

    class Meta:
        model = CreditRecord
        fields = ["subject_user", "subject_institution", "category", "source", "bars"]

    def filter_bars(self, queryset, name, value):
        return queryset.barring(value)


@extend_schema(tags=["integrity"])
class CreditRecordViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Research-integrity credit records. No update or delete: record a correction."""

    queryset = CreditRecord.objects.none()  # for the schema; get_queryset filters per caller
    serializer_class = CreditRecordSerializer
    permission_classes = [permissions.IsAuthenticated, RecordPermission]
    filterset_class = CreditRecordFilter

    def get_queryset(self):
        if not reads_records(self.request.user):
            return CreditRecord.objects.none()
        return CreditRecord.objects.select_related("superseded_by").order_by("-starts_on", "-id")

    # --- exchange with other departments (integrity officers only) ---------------------------

    def _exchange_allowed(self, request):
        """Integrity officers; readers of the records get 403, everyone else 404."""
        if records_records(request.user):
            return
        if reads_records(request.user):
            self.permission_denied(
                request, message=_("Only integrity officers import and export lists.")
            )
        raise Http404

    @extend_schema(
        tags=["integrity"],
        request={
            "application/json": inline_serializer(
                "RecordsImport",
                {
                    "source": serializers.CharField(),
                    "records": serializers.ListField(child=serializers.DictField()),
                },
            ),
            "multipart/form-data": inline_serializer(
                "RecordsImportFile",
                {"source": serializers.CharField(), "file": serializers.FileField()},
            ),
        },
        parameters=[
            OpenApiParameter("dry_run", bool, description=_("Check and match only; write nothing."))
        ],
        responses={
            200: OpenApiResponse(description=_("Dry run: what an import would do.")),
            404: NOT_VISIBLE,
            201: OpenApiResponse(
                description=_(
                    '{"created", "duplicates", "rejected": [{"row", "errors"}], "matched", '
                    '"ambiguous", "unmatched", "rows", "dry_run", "batch", "report"}'
                )
            ),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[RawJSONParser, MultiPartParser, FormParser],
    )
    def import_(self, request):
        """Import another department's list (api.md): JSON body or CSV/JSON file."""
        self._exchange_allowed(request)
        dry_run = str(request.query_params.get("dry_run", "")).lower() in ("1", "true", "yes")
        try:
            if "file" in request.FILES:
                upload = request.FILES["file"]
                file_format, source, rows, sha = exchange.read_upload(upload, upload.name)
                source = request.data.get("source") or source
                filename = upload.name
            elif "_raw" in request.data:
                raw = request.data["_raw"]
                source, rows = exchange.json_rows(raw)
                file_format, sha, filename = "json", hashlib.sha256(raw).hexdigest(), ""
            else:
                raise exchange.ExchangeError(_("Send a JSON body or a file."))
            result = exchange.import_records(
                rows,
                source=source,
                created_by=request.user,
                dry_run=dry_run,
                file_format=file_format,
                filename=filename,
                sha256=sha,
            )
        except exchange.ExchangeError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from exc
        return Response(result.as_dict(), status=200 if dry_run else 201)

    @extend_schema(
        tags=["integrity"],
        parameters=[
            OpenApiParameter("fmt", str, enum=["csv", "json"], description=_("File format.")),
            OpenApiParameter(
                "sidecar", bool, description=_("The .sha256 line instead of the file.")
            ),
        ],
        responses={
            200: OpenApiResponse(description=_("The list, checksum in X-Checksum-SHA256.")),
            404: NOT_VISIBLE,
        },
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        """The funder's serious-dishonesty list in force, as CSV or JSON, with its SHA-256."""
        self._exchange_allowed(request)
        file_format = request.query_params.get("fmt", "json")
        if file_format not in ("csv", "json"):
            raise serializers.ValidationError({"fmt": [_("Use csv or json.")]})
        return export_response(
            exchange.export_serious_list(file_format),
            sidecar=request.query_params.get("sidecar") in ("1", "true", "yes"),
        )


def export_response(export, *, sidecar=False):
    """The file (or its ``.sha256`` sidecar) with the checksum in headers."""
    if sidecar:
        response = HttpResponse(export.sidecar, content_type="text/plain; charset=utf-8")
        filename = f"{export.filename}.sha256"
    else:
        response = HttpResponse(export.body, content_type=export.content_type)
        filename = export.filename
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Checksum-SHA256"] = export.sha256
    response["Digest"] = export.digest_header
    return response


# --- eligibility check ---------------------------------------------------------------------


class CheckQuerySerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, help_text=_("The person's user id."))
    action = serializers.ChoiceField(choices=Action.choices)


class CheckView(APIView):
    """May this person take this action today? Staff roles ask about anyone; every user may
    ask about themselves."""

    @extend_schema(
        tags=["integrity"],
        parameters=[CheckQuerySerializer],
        responses={
            200: inline_serializer(
                "Eligibility",
                {
                    "allowed": serializers.BooleanField(),
                    "reasons": serializers.ListField(child=serializers.CharField()),
                },
            ),
            400: OpenApiResponse(description=_("Missing or invalid user or action.")),
            403: OpenApiResponse(description=_("Only staff roles may ask about somebody else.")),
        },
    )
    def get(self, request):
        query = CheckQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        subject_id = query.validated_data["user"]
        caller = request.user
        # Asked before the lookup, so the answer tells outsiders nothing about who exists.
        if subject_id != caller.pk and not (caller.is_superuser or caller.is_staff_role):
            self.permission_denied(request, message=_("You may check only yourself."))
        subject = get_user_model().objects.filter(pk=subject_id).first()
        if subject is None:
            raise serializers.ValidationError({"user": [_("No such user.")]})
        result = services.check_eligibility(query.validated_data["action"], users=[subject])
        return Response({"allowed": result.allowed, "reasons": [str(r) for r in result.reasons]})
