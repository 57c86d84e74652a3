"""Who may take which step on a proposal, as named predicates (instance, user).

They read only the instance and what is cached on the user object (roles, managed program
ids, team memberships), so listing the transitions of a page of proposals costs no queries
per row (the call must be loaded with the row).
"""

from accounts.roles import Role
from programs.permissions import can_manage_program


def is_pi(application, user):
    return user.is_authenticated and application.applicant_id == user.pk


def is_party(application, user):
    """The PI or a team member: they may not vouch for or judge their own proposal."""
    from .selectors import team_application_ids

    return is_pi(application, user) or application.pk in team_application_ids(user)


def is_institution_admin(application, user):
    return (
        user.is_authenticated
        and user.has_role(Role.INSTITUTION_ADMIN)
        and user.institution_id is not None
        and user.institution_id == application.institution_id
        and not is_party(application, user)
    )


def manages(application, user):
    """Program officers, and agency staff for the programs delegated to their agency."""
    return can_manage_program(user, application.call.program_id) and not is_party(application, user)


# --- projects: the same people, through the project's proposal ------------------------------


def is_project_pi(project, user):
    return is_pi(project.application, user)


def is_project_institution_admin(project, user):
    return is_institution_admin(project.application, user)


def manages_project(project, user):
    return manages(project.application, user)
