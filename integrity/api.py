"""API v1 (api.md): integrity credit records and the eligibility check.

Integrity officers, auditors and program officers read the records; integrity officers
record them (through ``integrity.services``). Records are never edited or deleted: a
correction is a new record. Everyone else sees no record at all (an empty list, 404).
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Role

from . import services
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


class CreditRecordSerializer(serializers.ModelSerializer):
    bars = BarsField(
        required=False,
        help_text=_("What the record bars while in force: apply, review, receive_funds."),
    )
    superseded_by = serializers.PrimaryKeyRelatedField(read_only=True)

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
        ]
        read_only_fields = ["supersedes", "created_at"]

    def validate_bars(self, bars):
        return list(dict.fromkeys(bars))

    def validate(self, attrs):
        if not attrs.get("subject_user") and not attrs.get("subject_institution"):
            raise serializers.ValidationError(
                _("Name the person or the institution the record is about.")
            )
        return attrs

    def create(self, validated_data):
        return services.record_create(created_by=self.context["request"].user, **validated_data)


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
