"""API v1 (api.md): programs and calls.

Agency staff see and manage only the programs delegated to their agency (and their calls);
everyone else signed in reads every program and call. Program officers (and administrators)
write programs; calls are written by officers and by agency staff for their programs.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, permissions, serializers, viewsets

from accounts.api import is_admin_or_officer
from accounts.roles import Role

from . import services
from .models import Call, Program
from .permissions import can_manage_program, managed_programs


def _sees_only_delegated(user):
    """Agency staff (who are not also officers) work only inside their delegation."""
    return (
        user.has_role(Role.AGENCY_STAFF)
        and not user.is_superuser
        and not user.has_role(Role.PROGRAM_OFFICER)
    )


def programs_visible_to(user):
    if _sees_only_delegated(user):
        return managed_programs(user)
    return Program.objects.all()


# --- programs ------------------------------------------------------------------------------


class ProgramSerializer(serializers.ModelSerializer):
    class Meta:
        model = Program
        fields = [
            "id",
            "code",
            "name",
            "category",
            "funding_mode",
            "agency",
            "name_en",
            "default_scoring_scheme",
            "rule_set",
            "description",
        ]

    def create(self, validated_data):
        return services.program_create(**validated_data)

    def update(self, instance, validated_data):
        # Moves the agency's management grant along with the delegation.
        return services.program_update(program=instance, **validated_data)


class OfficerWrites(permissions.BasePermission):
    message = _("Only program officers change programs.")

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return is_admin_or_officer(request.user)


class ProgramViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Programs of the five categories; ``agency`` is the agency it is delegated to."""

    queryset = Program.objects.none()  # for the schema; get_queryset filters per caller
    serializer_class = ProgramSerializer
    permission_classes = [permissions.IsAuthenticated, OfficerWrites]
    filterset_fields = ["category", "funding_mode", "agency"]

    def get_queryset(self):
        return programs_visible_to(self.request.user).order_by("code")


# --- calls ---------------------------------------------------------------------------------


class ManagedProgramField(serializers.PrimaryKeyRelatedField):
    """A program the caller manages; any other id is an unknown program (400)."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Program.objects.all()
        return managed_programs(request.user)


#: The first and last year a call may open or close in.
CALL_YEARS = (2000, 2099)


class CallSerializer(serializers.ModelSerializer):
    program = ManagedProgramField()
    # A string, not an enum: api.md lets funders define schemes beyond the presets.
    scoring_scheme = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text=_(
            "A preset (eu, nsfc) or a scheme the funder defined. Omitted or empty: the "
            "program's default. Reads show the scheme in force."
        ),
    )
    notice_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text=_("Omitted or null: the rule set's default. Reads show the period in force."),
    )
    is_open = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "program",
            "title",
            "opens_at",
            "closes_at",
            "max_budget",
            "reviewers_per_application",
            "min_international_reviewers",
            "max_assignments_per_reviewer",
            "scoring_scheme",
            "notice_days",
            "title_en",
            "guideline",
            "sum_kind",
            "lump_sum",
            "pure_theory",
            "one_proposal_per_pi",
            "rule_set",
            "is_open",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def get_is_open(self, call) -> bool:
        return call.is_open()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["scoring_scheme"] = instance.effective_scoring_scheme
        data["notice_days"] = instance.effective_notice_days
        return data

    def _within_era(self, moment):
        """A call's dates in this century: far years come back in the zone's local mean
        time (``+08:05:43`` in Shanghai before 1901), which is no ISO 8601 offset."""
        if not CALL_YEARS[0] <= moment.year <= CALL_YEARS[1]:
            raise serializers.ValidationError(
                _("Give a date between %(first)d and %(last)d.")
                % {"first": CALL_YEARS[0], "last": CALL_YEARS[1]}
            )
        return moment

    def validate_opens_at(self, moment):
        return self._within_era(moment)

    def validate_closes_at(self, moment):
        return self._within_era(moment)

    def validate_program(self, program):
        if self.instance is not None and program.pk != self.instance.program_id:
            raise serializers.ValidationError(_("A call cannot move to another program."))
        return program

    def create(self, validated_data):
        return services.call_create(**validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("program", None)
        return services.call_update(call=instance, **validated_data)


class CallWrites(permissions.BasePermission):
    """Officers write every call; agency staff the calls of their delegated programs."""

    message = _("Only program officers and the program's agency change calls.")

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        user = request.user
        return is_admin_or_officer(user) or user.has_role(Role.AGENCY_STAFF)

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return can_manage_program(request.user, obj.program_id)


class CallViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Calls for proposals. Everyone signed in reads them (agency staff: their programs')."""

    queryset = Call.objects.none()  # for the schema; get_queryset filters per caller
    serializer_class = CallSerializer
    permission_classes = [permissions.IsAuthenticated, CallWrites]
    filterset_fields = ["program", "sum_kind", "lump_sum"]

    def get_queryset(self):
        user = self.request.user
        queryset = Call.objects.select_related("program__rule_set", "rule_set")
        if _sees_only_delegated(user):
            queryset = queryset.filter(program__in=managed_programs(user))
        return queryset.order_by("-opens_at", "id")
