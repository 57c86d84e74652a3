"""API v1 (api.md): proposals, their transitions and their PDF.

Reads go through ``grants.selectors`` (a proposal the caller may not read answers 404, also
for its transitions and PDF); writes and steps go through ``grants.services``, whose
``WorkflowError`` and ``ValidationError`` ``config.api`` turns into 409 and 400.
"""

import json
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import mixins, permissions, renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import Role
from audit import workflow
from audit.workflow import all_transitions
from config.api import IdFilter
from programs.models import Call

from . import rules, services
from .enums import ApplicationState, BudgetCategory
from .models import Application
from .selectors import application_detail, application_list

# --- serializers ---------------------------------------------------------------------------


class BudgetLineSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=BudgetCategory.choices)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), coerce_to_string=True
    )


class TeamField(serializers.ListField):
    """The team as user ids (the PI is not listed)."""

    child = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())

    def get_attribute(self, instance):
        return [member.user_id for member in instance.team.all()]

    def to_representation(self, data):
        return list(data)


class BudgetField(serializers.ListField):
    child = BudgetLineSerializer()

    def get_attribute(self, instance):
        return [
            {"category": line.category, "amount": line.amount}
            for line in instance.budget_lines.all()
        ]


class TransitionsField(serializers.ListField):
    child = serializers.CharField()

    def get_attribute(self, instance):
        request = self.context.get("request")
        return workflow.available_names(instance, request.user) if request else []


class ApplicationSerializer(serializers.ModelSerializer):
    # Every signed-in user reads every call (agency staff aside, who do not apply).
    call = serializers.PrimaryKeyRelatedField(
        queryset=Call.objects.select_related("program__rule_set", "rule_set")
    )
    keywords = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    keywords_en = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    team = TeamField(required=False, help_text=_("User ids of the team (the PI not included)."))
    budget = BudgetField(
        required=False,
        help_text=_(
            "Budget lines; on a line-item call an omitted indirect line is set to its cap. "
            "A lump-sum call takes one line, category lump_sum."
        ),
    )
    total_budget = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    available_transitions = TransitionsField(
        read_only=True, help_text=_("Transitions the caller may take now.")
    )

    class Meta:
        model = Application
        fields = [
            "id",
            "number",
            "call",
            "title",
            "abstract",
            "keywords",
            "title_en",
            "abstract_en",
            "keywords_en",
            "applicant",
            "institution",
            "team",
            "budget",
            "total_budget",
            "state",
            "available_transitions",
            "discipline",
            "submitted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "number",
            "applicant",
            "institution",
            "state",
            "submitted_at",
            "created_at",
            "updated_at",
        ]

    def validate_call(self, call):
        if self.instance is not None and call.pk != self.instance.call_id:
            raise serializers.ValidationError(_("The call of a proposal cannot change."))
        return call

    def validate_team(self, users):
        if len({u.pk for u in users}) != len(users):
            raise serializers.ValidationError(_("A team member is listed twice."))
        return users

    def validate_budget(self, lines):
        categories = [line["category"] for line in lines]
        if len(set(categories)) != len(categories):
            raise serializers.ValidationError(_("Each budget category may appear once."))
        return lines

    # Writes run the services; ``save()`` is not used for the model itself.

    def _set_team_and_budget(self, application, validated_data):
        if "team" in validated_data:
            roles = {m.user_id: m.role for m in application.team.all()}
            services.team_set(
                application=application,
                members=[(u, roles.get(u.pk, "member")) for u in validated_data["team"]],
            )
        if "budget" in validated_data:
            services.budget_set(
                application=application,
                lines={line["category"]: line["amount"] for line in validated_data["budget"]},
                by=self.context["request"].user,
            )

    def create(self, validated_data):
        request = self.context["request"]
        content = {k: v for k, v in validated_data.items() if k in services.CONTENT_FIELDS}
        with transaction.atomic():
            application = services.application_create(
                applicant=request.user, call=validated_data["call"], **content
            )
            self._set_team_and_budget(application, validated_data)
        return application

    def update(self, instance, validated_data):
        content = {k: v for k, v in validated_data.items() if k in services.CONTENT_FIELDS}
        with transaction.atomic():
            application = workflow.lock(instance)  # a submit in flight cannot interleave
            # Refuses anything but a draft (409 invalid_transition), also for team/budget.
            services.application_update(application=application, **content)
            self._set_team_and_budget(application, validated_data)
        return application


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[
            "invalid_transition",
            "integrity_block",
            "call_closed",
            "limit_exceeded",
            "conflict_of_interest",
            "budget_cap",
            "notice_open",
        ]
    )
    detail = serializers.CharField()


