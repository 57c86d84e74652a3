"""API v1 (api.md): review assignments and their transitions, reviews, a call's scoring scheme.

Reads go through ``review.selectors``: a reviewer sees only their own assignments and
reviews (404 for the rest), officers those of the programs they manage. Writes go through
``review.services``, whose ``WorkflowError`` and ``ValidationError`` ``config.api`` turns
into 409 and 400.
"""

from django.http import Http404
from django.urls import path
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
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
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from accounts.roles import Role
from audit import workflow
from audit.workflow import WorkflowError, all_transitions
from config.api import IdFilter
from grants.api import ErrorSerializer
from programs.models import Call
from programs.permissions import managed_programs

from . import scoring, selectors, services
from .models import AssignmentState, Review, ReviewAssignment

# --- serializers ---------------------------------------------------------------------------


class TransitionsField(serializers.ListField):
    child = serializers.CharField()

    def get_attribute(self, instance):
        request = self.context.get("request")
        return workflow.available_names(instance, request.user) if request else []


class ProposalSerializer(serializers.Serializer):
    """What the reviewer reads of the proposal, in the caller's language where it exists;
    the applicant and institution are null when the call is reviewed anonymously."""

    number = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    abstract = serializers.CharField()
    keywords = serializers.ListField(child=serializers.CharField())
    call = serializers.IntegerField()
    call_title = serializers.CharField()
    anonymous = serializers.BooleanField()
    applicant = serializers.CharField(allow_null=True)
    institution = serializers.CharField(allow_null=True)


