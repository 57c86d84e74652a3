from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import ExpertProfile, User
from .roles import OFFICER_GRANTABLE_ROLES, Role


def can_give_roles(actor, roles):
    if actor is None or actor.is_superuser:
        return True
    if actor.has_role(Role.PROGRAM_OFFICER):
        return set(roles) <= OFFICER_GRANTABLE_ROLES
    return False


@transaction.atomic
def user_create(
    *,
    username,
    password=None,
    roles=(),
    created_by=None,
    expertise=None,
    **fields,
):
    """Create an account. Officers may create applicants, institution admins and reviewers;
    staff roles are given by administrators only."""
    roles = [Role(r) for r in roles]
    if not can_give_roles(created_by, roles):
        raise PermissionDenied(_("You may not give these roles."))
    if Role.AGENCY_STAFF in roles and not fields.get("agency"):
        raise ValidationError({"agency": [_("Agency staff must belong to an agency.")]})
    id_number = fields.pop("id_number", None)
    user = User(username=username, **fields)
    if id_number:
        user.set_id_number(id_number)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    set_roles(user=user, roles=roles)
    if expertise is not None or Role.REVIEWER in roles:
        ExpertProfile.objects.update_or_create(user=user, defaults={"expertise": expertise or []})
    identity_changed(user)
    return user


def set_roles(*, user, roles):
    from programs.permissions import AGENCY_GROUP_PREFIX, agency_group

    groups = list(Group.objects.filter(name__in=[str(r) for r in roles]))
    # Other groups stay, except agency groups: those follow the user's agency and role.
    keep = [
        g
        for g in user.groups.all()
        if g.name not in Role.values and not g.name.startswith(AGENCY_GROUP_PREFIX)
    ]
    if Role.AGENCY_STAFF in roles and user.agency_id:
        keep.append(agency_group(user.agency))
    user.groups.set(keep + groups)
    user.__dict__.pop("role_names", None)
    user.__dict__.pop("_managed_program_ids", None)


@transaction.atomic
def institution_create(*, name, credit_code, name_en=""):
    """Register a host institution; the credit code's check character is validated."""
    from .models import Institution

    institution = Institution(
        name=name, name_en=name_en, credit_code=(credit_code or "").strip().upper()
    )
    institution.full_clean()
    institution.save()
    identity_changed(institution)
    return institution


PROFILE_FIELDS = ("full_name", "email", "language", "country", "orcid")


@transaction.atomic
def profile_update(*, user, **fields):
    """Change what a person may change about themselves (name, email, language, ...)."""
    from .validators import normalize_orcid

    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not profile fields: {sorted(unknown)}")
    if fields.get("orcid"):
        fields["orcid"] = normalize_orcid(fields["orcid"]) or fields["orcid"]
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save(update_fields=list(fields))
    if {"orcid", "full_name"} & set(fields):
        identity_changed(user)
    return user


# --- identities that integrity records may be waiting for -----------------------------------

from django.dispatch import Signal  # noqa: E402

#: Sent (``instance=``) when a user, institution or agency is created or gets an identifier
#: (resident ID number, ORCID iD, name, credit code). ``integrity`` listens and links the
#: credit records that were waiting for it; accounts knows nothing of integrity.
subject_identity_changed = Signal()


def identity_changed(instance):
    subject_identity_changed.send(sender=type(instance), instance=instance)


@transaction.atomic
def user_set_id_number(*, user, id_number):
    """Keep ``user``'s resident ID number as keyed hash and masked form (checked with
    python-stdnum; ``""`` clears it)."""
    user.set_id_number(id_number)
    user.save(update_fields=["id_number_hash", "id_number_masked"])
    identity_changed(user)
    return user


@transaction.atomic
def agency_set_credit_code(*, agency, credit_code):
    from .validators import validate_credit_code

    agency.credit_code = (credit_code or "").strip().upper()
    if agency.credit_code:
        validate_credit_code(agency.credit_code)
    agency.save(update_fields=["credit_code"])
    identity_changed(agency)
    return agency
