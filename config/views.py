"""Home and the role-aware dashboard: one page, one section per role the user has.

The dashboard runs a fixed number of queries whatever the amount of data: counts are
aggregated in the database, lists are sliced and loaded with their relations.
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import redirect, render

from accounts.roles import Role


def home(request):
    return redirect("dashboard" if request.user.is_authenticated else "accounts:login")


RECENT = 10


def _applicant_section(user):
    from grants.enums import ApplicationState
    from grants.models import Application
    from programs.models import Call

    counts = dict(
        Application.objects.filter(applicant=user)
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
    )
    return {
        "state_counts": [
            (value, label, counts[value])
            for value, label in ApplicationState.choices
            if counts.get(value)
        ],
        "total": sum(counts.values()),
        "recent": list(
            Application.objects.filter(applicant=user)
            .select_related("call__program")
            .order_by("-updated_at", "-id")[:RECENT]
        ),
        "open_calls": Call.objects.open_at().count(),
    }


def _institution_section(user):
    from grants.enums import ApplicationState
    from grants.models import Application

    S = ApplicationState
    counts = Application.objects.filter(
        institution_id=user.institution_id, number__isnull=False
    ).aggregate(
        waiting=Count("id", filter=Q(state=S.SUBMITTED)),
        endorsed=Count("id", filter=Q(state=S.ENDORSED)),
    )
    return {"institution": user.institution, **counts}


def _manager_section(user):
    from grants.enums import ApplicationState
    from grants.models import Application
    from programs.permissions import managed_programs

    S = ApplicationState
    shown = (S.ENDORSED, S.ACCEPTED, S.INELIGIBLE)
    programs = list(managed_programs(user).order_by("code"))
    # Counted from the proposals side, so the state index narrows the rows before grouping.
    counts = {
        (program_id, state): n
        for program_id, state, n in Application.objects.filter(
            state__in=shown, call__program__in=[p.pk for p in programs]
        )
        .order_by()
        .values_list("call__program_id", "state")
        .annotate(n=Count("id"))
    }
    for program in programs:
        program.endorsed = counts.get((program.pk, S.ENDORSED), 0)
        program.accepted = counts.get((program.pk, S.ACCEPTED), 0)
        program.ineligible = counts.get((program.pk, S.INELIGIBLE), 0)
    return {
        "programs": programs,
        "endorsed_total": sum(p.endorsed for p in programs),
        "agency": user.agency if user.has_role(Role.AGENCY_STAFF) else None,
        "boards": _review_boards(user),
    }


def _review_boards(user):
    """Calls of the managed programs under review or in notice (links to their boards)."""
    from review.views_board import boards_for

    return list(boards_for(user)[:RECENT])


def _reviewer_section(user):
    from review.selectors import reviewer_dashboard

    return reviewer_dashboard(user)


@login_required
def dashboard(request):
    user = request.user
    context = {}
    if user.has_role(Role.APPLICANT):
        context["applicant"] = _applicant_section(user)
    if user.has_role(Role.INSTITUTION_ADMIN) and user.institution_id:
        context["institution"] = _institution_section(user)
    if user.is_superuser or user.has_role(Role.PROGRAM_OFFICER, Role.AGENCY_STAFF):
        context["manager"] = _manager_section(user)
    context["integrity_officer"] = user.has_role(Role.INTEGRITY_OFFICER)
    context["auditor"] = user.has_role(Role.AUDITOR)
    context["reviewer"] = _reviewer_section(user) if user.has_role(Role.REVIEWER) else None
    context.update(_integrity_section(user))
    return render(request, "dashboard.html", context)


# --- credit and gates ---


def _integrity_section(user):
    """Links to the affected list and the credit page; a barred agency staff member reads why
    their programs are gone (their own record)."""
    from integrity import services as integrity
    from integrity.views_credit import may_see_affected, may_see_credit

    context = {
        "may_see_affected": may_see_affected(user),
        "may_see_credit": may_see_credit(user),
        "manage_bar_reasons": [],
    }
    action = integrity.manage_action()
    if action is not None and user.has_role(Role.AGENCY_STAFF) and integrity.manage_barred(user):
        context["manage_bar_reasons"] = integrity.check_eligibility(
            action, users=[user], viewer=user
        ).reasons
    return context
