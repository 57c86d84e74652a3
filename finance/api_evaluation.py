"""API v1: a project's final evaluation (grade) and its follow-on answer (api.md)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from grants.models import Project

from . import evaluation as services
from . import followon
from .models import FinalEvaluation, Grade, Outcome


class EvaluationInputSerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=Grade.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)


class EvaluationSerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="project.state", read_only=True)

    class Meta:
        model = FinalEvaluation
        fields = ["project", "state", "outcome", "grade", "comment", "submitted_at",
                  "decided_at", "notice_starts_at", "notice_ends_at"]  # fmt: skip
        read_only_fields = fields


FollowOnSerializer = inline_serializer(
    "FollowOn",
    {
        "eligible": serializers.BooleanField(),
        "max_amount": serializers.DecimalField(max_digits=14, decimal_places=2),
        "reason": serializers.CharField(),
    },
)


def _project(request, pk):
    try:
        return services.project_for(request.user, pk)
    except Project.DoesNotExist as exc:
        raise Http404 from exc


class ProjectEvaluationView(APIView):
    """``GET`` the final evaluation; ``POST {grade, comment[, outcome]}`` decides it
    (the project's officer or agency staff of its delegated program)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=EvaluationSerializer)
    def get(self, request, pk):
        project = _project(request, pk)
        evaluation = FinalEvaluation.objects.filter(project=project).first()
        if evaluation is None:
            raise Http404
        return Response(EvaluationSerializer(evaluation).data)

    @extend_schema(request=EvaluationInputSerializer, responses=EvaluationSerializer)
    def post(self, request, pk):
        project = _project(request, pk)
        if not services.can_decide(project, request.user):
            raise PermissionDenied
        data = EvaluationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evaluation = services.evaluate(project=project, user=request.user, **data.validated_data)
        evaluation.refresh_from_db()
        return Response(EvaluationSerializer(evaluation).data)


class ProjectFollowOnView(APIView):
    """``GET`` → ``{eligible, max_amount, reason}``: may the PI ask for follow-on support."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=FollowOnSerializer)
    def get(self, request, pk):
        project = _project(request, pk)
        return Response(followon.follow_on(project).as_dict())
