"""API v1 (api.md): auth token, institutions, users, agencies."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django_countries.serializer_fields import CountryField
from django_filters import rest_framework as filters
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.response import Response

from config.security import lockout_response, rate_limited

from . import services
from .models import Agency, Institution, User
from .roles import Role
from .validators import normalize_orcid

# --- who may do what -----------------------------------------------------------------------


def is_admin_or_officer(user):
    """Administrators (superusers) and program officers keep the registers."""
    return bool(
        user
        and user.is_authenticated
        and (user.is_superuser or user.has_role(Role.PROGRAM_OFFICER))
    )


def reads_all_users(user):
    """Administrators and every staff role (officers, agency staff, integrity officers,
    auditors) read all accounts; everyone else reads only their own."""
    return bool(user and user.is_authenticated and (user.is_superuser or user.is_staff_role))


class AdminOrOfficerWrites(permissions.BasePermission):
    """Every signed-in user reads; administrators and program officers write."""

    message = _("Only administrators and program officers may change this.")

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return is_admin_or_officer(request.user)


# --- auth token ----------------------------------------------------------------------------


class TokenRequestSerializer(AuthTokenSerializer):
    """Username and password; staff accounts add the code from their authenticator app."""

    otp_token = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text=_("Staff accounts: the code from the authenticator app."),
    )

    def validate(self, attrs):
        from .two_factor import enforced, is_staff_account

        attrs = super().validate(attrs)
        user = attrs["user"]
        if enforced() and is_staff_account(user):
            with transaction.atomic():  # locked: one code cannot issue two tokens
                device = (
                    TOTPDevice.objects.select_for_update()
                    .filter(user=user, confirmed=True)
                    .order_by("id")
                    .first()
                )
                verified = device is not None and device.verify_token(
                    (attrs.get("otp_token") or "").strip()
                )
            if device is None:
                raise serializers.ValidationError(
                    {"otp_token": [_("Set up two-factor authentication on the website first.")]},
                    code="two_factor_required",
                )
            if not verified:
                raise serializers.ValidationError(
                    {"otp_token": [_("The authentication code is not correct.")]},
                    code="invalid_token",
                )
        return attrs


class ObtainTokenView(ObtainAuthToken):
    """``POST {"username", "password"}`` → ``{"token": "..."}``; 400 on bad credentials.
    Staff accounts also send ``otp_token`` (the code of their authenticator app)."""

    authentication_classes = ()
    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: OpenApiResponse(description=_("Wrong username or password.")),
        },
        auth=[],
        tags=["auth"],
    )
    @method_decorator(rate_limited(("api_token", "ip")))
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except serializers.ValidationError:
            # django-axes marks the request it was given (DRF's, which its middleware
            # never sees): answer the lockout here.
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request._request)
            raise


# --- institutions and agencies --------------------------------------------------------------


class InstitutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Institution
        fields = ["id", "name", "name_en", "credit_code"]

    def validate_credit_code(self, value):
        return (value or "").strip().upper()

    def create(self, validated_data):
        return services.institution_create(**validated_data)


class InstitutionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Host institutions; the credit code is checked (GB 32100 check character)."""

    queryset = Institution.objects.order_by("name", "id")
    serializer_class = InstitutionSerializer
    permission_classes = [AdminOrOfficerWrites]
    filterset_fields = ["credit_code"]


class AgencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Agency
        fields = ["id", "name", "name_en"]


class AgencyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Third-party professional agencies (专业机构)."""

    queryset = Agency.objects.order_by("name", "id")
    serializer_class = AgencySerializer
    permission_classes = [AdminOrOfficerWrites]


# --- users ---------------------------------------------------------------------------------


class RolesField(serializers.ListField):
    child = serializers.ChoiceField(choices=Role.choices)

    def get_attribute(self, instance):
        return sorted(instance.role_names)


class ExpertiseField(serializers.ListField):
    child = serializers.CharField(max_length=100)

    def get_attribute(self, instance):
        profile = getattr(instance, "expert_profile", None)
        return list(profile.expertise) if profile is not None else []


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        style={"input_type": "password"},
        help_text=_("Write only. Without one, the account cannot sign in with a password."),
    )
    roles = RolesField(required=False, default=list)
    country = CountryField(required=False, help_text=_("ISO 3166-1 alpha-2 code."))
    expertise = ExpertiseField(required=False, help_text=_("Keywords of the expert's fields."))

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "password",
            "email",
            "full_name",
            "roles",
            "institution",
            "country",
            "orcid",
            "expertise",
            "agency",
        ]

    def validate_orcid(self, value):
        # The model validator (check character) has run; store the canonical form.
        return normalize_orcid(value) if value else ""

    def validate_password(self, value):
        if value:
            data = self.initial_data
            candidate = User(
                username=data.get("username", ""),
                email=data.get("email", ""),
                full_name=data.get("full_name", ""),
            )
            try:
                password_validation.validate_password(value, candidate)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(list(exc.messages)) from exc
        return value

    def create(self, validated_data):
        return services.user_create(created_by=self.context["request"].user, **validated_data)


class UserFilter(filters.FilterSet):
    role = filters.ChoiceFilter(field_name="groups__name", choices=Role.choices, label=_("role"))

    class Meta:
        model = User
        fields = ["role", "institution", "agency", "country"]


class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Accounts. Administrators and officers create them (officers: applicant,
    institution_admin and reviewer only; other roles → 403). Staff roles read every
    account; everyone else reads only their own (others answer 404)."""

    queryset = User.objects.none()  # for the schema; get_queryset filters per caller
    serializer_class = UserSerializer
    filterset_class = UserFilter

    def get_queryset(self):
        user = self.request.user
        queryset = (
            User.objects.select_related("expert_profile").prefetch_related("groups").order_by("id")
        )
        if not reads_all_users(user):
            queryset = queryset.filter(pk=user.pk)
        return queryset

    def get_permissions(self):
        if self.action == "create":
            return [permissions.IsAuthenticated(), _CreatesUsers()]
        return super().get_permissions()

    @extend_schema(responses=UserSerializer)
    @action(detail=False, methods=["get"])
    def me(self, request):
        """The caller's own account."""
        return Response(self.get_serializer(request.user).data)


class _CreatesUsers(permissions.BasePermission):
    message = _("Only administrators and program officers create accounts.")

    def has_permission(self, request, view):
        return is_admin_or_officer(request.user)
