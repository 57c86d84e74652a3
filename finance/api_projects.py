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
from .models import Contract


def _balances(projects):
    """``{project_id: disbursed}`` for a page of projects in one query (money part)."""
    try:
        from finance.ledger import balances
    except ImportError:  # the money part not there yet
        return {p.pk: Decimal("0.00") for p in projects}
    return {pk: b.released - b.recovered for pk, b in balances(projects).items()}


def _has_relation(name):
    try:
        Project._meta.get_field(name)
    except Exception:  # noqa: BLE001 (FieldDoesNotExist: that part is not there yet)
        return False
    return True


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
        disbursed = self.context.get("disbursed")
        if disbursed is None or obj.pk not in disbursed:
            disbursed = _balances([obj])
        return f"{Decimal(disbursed[obj.pk]).quantize(Decimal('0.01'))}"

    @extend_schema_field(OpenApiTypes.STR)
    def get_performance_grade(self, obj):
        grade = _performance_grade(obj)
        return None if grade is None else str(getattr(grade, "value", grade))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_transitions(self, obj):
        user = self.context["request"].user
        names = [n for n in workflow.available_names(obj, user) if n != "sign"]
        contract = _contract(obj)
        if contract is not None:
            names += workflow.available_names(contract, user)
        return names

    @extend_schema_field(OpenApiTypes.STR)
    def get_contract_state(self, obj):
        contract = _contract(obj)
        return contract.state if contract is not None else None


def _contract(project):
    try:
        return project.contract
    except Contract.DoesNotExist:
        return None


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    """Projects the user may see: officers all, agency staff their delegated programs, the
    PI and team their own, institution admins their institution's."""

    serializer_class = ProjectSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        related = ["contract"]
        if _has_relation("final_evaluation"):
            related.append("final_evaluation")
        return (
            services.project_list(self.request.user)
            .select_related(*related)
            .order_by("-created_at", "-id")
        )

    def list(self, request, *args, **kwargs):
        """One page; the money of its rows in one query (no query per row)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "disbursed": _balances(page)}
        serializer = self.get_serializer_class()(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)

    def get_object(self):
        try:
            project = services.project_detail(self.request.user, self.kwargs["pk"])
        except (Project.DoesNotExist, ValueError, TypeError):
            raise Http404 from None
        services.contract_for(project)  # created on first use
        return self.get_queryset().get(pk=project.pk)

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
                contract=project.contract, name=name, user=request.user, comment=comment
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
