"""API v1: projects (api.md) — list and detail, the project's transitions, the contract's
signatures and the contract (任务书) as PDF. Rows are cut to what the user may see (404)."""

from decimal import Decimal

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit import workflow
from grants.api import CommentSerializer, PDFRenderer
from grants.models import Project

from . import projects as services


def _disbursed(project):
    try:
        from finance.money import disbursed
    except ImportError:  # the money part not there yet
        return Decimal("0.00")
    return disbursed(project)


def _performance_grade(project):
    try:
        from finance.evaluation import performance_grade
    except ImportError:  # the evaluation part not there yet
        return None
    return performance_grade(project)


class ProjectSerializer(serializers.ModelSerializer):
    approved_budget = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    disbursed = serializers.SerializerMethodField()
    performance_grade = serializers.SerializerMethodField()
    available_transitions = serializers.SerializerMethodField()
    contract_state = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "application",
            "number",
            "state",
            "approved_budget",
            "disbursed",
            "performance_grade",
            "available_transitions",
            "contract_state",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_disbursed(self, obj):
        return f"{Decimal(_disbursed(obj)).quantize(Decimal('0.01'))}"

    @extend_schema_field(OpenApiTypes.STR)
    def get_performance_grade(self, obj):
        grade = _performance_grade(obj)
        return None if grade is None else str(getattr(grade, "value", grade))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_transitions(self, obj):
        user = self.context["request"].user
        names = [n for n in workflow.available_names(obj, user) if n != "sign"]
        contract = getattr(obj, "_contract_cache", None)
        if contract is not None:
            names += workflow.available_names(contract, user)
        return names

    @extend_schema_field(OpenApiTypes.STR)
    def get_contract_state(self, obj):
        contract = getattr(obj, "_contract_cache", None)
        return contract.state if contract is not None else None


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    """Projects the user may see: officers all, agency staff their delegated programs, the
    PI and team their own, institution admins their institution's."""

    serializer_class = ProjectSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return services.project_list(self.request.user).order_by("-created_at", "-id")

    def get_object(self):
        try:
            project = services.project_detail(self.request.user, self.kwargs["pk"])
        except (Project.DoesNotExist, ValueError, TypeError):
            raise Http404 from None
        project._contract_cache = services.contract_for(project)
        return project

    @extend_schema(request=CommentSerializer, responses=ProjectSerializer)
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]+)")
    def transitions(self, request, pk=None, name=None):
        """A step of the project, or a signature of its contract (``sign_pi``,
        ``sign_institution``, ``sign_officer``)."""
        project = self.get_object()
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        comment = body.validated_data["comment"]
        if name in services.SIGNERS:
            services.contract_transition(
                contract=project._contract_cache, name=name, user=request.user, comment=comment
            )
        else:
            services.project_transition(
                project=project, name=name, user=request.user, comment=comment
            )
        project = self.get_object()
        return Response(self.get_serializer(project).data)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, PDFRenderer])
    def contract(self, request, pk=None):
        """The contract (任务书) as PDF: as stored once signed, else rendered now."""
        from .views_projects import contract_pdf_response

        return contract_pdf_response(self.get_object())