# --- filters, renderers, permissions -------------------------------------------------------


class ApplicationFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=ApplicationState.choices)
    call = IdFilter(field_name="call_id")
    program = IdFilter(field_name="call__program_id")
    institution = IdFilter(field_name="institution_id")
    applicant = IdFilter(field_name="applicant_id")

    class Meta:
        model = Application
        fields = ["state", "call", "program", "institution", "applicant"]


class PDFRenderer(renderers.BaseRenderer):
    """Lets ``Accept: application/pdf`` through; error bodies still come out as JSON."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        # An error body: JSON, and labelled so (the header was set from this renderer).
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data, default=str).encode()


class ApplicantsCreatePIEdits(permissions.BasePermission):
    """Applicants create proposals; only the principal investigator edits one (and only
    its draft)."""

    def has_permission(self, request, view):
        if view.action == "create":
            self.message = _("Only applicants write proposals.")
            user = request.user
            return user.is_superuser or user.has_role(Role.APPLICANT)
        return True

    def has_object_permission(self, request, view, obj):
        self.message = _("Only the principal investigator edits the proposal.")
        if view.action in ("update", "partial_update"):
            return rules.is_pi(obj, request.user)
        return True


TRANSITION_NAMES = [t.name for t in all_transitions(Application)]

REFUSALS = {
    400: OpenApiResponse(
        description=_(
            "Field errors: an incomplete proposal, a budget over the call's cap or a "
            "category cap, a missing reason for a step that needs one."
        )
    ),
    404: OpenApiResponse(description=_("No such proposal, or one the caller may not read.")),
    409: OpenApiResponse(
        ErrorSerializer,
        description=_(
            "The state forbids it. invalid_transition: the step is unknown or not open to "
            "the caller in the current state (also when the caller may read the proposal but "
            "has no part in this step); call_closed, integrity_block, limit_exceeded on submit."
        ),
    ),
}


# --- the viewset ---------------------------------------------------------------------------


@extend_schema(tags=["applications"])
class ApplicationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Proposals the caller may read. Applicants create them: the applicant is the caller
    and the institution the applicant's. Only a draft can be changed, and only by its
    principal investigator."""

    queryset = Application.objects.none()  # for the schema; get_queryset filters per caller
    serializer_class = ApplicationSerializer
    permission_classes = [permissions.IsAuthenticated, ApplicantsCreatePIEdits]
    filterset_class = ApplicationFilter

    def get_queryset(self):
        # ``call__program`` is loaded with each row: the transition predicates read it.
        return application_list(self.request.user).prefetch_related("team", "budget_lines")

    def _reload(self, application):
        return self.get_queryset().get(pk=application.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = serializer.save()
        data = self.get_serializer(self._reload(application)).data
        return Response(data, status=201)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        application = serializer.save()
        return Response(self.get_serializer(self._reload(application)).data)

    @extend_schema(
        summary=_("Take a step of the proposal's workflow"),
        request=CommentSerializer,
        responses={200: ApplicationSerializer, **REFUSALS},
        parameters=[
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=TRANSITION_NAMES,
                description=_("The transition's public name (api.md)."),
            )
        ],
    )
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]+)")
    def transitions(self, request, pk=None, name=None):
        application = self.get_object()
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        application = services.application_transition(
            application=application,
            name=name,
            user=request.user,
            comment=body.validated_data["comment"],
        )
        return Response(self.get_serializer(self._reload(application)).data)

    @extend_schema(
        summary=_("The proposal as PDF"),
        parameters=[
            OpenApiParameter(
                "lang",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=False,
                enum=[code for code, _name in settings.LANGUAGES],
                description=_("Language of the document; default the request's."),
            )
        ],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: OpenApiResponse(
                description=_("No such proposal, or one the caller may not read.")
            ),
        },
    )
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, PDFRenderer])
    def pdf(self, request, pk=None):
        from grants.pdf import render_application_pdf

        try:
            application = application_detail(request.user, pk)
        except (Application.DoesNotExist, ValueError, TypeError):
            raise Http404 from None
        language = request.query_params.get("lang")
        if language not in dict(settings.LANGUAGES):
            language = None
        pdf = render_application_pdf(application, language=language)
        response = HttpResponse(pdf, content_type="application/pdf")
        name = application.number or f"draft-{application.pk}"
        response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
        return response
