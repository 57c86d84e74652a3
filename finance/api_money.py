"""API v1, money: a project's ledger and the instalments' transitions (api.md conventions).

``GET /api/v1/projects/<id>/ledger/`` — balance, instalments (with the caller's available
transitions) and entries. ``GET /api/v1/disbursements/<id>/`` and ``POST
/api/v1/disbursements/<id>/transitions/<name>/`` (``release``, ``hold``, ``release_hold``)
with optional ``{"comment": "..."}``; a release while the PI or the institution is barred
from receiving funds answers 200 with the instalment ``held``.
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.workflow import available_names
from grants.api import CommentSerializer
from grants.models import Project

from . import ledger, money
from .models.money import Disbursement, LedgerEntry
from .projects import projects_visible_to


class DisbursementSerializer(serializers.ModelSerializer):
    available_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Disbursement
        fields = [
            "id", "project", "seq", "milestone", "share", "amount", "state", "due_at",
            "hold_kind", "hold_reason", "released_at", "available_transitions",
        ]  # fmt: skip
        read_only_fields = fields

    def get_available_transitions(self, obj) -> list[str]:
        return available_names(obj, self.context["request"].user)


class EntrySerializer(serializers.ModelSerializer):
    instalment = serializers.IntegerField(source="disbursement.seq", allow_null=True)
    actor = serializers.CharField(source="actor.display_name", allow_null=True, default=None)

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "instalment", "created_at", "actor", "note"]
        read_only_fields = fields


class BalanceSerializer(serializers.Serializer):
    approved = serializers.DecimalField(max_digits=14, decimal_places=2)
    scheduled = serializers.DecimalField(max_digits=14, decimal_places=2)
    released = serializers.DecimalField(max_digits=14, decimal_places=2)
    held = serializers.DecimalField(max_digits=14, decimal_places=2)
    pending = serializers.DecimalField(max_digits=14, decimal_places=2)
    cancelled = serializers.DecimalField(max_digits=14, decimal_places=2)
    recovered = serializers.DecimalField(max_digits=14, decimal_places=2)
    kept = serializers.DecimalField(max_digits=14, decimal_places=2)
    net = serializers.DecimalField(max_digits=14, decimal_places=2)


class LedgerSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField()
    balance = BalanceSerializer()
    disbursed = serializers.DecimalField(max_digits=14, decimal_places=2)
    instalments = DisbursementSerializer(many=True)
    entries = EntrySerializer(many=True)


class ProjectLedgerView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(summary=_("A project's ledger"), responses=LedgerSerializer)
    def get(self, request, pk):
        try:
            project = projects_visible_to(request.user).get(pk=pk)
        except Project.DoesNotExist:
            raise Http404 from None
        instalments = list(Disbursement.objects.filter(project=project))
        for d in instalments:
            d.project = project
        entries = project.ledger_entries.select_related("disbursement", "actor").order_by("id")
        data = {
            "project": project.pk,
            "number": project.number,
            "state": project.state,
            "balance": ledger.balance(project).as_dict(),
            "disbursed": money.disbursed(project),
            "instalments": instalments,
            "entries": entries,
        }
        return Response(LedgerSerializer(data, context={"request": request}).data)


class DisbursementViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DisbursementSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return Disbursement.objects.filter(
            project__in=projects_visible_to(self.request.user)
        ).select_related("project__application__call")

    @extend_schema(
        summary=_("Take a step on an instalment"),
        request=CommentSerializer,
        responses=DisbursementSerializer,
    )
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]+)")
    def transitions(self, request, pk=None, name=None):
        d = self.get_object()
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = money.transition(d, name, user=request.user, comment=body.validated_data["comment"])
        d = self.get_queryset().get(pk=d.pk)
        return Response(self.get_serializer(d).data)
