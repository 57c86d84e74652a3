"""API v1: run the assignment engine over a call (api.md, ``assign-reviewers``).

``POST /api/v1/calls/<id>/assign-reviewers/`` → ``200 {"assigned": n, "unfilled": [ids],
"reasons": {id: why}, "optimal": bool, "total_affinity": x}``. Program officers and agency
staff for delegated programs. A call the caller cannot see answers 404 (agency staff see only
their programs' calls); a call they can see but not manage (every signed-in user reads calls)
answers 403.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from programs.api import programs_visible_to
from programs.models import Call
from programs.permissions import can_manage_program

from .assignment import assign_call, run_record


class AssignResultSerializer(serializers.Serializer):
    assigned = serializers.IntegerField(help_text=_("New assignments made by this run."))
    unfilled = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("Proposals left with open seats.")
    )
    reasons = serializers.DictField(
        child=serializers.CharField(), help_text=_("Why each unfilled proposal has open seats.")
    )
    optimal = serializers.BooleanField(help_text=_("The solver proved the assignment optimal."))
    total_affinity = serializers.FloatField()


class AssignReviewersView(APIView):
    """Staff the call's accepted proposals: keeps existing assignments, fills open seats."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=["review"],
        summary=_("Assign reviewers to a call's proposals"),
        request=None,
        responses={
            200: AssignResultSerializer,
            403: OpenApiResponse(description=_("The caller may see the call but not manage it.")),
            404: OpenApiResponse(description=_("No such call, or not visible to the caller.")),
        },
    )
    def post(self, request, pk):
        user = request.user
        call = get_object_or_404(
            Call.objects.select_related("program").filter(program__in=programs_visible_to(user)),
            pk=pk,
        )
        if not can_manage_program(user, call.program_id):
            raise PermissionDenied(_("Only the call's managers assign reviewers."))
        result = assign_call(call, actor=user)
        run_record(call=call, actor=user, result=result)
        unfilled = sorted(result.unfilled)
        return Response(
            AssignResultSerializer(
                {
                    "assigned": result.assigned,
                    "unfilled": unfilled,
                    "reasons": {str(k): result.unfilled[k] for k in unfilled},
                    "optimal": result.optimal,
                    "total_affinity": result.total_affinity,
                }
            ).data
        )
