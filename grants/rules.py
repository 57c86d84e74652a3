"""Who may take which step on a proposal, as named predicates (instance, user).

They read only the instance and the user's cached roles, so listing the transitions of
a page of proposals costs no queries per row (the call must be loaded with the row).
"""

from accounts.roles import Role
from programs.permissions import can_manage_program


def is_pi(application, user):
    return user.is_authenticated and application.applicant_id == user.pk


def is_institution_admin(application, user):
    return (
        user.is_authenticated
        and user.has_role(Role.INSTITUTION_ADMIN)
        and user.institution_id is not None
        and user.institution_id == application.institution_id
    )


def manages(application, user):
    """Program officers, and agency staff for the programs delegated to their agency."""
    return can_manage_program(user, application.call.program_id)


def institution_or_manager(application, user):
    return is_institution_admin(application, user) or manages(application, user)
