"""Bulk data for the benchmark: institutions, users with roles, programs, calls, proposals
with budgets and teams, a few credit records. Fast (``bulk_create`` in chunks), deterministic
(seeded), and plain ORM so it runs on PostgreSQL for the benchmark and on the test database
in ``tests/test_benchmark_loader.py``.

Bench rows are marked: usernames start with ``bench``, call titles with ``[bench]``.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from stdnum.cn import uscc

from accounts.models import Agency, ExpertProfile, Institution, User
from accounts.roles import Role
from grants.enums import ApplicationState, BudgetCategory, TeamRole
from grants.models import Application, BudgetLine, TeamMember
from integrity.models import CreditRecord, MisconductCategory
from programs.models import CATEGORY_PREFIX, Call, Category, Program, RuleSet
from programs.permissions import add_agency_staff, sync_delegation

S = ApplicationState
CHUNK = 5000
PASSWORD = "bench"
CALL_PREFIX = "[bench] "

#: Share of proposals per state: a funder's database in the middle of a year.
STATE_WEIGHTS = {
    S.DRAFT: 18,
    S.SUBMITTED: 10,
    S.ENDORSED: 12,
    S.ACCEPTED: 8,
    S.INELIGIBLE: 3,
    S.UNDER_REVIEW: 10,
    S.REVIEWED: 5,
    S.IN_NOTICE: 2,
    S.AWARDED: 17,
    S.REJECTED: 12,
    S.WITHDRAWN: 3,
}
TOPICS = [
    ("量子材料中的拓扑相变研究", "Topological phase transitions in quantum materials"),
    ("面向类脑计算的忆阻器件研究", "Memristive devices for brain-inspired computing"),
    ("高分辨冷冻电镜关键部件研制", "Key components for high-resolution cryo-EM"),
    ("城市河网水环境智能监测", "Smart monitoring of urban river networks"),
    ("肿瘤免疫微环境的单细胞图谱", "Single-cell atlas of the tumour immune microenvironment"),
    ("长江口湿地碳汇机制研究", "Carbon sinks of the Yangtze estuary wetlands"),
    ("智能网联汽车数据安全标准研制", "Data-security standards for connected vehicles"),
    ("新型钠离子电池正极材料", "Cathode materials for sodium-ion batteries"),
]


@dataclass(frozen=True)
class Sizes:
    applications: int
    users: int
    calls: int

    @property
    def institutions(self):
        return max(3, min(300, self.users // 100))

    @property
    def officers(self):
        return max(2, self.users // 2000)

    @property
    def reviewers(self):
        return max(3, self.users // 20)


def credit_code(serial):
    body = f"12310000{serial:09d}"
    return body + uscc.calc_check_digit(body)


def chunks(items, size=CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bench_counts():
    """What is loaded now, to decide whether a database can be reused."""
    return Sizes(
        applications=Application.objects.count(),
        users=User.objects.filter(username__startswith="bench").count(),
        calls=Call.objects.filter(title__startswith=CALL_PREFIX).count(),
    )


def _log(stdout, message):
    if stdout is not None:
        stdout.write(message + "\n")
        stdout.flush()


@transaction.atomic
def load_bench_data(*, applications, users, calls, seed=2026, stdout=None):
    """Create ``applications`` proposals, ``users`` users and ``calls`` calls (and what they
    need). Returns the well-known accounts the benchmark logs in as."""
    rng = random.Random(seed)
    sizes = Sizes(applications, users, calls)
    now = timezone.now()
    password = make_password(PASSWORD)  # hashed once, shared by every bench account
    groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
    rule_set = RuleSet.objects.filter(code="2021").first()

    # Institutions and the agency.
    institutions = Institution.objects.bulk_create(
        Institution(
            name=f"基准测试大学{i}",
            name_en=f"Benchmark University {i}",
            credit_code=credit_code(880000000 + i),
        )
        for i in range(sizes.institutions)
    )
    agency = Agency.objects.create(
        name="基准测试专业机构", name_en="Benchmark agency", credit_code=credit_code(870000001)
    )

    # Programs (two per category, one delegated to the agency) and calls.
    programs = []
    for i, category in enumerate(Category):
        for j in range(2):
            programs.append(
                Program(
                    code=f"B{i}{j}",
                    name=f"基准{category.label}项目{j}",
                    name_en=f"Bench {category.label} {j}",
                    category=category,
                    rule_set=rule_set,
                    agency=agency if (i, j) == (0, 1) else None,
                )
            )
    programs = Program.objects.bulk_create(programs)
    sync_delegation(programs[1])
    call_objs = []
    for i in range(calls):
        open_now = i % 4 != 0
        opens_at = now - timedelta(days=10 if open_now else 400)
        lump_sum = i % 5 == 0
        call_objs.append(
            Call(
                program=programs[i % len(programs)],
                title=f"{CALL_PREFIX}申报指南 {i}",
                title_en=f"{CALL_PREFIX}Call {i}",
                opens_at=opens_at,
                closes_at=opens_at + timedelta(days=60 if open_now else 90),
                max_budget=Decimal("200000.00") if lump_sum else Decimal("1000000.00"),
                sum_kind=Call.SumKind.FIXED if lump_sum else Call.SumKind.CAPPED,
                lump_sum=lump_sum,
            )
        )
    call_objs = Call.objects.bulk_create(call_objs)
    _log(stdout, f"  {len(institutions)} institutions, {len(programs)} programs, {calls} calls")

    # Users: named accounts first, then the crowd. Roles are group memberships.
    named = [
        ("bench_officer", Role.PROGRAM_OFFICER, None),
        ("bench_applicant", Role.APPLICANT, institutions[0]),
        ("bench_unit", Role.INSTITUTION_ADMIN, institutions[0]),
        ("bench_auditor", Role.AUDITOR, None),
    ]
    plan = list(named)
    plan += [(f"bench_officer{i}", Role.PROGRAM_OFFICER, None) for i in range(sizes.officers - 1)]
    plan += [
        (f"bench_unit{i}", Role.INSTITUTION_ADMIN, inst)
        for i, inst in enumerate(institutions[1:], start=1)
    ]
    plan += [
        (f"bench_reviewer{i}", Role.REVIEWER, rng.choice(institutions))
        for i in range(sizes.reviewers)
    ]
    agency_username = "bench_agency"
    rest = users - len(plan) - 1  # the agency's account is made on its own below
    if rest < 1:
        raise ValueError(f"{users} users are too few for the roles; give at least {len(plan) + 2}.")
    plan += [(f"bench_user{i}", Role.APPLICANT, rng.choice(institutions)) for i in range(rest)]
    user_objs = []
    for username, role, institution in plan:
        user_objs.append(
            User(
                username=username,
                password=password,
                email=f"{username}@bench.example",
                full_name=f"研究员{len(user_objs)}",
                institution=institution,
                country="CN" if rng.random() > 0.1 or role != Role.REVIEWER else "DE",
                language="zh-hans",
            )
        )
    user_objs = _bulk(User, user_objs)
    memberships = [
        User.groups.through(user_id=u.pk, group_id=groups[role].pk)
        for u, (_name, role, _inst) in zip(user_objs, plan, strict=True)
    ]
    User.groups.through.objects.bulk_create(memberships, batch_size=CHUNK)
    ExpertProfile.objects.bulk_create(
        (
            ExpertProfile(user_id=u.pk, expertise=list(rng.choice(TOPICS)[1].split()[:3]))
            for u, (_n, role, _i) in zip(user_objs, plan, strict=True)
            if role == Role.REVIEWER
        ),
        batch_size=CHUNK,
    )
    agency_user = User.objects.create(
        username=agency_username, password=password, full_name="机构工作人员"
    )
    add_agency_staff(agency_user, agency)
    _log(stdout, f"  {len(user_objs) + 1} users")

    # Proposals, in chunks, with budget lines and team members.
    bench_applicant = user_objs[1]
    applicants = [  # the crowd: everyone with the applicant role but the measured account
        u
        for u, (_n, role, _i) in zip(user_objs, plan, strict=True)
        if role == Role.APPLICANT and u is not bench_applicant
    ]
    own_share = max(1, applications // 12500)  # the logged-in applicant: 1 row small, 8 big
    states, weights = zip(*STATE_WEIGHTS.items(), strict=True)
    created = 0
    for start in range(0, applications, CHUNK):
        batch = []
        for n in range(start, min(start + CHUNK, applications)):
            pi = bench_applicant if n < own_share else applicants[n % len(applicants)]
            call = call_objs[rng.randrange(len(call_objs))]
            state = S.DRAFT if n < own_share // 2 else rng.choices(states, weights)[0]
            title, title_en = TOPICS[n % len(TOPICS)]
            prefix = CATEGORY_PREFIX[call.program.category]
            batch.append(
                Application(
                    call=call,
                    applicant=pi,
                    institution_id=pi.institution_id,
                    number=None if state == S.DRAFT else f"{prefix}-2025-{n + 1:06d}",
                    title=f"{title}（{n}）",
                    title_en=f"{title_en} ({n})",
                    abstract="研究内容与技术路线。" * 10,
                    keywords=["基准", title[:4]],
                    discipline="ABCDEFGHT"[n % 9],
                    state=state,
                    submitted_at=None if state == S.DRAFT else call.opens_at + timedelta(days=5),
                )
            )
        batch = Application.objects.bulk_create(batch, batch_size=CHUNK)
        lines, team = [], []
        for app in batch:
            if app.call.lump_sum:
                lines.append(
                    BudgetLine(
                        application=app,
                        category=BudgetCategory.LUMP_SUM,
                        amount=app.call.max_budget,
                    )
                )
            else:
                equipment = Decimal(rng.randrange(0, 250)) * 1000
                business = Decimal(rng.randrange(100, 400)) * 1000
                labor = Decimal(rng.randrange(50, 200)) * 1000
                indirect = ((business + labor) * Decimal("0.2")).quantize(Decimal("1"))
                for category, amount in (
                    (BudgetCategory.EQUIPMENT, equipment),
                    (BudgetCategory.BUSINESS, business),
                    (BudgetCategory.LABOR, labor),
                    (BudgetCategory.INDIRECT, indirect),
                ):
                    lines.append(BudgetLine(application=app, category=category, amount=amount))
            for member in {rng.choice(applicants) for _ in range(rng.randrange(0, 3))}:
                if member.pk != app.applicant_id:
                    team.append(TeamMember(application=app, user=member, role=TeamRole.MEMBER))
        BudgetLine.objects.bulk_create(lines, batch_size=CHUNK)
        TeamMember.objects.bulk_create(team, batch_size=CHUNK)
        created += len(batch)
        _log(stdout, f"  {created} proposals")

    # A few integrity records, as in a real database.
    today = timezone.localdate()
    CreditRecord.objects.bulk_create(
        CreditRecord(
            subject_user=rng.choice(applicants),
            category=MisconductCategory.PLAGIARISM,
            bars_apply=True,
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=1000),
        )
        for _ in range(max(1, users // 200))
    )
    return {
        "officer": user_objs[0],
        "applicant": bench_applicant,
        "unit": user_objs[2],
        "auditor": user_objs[3],
        "agency": agency_user,
    }


def _bulk(model, objs):
    out = []
    for part in chunks(objs):
        out.extend(model.objects.bulk_create(part))
    return out


def bench_accounts():
    """The well-known accounts of an already loaded bench database."""
    names = {
        "officer": "bench_officer",
        "applicant": "bench_applicant",
        "unit": "bench_unit",
        "auditor": "bench_auditor",
        "agency": "bench_agency",
    }
    by_name = {u.username: u for u in User.objects.filter(username__in=names.values())}
    return {key: by_name[name] for key, name in names.items()}