class ReviewAssignmentSerializer(serializers.ModelSerializer):
    available_transitions = TransitionsField(
        read_only=True, help_text=_("Transitions the caller may take now.")
    )
    review_deadline = serializers.DateField(
        source="application.call.review_deadline", read_only=True, allow_null=True
    )
    review = serializers.SerializerMethodField(help_text=_("Id of the review, if one exists."))
    proposal = serializers.SerializerMethodField()

    class Meta:
        model = ReviewAssignment
        fields = [
            "id",
            "application",
            "reviewer",
            "state",
            "is_international",
            "respond_by",
            "available_transitions",
            "review_deadline",
            "responded_at",
            "review",
            "proposal",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_review(self, obj):
        try:
            return obj.review.pk
        except ReviewAssignment.review.RelatedObjectDoesNotExist:
            return None

    @extend_schema_field(ProposalSerializer(allow_null=True))
    def get_proposal(self, obj):
        if obj.state not in selectors.SHOWING_STATES:
            return None
        application = obj.application
        call = application.call
        language = get_language()
        english = scoring.english(language)
        anonymous = call.anonymous_review
        request = self.context.get("request")
        # Officers know who applied; the reviewer does not on an anonymous call.
        hide = anonymous and request is not None and obj.reviewer_id == request.user.pk
        return {
            "number": application.number,
            "title": services.localized(application, "title", language),
            "abstract": services.localized(application, "abstract", language),
            "keywords": (application.keywords_en if english and application.keywords_en else None)
            or application.keywords
            or [],
            "call": call.pk,
            "call_title": services.localized(call, "title", language),
            "anonymous": anonymous,
            "applicant": None if hide else application.applicant.display_name,
            "institution": None
            if hide
            else services.localized(application.institution, "name", language),
        }


class AssignmentCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class PledgeSerializer(serializers.Serializer):
    agree = serializers.BooleanField(
        help_text=_("True: the reviewer signs the integrity pledge for the assignment's call.")
    )

    def validate_agree(self, value):
        if not value:
            raise serializers.ValidationError(_("Signing means agreeing: send true."))
        return value


class ScoresField(serializers.DictField):
    """Criterion code → number; checked against the call's scheme by the service."""

    child = serializers.JSONField()


class ReviewSerializer(serializers.ModelSerializer):
    assignment = serializers.PrimaryKeyRelatedField(queryset=ReviewAssignment.objects.none())
    scores = ScoresField(required=False)
    passes_thresholds = serializers.SerializerMethodField()
    locked = serializers.BooleanField(source="is_locked", read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "assignment",
            "scores",
            "recommendation",
            "comment",
            "confidential_comment",
            "total",
            "passes_thresholds",
            "locked",
            "submitted_at",
            "updated_at",
        ]
        read_only_fields = ["total", "submitted_at", "updated_at"]
        extra_kwargs = {
            "recommendation": {"required": False},
            "comment": {"required": False},
            "confidential_comment": {"required": False},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            # Only the caller's own assignments can be written to.
            self.fields["assignment"].queryset = ReviewAssignment.objects.filter(
                reviewer_id=request.user.pk
            )

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_passes_thresholds(self, obj):
        if obj.total is None:
            return None
        schemes = self.context.setdefault("_schemes", {})
        call = obj.assignment.application.call
        code = call.effective_scoring_scheme
        if code not in schemes:
            schemes[code] = scoring.scheme_for_call(call)
        result = services.review_result(obj, schemes[code])
        return result.passes_thresholds if result else None

    def create(self, validated_data):
        request = self.context["request"]
        data = {
            key: validated_data[key]
            for key in ("scores", "recommendation", "comment", "confidential_comment")
            if key in validated_data
        }
        return services.review_save_draft(
            assignment=validated_data["assignment"], user=request.user, **data
        )


class CriterionSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    weight = serializers.FloatField()
    min = serializers.FloatField()
    max = serializers.FloatField()
    step = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    labels = serializers.DictField(
        child=serializers.CharField(),
        allow_null=True,
        help_text=_("A letter scale: number → letter (e.g. 4 → A); null for numeric scales."),
    )


class ScoringSchemeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    criteria = CriterionSerializer(many=True)
    overall_threshold = serializers.FloatField(allow_null=True)
    recommendations = serializers.ListField(child=serializers.CharField())
    recommendation_labels = serializers.DictField(child=serializers.CharField())


# --- filters and views ---------------------------------------------------------------------


class AssignmentFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=AssignmentState.choices)
    call = IdFilter(field_name="application__call_id")
    application = IdFilter(field_name="application_id")

    class Meta:
        model = ReviewAssignment
        fields = ["state", "call", "application"]


TRANSITION_NAMES = [t.name for t in all_transitions(ReviewAssignment)]

REFUSALS = {
    400: OpenApiResponse(
        description=_(
            "Field errors: a declared conflict without a comment; submit with an incomplete "
            "review (scores, recommendation, comment)."
        )
    ),
    404: OpenApiResponse(description=_("No such assignment, or one the caller may not read.")),
    409: OpenApiResponse(
        ErrorSerializer,
        description=_(
            "invalid_transition: the step is unknown, not open to the caller in this state, or "
            "the integrity pledge for the call is not signed yet; integrity_block: the reviewer "
            "is barred from reviewing."
        ),
    ),
}


@extend_schema(tags=["review"])
class ReviewAssignmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Review assignments: a reviewer's own; officers', those of the programs they manage."""

    queryset = ReviewAssignment.objects.none()  # for the schema; get_queryset filters
    serializer_class = ReviewAssignmentSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = AssignmentFilter

    def get_queryset(self):
        return (
            selectors.assignment_list(self.request.user)
            .select_related("application__institution")
            .order_by("-invited_at", "-id")
        )

    def _reload(self, assignment):
        return self.get_queryset().get(pk=assignment.pk)

    @extend_schema(
        summary=_("Take a step of the assignment's workflow"),
        request=AssignmentCommentSerializer,
        responses={200: ReviewAssignmentSerializer, **REFUSALS},
        parameters=[
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=TRANSITION_NAMES,
                description=_(
                    "accept, decline, declare_conflict (comment required), submit (the "
                    "review must be complete)."
                ),
            )
        ],
    )
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]+)")
    def transitions(self, request, pk=None, name=None):
        assignment = self.get_object()
        body = AssignmentCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if assignment.reviewer_id != request.user.pk:
            # Officers read assignments but answer none of them.
            raise WorkflowError(
                "invalid_transition", _("Only the invited reviewer takes this step.")
            )
        assignment = services.assignment_transition(
            assignment=assignment,
            name=name,
            user=request.user,
            comment=body.validated_data["comment"],
        )
        return Response(self.get_serializer(self._reload(assignment)).data)

    @extend_schema(
        summary=_("Sign the integrity pledge for the assignment's call"),
        request=PledgeSerializer,
        responses={200: ReviewAssignmentSerializer, 404: REFUSALS[404]},
    )
    @action(detail=True, methods=["post"])
    def pledge(self, request, pk=None):
        assignment = self.get_object()
        if assignment.reviewer_id != request.user.pk:
            raise Http404
        body = PledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.pledge_sign(reviewer=request.user, call=assignment.application.call)
        return Response(self.get_serializer(self._reload(assignment)).data)


@extend_schema(tags=["review"])
class ReviewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Reviews. The assigned reviewer POSTs a draft (created or updated: one per
    assignment) and submits it through the assignment's ``submit`` transition; officers
    read the submitted reviews of the programs they manage."""

    queryset = Review.objects.none()
    serializer_class = ReviewSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["assignment"]

    def get_queryset(self):
        return selectors.review_list(self.request.user).order_by("-updated_at", "-id")

    @extend_schema(
        summary=_("Save the draft review of an assignment (created or updated)"),
        responses={
            201: ReviewSerializer,
            400: OpenApiResponse(
                description=_("A score outside its criterion's range or step; an unknown code.")
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description=_(
                    "invalid_transition: the review is submitted (locked) or the invitation "
                    "not accepted."
                ),
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = serializer.save()
        data = self.get_serializer(self.get_queryset().get(pk=review.pk)).data
        return Response(data, status=201)


def calls_visible_to(user):
    queryset = Call.objects.select_related("program")
    delegated_only = (
        user.has_role(Role.AGENCY_STAFF)
        and not user.is_superuser
        and not user.has_role(Role.PROGRAM_OFFICER)
    )
    if delegated_only:
        queryset = queryset.filter(program__in=managed_programs(user))
    return queryset


class ScoringSchemeView(APIView):
    """The scoring scheme of a call, labels in the caller's language (a letter scale is
    numbers with labels)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=["review"],
        summary=_("The call's scoring scheme"),
        responses={
            200: ScoringSchemeSerializer,
            404: OpenApiResponse(description=_("No such call.")),
        },
    )
    def get(self, request, pk):
        call = calls_visible_to(request.user).filter(pk=pk).first()
        if call is None:
            raise Http404
        return Response(scoring.scheme_for_call(call).describe(get_language()))


router = SimpleRouter()
router.register("review-assignments", ReviewAssignmentViewSet, basename="review-assignment")
router.register("reviews", ReviewViewSet, basename="review")

#: Included by ``config/api_urls.py`` below the review heading (before the main router, so
#: ``calls/<id>/scoring-scheme/`` is matched here).
urlpatterns = [
    path("calls/<int:pk>/scoring-scheme/", ScoringSchemeView.as_view(), name="call-scoring-scheme"),
    *router.urls,
]
