"""The data of the deadline-day run (benchmarks/deadline.py): a call closing in ten minutes
with complete draft proposals waiting to be submitted, officers with a formal-check queue,
reviewers with accepted assignments; and the sessions the load clients use.

Plain ORM, in bulk, like benchmarks/loader.py. Sessions are made the way Django's test
client ``force_login`` makes them (and staff sessions carry a verified TOTP device), so the
clients never go through the rate-limited sign-in form.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import ExpertProfile, Institution, User
from accounts.roles import Role
from benchmarks.loader import credit_code
from grants.enums import ApplicationState, BudgetCategory
from grants.models import Application, BudgetLine, NumberSequence
from programs.models import CATEGORY_PREFIX, Call, Category, Program, RuleSet

S = ApplicationState
PASSWORD = "bench"
DEADLINE_TITLE = "[load] 截止日申报指南"
BUDGET = {
    BudgetCategory.EQUIPMENT: Decimal("200000"),
    BudgetCategory.BUSINESS: Decimal("300000"),
    BudgetCategory.LABOR: Decimal("200000"),
    BudgetCategory.INDIRECT: Decimal("100000"),
}


def _users(specs, password, groups):
    users = User.objects.bulk_create(
        User(
            username=name,
            password=password,
            email=f"{name}@load.example",
            full_name=f"测试用户{name[4:]}",
            institution=institution,
            country="CN",
            language="zh-hans",
        )
        for name, _role, institution in specs
    )
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=u.pk, group_id=groups[role].pk)
        for u, (_n, role, _i) in zip(users, specs, strict=True)
    )
    return users


def _proposals(call, people, state, *, numbered_from=None, title="量子材料中的拓扑相变研究"):
    apps = Application.objects.bulk_create(
        Application(
            call=call,
            applicant=pi,
            institution_id=pi.institution_id,
            title=f"{title}（{i}）",
            title_en=f"Topological phase transitions ({i})",
            abstract="研究内容与技术路线。" * 10,
            keywords=["量子材料", "拓扑相变"],
            discipline="A",
            state=state,
            number=None if numbered_from is None else numbered_from(i),
            submitted_at=None if numbered_from is None else call.opens_at + timedelta(days=2),
        )
        for i, pi in enumerate(people)
    )
    BudgetLine.objects.bulk_create(
        BudgetLine(application=app, category=c, amount=a) for app in apps for c, a in BUDGET.items()
    )
    return apps


@transaction.atomic
def load(*, applicants=500, officers=5, reviewers=20, per_reviewer=5, endorsed=300, seed=7):
    """Create the run's data in an empty, migrated database."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from review.models import AssignmentState, IntegrityPledge, ReviewAssignment

    rng = random.Random(seed)
    now = timezone.now()
    year = timezone.localtime(now).year
    password = make_password(PASSWORD)
    groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
    institutions = Institution.objects.bulk_create(
        Institution(
            name=f"负载测试大学{i}", name_en=f"Load University {i}", credit_code=credit_code(i + 1)
        )
        for i in range(10)
    )
    program = Program.objects.create(
        code="LOAD",
        name="负载测试基础研究项目",
        name_en="Load basic research",
        category=Category.BASIC_FRONTIER,
        rule_set=RuleSet.objects.filter(code="2021").first(),
    )
    deadline = Call.objects.create(
        program=program,
        title=DEADLINE_TITLE,
        title_en="[load] Deadline call",
        opens_at=now - timedelta(days=30),
        closes_at=now + timedelta(minutes=10),
        max_budget=Decimal("1000000.00"),
    )
    earlier = Call.objects.create(
        program=program,
        title="[load] 上一批申报指南",
        title_en="[load] Earlier call",
        opens_at=now - timedelta(days=90),
        closes_at=now - timedelta(days=40),
        max_budget=Decimal("1000000.00"),
        scoring_scheme="eu",
        review_deadline=timezone.localdate() + timedelta(days=20),
    )

    specs = [
        (f"load_applicant{i}", Role.APPLICANT, institutions[i % 10]) for i in range(applicants)
    ]
    specs += [
        (f"load_unit{i}", Role.INSTITUTION_ADMIN, inst) for i, inst in enumerate(institutions)
    ]
    specs += [(f"load_officer{i}", Role.PROGRAM_OFFICER, None) for i in range(officers)]
    specs += [
        (f"load_reviewer{i}", Role.REVIEWER, rng.choice(institutions)) for i in range(reviewers)
    ]
    specs += [(f"load_earlier{i}", Role.APPLICANT, institutions[i % 10]) for i in range(100)]
    users = _users(specs, password, groups)
    by_role = {}
    for user, (_n, role, _i) in zip(users, specs, strict=True):
        by_role.setdefault(role, []).append(user)
    pis, earlier_pis = by_role[Role.APPLICANT][:applicants], by_role[Role.APPLICANT][applicants:]
    TOTPDevice.objects.bulk_create(
        TOTPDevice(user=u, name="load", confirmed=True) for u in by_role[Role.PROGRAM_OFFICER]
    )
    ExpertProfile.objects.bulk_create(
        ExpertProfile(user=u, expertise=["quantum", "materials"]) for u in by_role[Role.REVIEWER]
    )

    # Drafts of the deadline call; earlier proposals numbered from this year's sequence, so
    # the run's numbers continue it (and a gap or a repeat shows).
    prefix = CATEGORY_PREFIX[Category.BASIC_FRONTIER]
    under_review = reviewers * per_reviewer
    _proposals(deadline, pis, S.DRAFT)
    numbered = [earlier_pis[i % len(earlier_pis)] for i in range(endorsed + under_review)]
    old = _proposals(
        earlier, numbered, S.ENDORSED, numbered_from=lambda i: f"{prefix}-{year}-{i + 1:06d}"
    )
    NumberSequence.objects.create(prefix=prefix, year=year, last=len(old))
    reviewed = old[endorsed:]
    Application.objects.filter(pk__in=[a.pk for a in reviewed]).update(state=S.UNDER_REVIEW)
    IntegrityPledge.objects.bulk_create(
        IntegrityPledge(reviewer=r, call=earlier) for r in by_role[Role.REVIEWER]
    )
    ReviewAssignment.objects.bulk_create(
        ReviewAssignment(
            application=app,
            reviewer=by_role[Role.REVIEWER][i // per_reviewer],
            state=AssignmentState.ACCEPTED,
            respond_by=timezone.localdate() + timedelta(days=7),
            responded_at=now,
        )
        for i, app in enumerate(reviewed)
    )


def reopen_deadline_call(minutes=10):
    """The call closes ``minutes`` from now (the data is loaded once, runs come later)."""
    Call.objects.filter(title=DEADLINE_TITLE).update(
        closes_at=timezone.now() + timedelta(minutes=minutes)
    )


def deadline_call():
    return Call.objects.get(title=DEADLINE_TITLE)


def _session(user, device=None):
    """A signed-in session for ``user``, as ``Client.force_login`` makes it; with ``device``
    it is also OTP-verified, as after a successful second factor."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django_otp import DEVICE_ID_SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if device is not None:
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.create()
    return store.session_key


def plan(limit=None, seed=11):
    """Sessions and targets of every load client, for benchmarks/locustfile.py; ``limit``
    applicants (default: every draft)."""
    from django.conf import settings
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from review.models import AssignmentState, ReviewAssignment

    rng = random.Random(seed)
    call = deadline_call()
    drafts = list(Application.objects.filter(call=call, state=S.DRAFT).select_related("applicant"))
    rng.shuffle(drafts)
    drafts = drafts[:limit]
    devices = {d.user_id: d for d in TOTPDevice.objects.filter(user__username__startswith="load_")}
    officers = User.objects.filter(username__startswith="load_officer").order_by("pk")
    queue = list(
        Application.objects.filter(state=S.ENDORSED).order_by("pk").values_list("pk", flat=True)
    )
    assignments = {}
    for a in ReviewAssignment.objects.filter(state=AssignmentState.ACCEPTED).order_by("pk"):
        assignments.setdefault(a.reviewer_id, []).append(a.pk)
    reviewers = User.objects.filter(pk__in=assignments).order_by("pk")
    return {
        "cookie": settings.SESSION_COOKIE_NAME,
        "applicants": [
            {"session": _session(app.applicant), "pk": app.pk, "number": None} for app in drafts
        ],
        "officers": [{"session": _session(o, devices[o.pk]), "proposals": queue} for o in officers],
        "reviewers": [
            {"session": _session(r), "assignments": assignments[r.pk]} for r in reviewers
        ],
    }
