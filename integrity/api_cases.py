"""API v1: misconduct cases (``/api/v1/integrity/cases/``).

Who reads what, as on the pages (``integrity.cases``):

- integrity officers list, read and open cases, and take the office's steps; they alone read
  the reporter's identity (``reporter``) and the evidence list;
- auditors list and read the cases' metadata, subjects and decision — no ``reporter``, no
  ``evidence``;
- a subject (the person, an administrator of the institution, staff of the agency named)
  lists and reads the decided cases about them — decision and appeal deadline only — and
  appeals (``POST …/transitions/appeal/``) within the window;
- anyone else: an empty list, 404.

Every object shows ``state`` and ``available_transitions``; steps go through
``POST <case>/transitions/<name>/`` with ``{"comment": ...}`` and, for ``decide`` and
``decide_appeal``, the decision's fields. A late appeal answers 409 ``invalid_transition``
with the closing date in ``detail``.
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Agency, Institution, User
from audit import workflow
from audit.workflow import all_transitions

from . import cases
from .models import (
    Action,
    AppealOutcome,
    CaseChannel,
    CaseSubject,
    MisconductCase,
    MisconductCategory,
)


class TransitionsField(serializers.ListField):
    child = serializers.CharField()

    def get_attribute(self, instance):
        request = self.context.get("request")
        return workflow.available_names(instance, request.user) if request else []


class SubjectSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    institution = serializers.PrimaryKeyRelatedField(
        queryset=Institution.objects.all(), required=False, allow_null=True
    )
    agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.all(), required=False, allow_null=True
    )
    display = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = CaseSubject
        fields = ["id", "user", "institution", "agency", "name", "identity", "display"]


class ReporterSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="reporter_user_id", allow_null=True, required=False)
    name = serializers.CharField(source="reporter_name", required=False, allow_blank=True)
    phone = serializers.CharField(source="reporter_phone", required=False, allow_blank=True)
    email = serializers.EmailField(source="reporter_email", required=False, allow_blank=True)
    organisation = serializers.CharField(
        source="reporter_organisation", required=False, allow_blank=True
    )


class CaseSerializer(serializers.ModelSerializer):
    """The case as an auditor reads it (the subject reads less, the officer more)."""

    subjects = SubjectSerializer(many=True)
    available_transitions = TransitionsField(
        read_only=True, help_text=_("Transitions the caller may take now.")
    )
    records = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = MisconductCase
        fields = [
            "id",
            "number",
            "state",
            "available_transitions",
            "channel",
            "title",
            "allegation",
            "kind",
            "subjects",
            "reference_text",
            "investigator",
            "appeal_working_days",
            "findings",
            "sanctions",
            "decided_at",
            "notified_at",
            "appeal_deadline",
            "appeal_text",
            "appealed_at",
            "appeal_outcome",
            "appeal_decision",
            "appeal_decided_at",
            "records",
            "created_at",
        ]
        read_only_fields = fields


class OfficerCaseSerializer(CaseSerializer):
    """Integrity officers: the reporter and the evidence too; they open cases."""

    reporter = ReporterSerializer(source="*", required=False)
    evidence = serializers.SerializerMethodField()
    channel = serializers.ChoiceField(choices=CaseChannel.choices, default=CaseChannel.PAPER)
    title = serializers.CharField(max_length=300)
    allegation = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=MisconductCategory.choices, required=False, allow_blank=True
    )
    reference_text = serializers.CharField(max_length=300, required=False, allow_blank=True)
    appeal_working_days = serializers.IntegerField(min_value=1, max_value=365, required=False)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "reporter", "evidence"]
        read_only_fields = [
            f
            for f in CaseSerializer.Meta.fields
            if f
            not in {
                "channel",
                "title",
                "allegation",
                "kind",
                "subjects",
                "reference_text",
                "appeal_working_days",
            }
        ]

    @extend_schema_field(
        serializers.ListField(
            child=serializers.DictField(),
            help_text=_("Evidence files: id, name, size, content_type (officers only)."),
        )
    )
    def get_evidence(self, case):
        return [
            {"id": e.pk, "name": e.original_name, "size": e.size, "content_type": e.content_type}
            for e in case.evidence.all()
        ]

    def validate_channel(self, value):
        if value not in (CaseChannel.PAPER, CaseChannel.USER):
            raise serializers.ValidationError(
                _("Objections and intercession reports open their cases themselves.")
            )
        return value

    def create(self, validated_data):
        user = self.context["request"].user
        subjects = validated_data.pop("subjects", [])
        channel = validated_data.pop("channel")
        reporter_user_id = validated_data.pop("reporter_user_id", None)
        return cases.case_report(
            channel=channel,
            subjects=subjects,
            reporter_user=User.objects.filter(pk=reporter_user_id).first()
            if reporter_user_id
            else (user if channel == CaseChannel.USER else None),
            created_by=user,
            **validated_data,
        )


class SubjectViewSerializer(serializers.ModelSerializer):
    """A subject's view: the decision and the appeal — no reporter, evidence, allegation."""

    available_transitions = TransitionsField(read_only=True)

    class Meta:
        model = MisconductCase
        fields = [
            "id",
            "number",
            "state",
            "available_transitions",
            "kind",
            "findings",
            "sanctions",
            "decided_at",
            "notified_at",
            "appeal_deadline",
            "appeal_working_days",
            "appeal_text",
            "appealed_at",
            "appeal_outcome",
            "appeal_decision",
            "appeal_decided_at",
        ]
        read_only_fields = fields


class TransitionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    findings = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(
        choices=MisconductCategory.choices, required=False, allow_blank=True
    )
    sanctions = serializers.ListField(child=serializers.CharField(), required=False)
    bars = serializers.ListField(
        child=serializers.ChoiceField(choices=Action.choices), required=False
    )
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    deciding_body = serializers.CharField(required=False, allow_blank=True)
    legal_basis = serializers.CharField(required=False, allow_blank=True)
    outcome = serializers.ChoiceField(choices=AppealOutcome.choices, required=False)


class CreateByOfficers(permissions.BasePermission):
    message = _("Only integrity officers open cases through the API.")

    def has_permission(self, request, view):
        if view.action == "create":
            return cases.is_integrity_officer(request.user)
        return True


TRANSITION_NAMES = [t.name for t in all_transitions(MisconductCase)]


@extend_schema(tags=["integrity"])
class MisconductCaseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Misconduct cases: what each caller reads is in the module's description."""

    queryset = MisconductCase.objects.none()  # for the schema; get_queryset filters per caller
    serializer_class = OfficerCaseSerializer
    permission_classes = [permissions.IsAuthenticated, CreateByOfficers]
    filterset_fields = ["state", "kind", "channel"]

    def get_queryset(self):
        user = self.request.user
        if cases.may_read_cases(user):
            queryset = cases.cases_for_reader(user).prefetch_related("records")
            if cases.may_read_files(user):
                queryset = queryset.prefetch_related("evidence")
            return queryset.order_by("-created_at", "-id")
        return cases.cases_of_subject(user)

    def get_serializer_class(self):
        user = self.request.user
        if cases.is_integrity_officer(user):
            return OfficerCaseSerializer
        if cases.may_read_cases(user):
            return CaseSerializer
        return SubjectViewSerializer

    def _reload(self, case):
        return self.get_queryset().get(pk=case.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = serializer.save()
        return Response(self.get_serializer(self._reload(case)).data, status=201)

    @extend_schema(
        summary=_("Take a step of the case's workflow"),
        request=TransitionSerializer,
        parameters=[
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=TRANSITION_NAMES,
                description=_("The transition's public name."),
            )
        ],
        responses={
            200: OfficerCaseSerializer,
            400: OpenApiResponse(description=_("Field errors of the decision or the comment.")),
            404: OpenApiResponse(description=_("No such case, or one the caller may not read.")),
            409: OpenApiResponse(
                description=_(
                    "invalid_transition: the step is unknown, not open to the caller in the "
                    "current state, or the appeal window has closed."
                )
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]+)")
    def transitions(self, request, pk=None, name=None):
        case = self.get_object()
        body = TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        comment = data.pop("comment", "")
        case = cases.case_transition(
            case=case, name=name, user=request.user, comment=comment, data=data
        )
        try:
            return Response(self.get_serializer(self._reload(case)).data)
        except MisconductCase.DoesNotExist:
            raise Http404 from None
