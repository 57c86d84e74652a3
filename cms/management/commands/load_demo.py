"""Load the demo site: programs and open calls, two institutions, an agency, one account per
role (password ``demo``), sample proposals taken through the real services, and one credit
record. Idempotent: what exists is left alone, so running it twice changes nothing.

Refuses to run unless ``settings.GRANTFLOW_DEMO`` is true (never in production).
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from stdnum.cn import uscc

from accounts.models import Agency, Institution, User
from accounts.roles import Role
from accounts.services import user_create
from cms.editors import EDITOR_GROUP
from grants import services
from grants.enums import ApplicationState, TeamRole
from grants.models import Application
from integrity.models import CreditRecord, MisconductCategory
from integrity.services import record_create
from programs.models import Call, Program, RuleSet
from programs.permissions import add_agency_staff, sync_delegation

PASSWORD = "demo"  # noqa: S105 (the demo accounts are public by design)
#: The program the demo agency runs on the commission's behalf.
DELEGATED_PROGRAM = "SI"
CALL_OPENED_DAYS_AGO = 10
CALL_CLOSES_IN_DAYS = 60


def data_dir():
    """``data/`` in the repository (CI clones only the repo); the shared folder otherwise."""
    repo = Path(settings.BASE_DIR) / "data"
    if (repo / "programs.json").exists():
        return repo
    return Path(settings.BASE_DIR).parent / "shared" / "data"


def read_json(name):
    with open(data_dir() / name, encoding="utf-8") as fh:
        return json.load(fh)


def credit_code(serial, prefix="12310000"):
    """A valid unified social credit code: ``prefix`` (registration authority, kind and
    Shanghai's division code), a 9-digit organisation code, then the GB 32100 check."""
    body = f"{prefix}{serial:09d}"
    return body + uscc.calc_check_digit(body)


INSTITUTIONS = {
    "university": {
        "name": "上海示范大学",
        "name_en": "Shanghai Demo University",
        "credit_code": credit_code(990000001),
    },
    "institute": {
        "name": "浦江研究院",
        "name_en": "Pujiang Institute",
        "credit_code": credit_code(990000002),
    },
}
AGENCY = {
    "name": "上海科技项目管理中心",
    "name_en": "Shanghai S&T Project Management Center",
    "credit_code": credit_code(990000003),
}

# username → what user_create gets; "institution" names a key of INSTITUTIONS.
ACCOUNTS = {
    "admin": {"full_name": "系统管理员", "roles": [], "superuser": True},
    "officer": {"full_name": "周敏", "roles": [Role.PROGRAM_OFFICER]},
    "agency": {"full_name": "钱立", "roles": [], "agency": True},
    "unit": {
        "full_name": "孙丽",
        "roles": [Role.INSTITUTION_ADMIN],
        "institution": "university",
    },
    "applicant": {
        "full_name": "李晓明",
        "roles": [Role.APPLICANT],
        "institution": "university",
        "orcid": "0000-0002-1825-0097",
    },
    "applicant2": {
        "full_name": "陈静",
        "roles": [Role.APPLICANT],
        "institution": "university",
    },
    "reviewer": {
        "full_name": "张伟",
        "roles": [Role.REVIEWER],
        "institution": "institute",
        "expertise": ["量子材料", "凝聚态物理", "拓扑绝缘体", "科学仪器"],
    },
    "reviewer_intl": {
        "full_name": "Anna Schmidt",
        "roles": [Role.REVIEWER],
        "country": "DE",
        "language": User.Language.EN,
        "expertise": [
            "cryo-EM",
            "electron detector",
            "scientific instruments",
            "condensed matter physics",
        ],
    },
    "integrity": {"full_name": "吴刚", "roles": [Role.INTEGRITY_OFFICER]},
    "auditor": {"full_name": "郑洁", "roles": [Role.AUDITOR]},
    "editor": {"full_name": "林晓", "roles": [], "editor": True},
}
# People in the data who are not demo log-ins (no usable password).
PEOPLE = {
    "wang.fang": {"full_name": "王芳", "roles": [Role.APPLICANT], "institution": "university"},
    "liu.wei": {"full_name": "刘伟", "roles": [Role.APPLICANT], "institution": "institute"},
}
# The rest of the expert pool, so the delegated call can be staffed (5 per proposal, at
# least one international) and the demo reviewers find invitations waiting.
EXPERTS = {
    "expert.huang": {"full_name": "黄磊", "expertise": ["电子显微镜", "科学仪器", "探测器"]},
    "expert.zhou": {"full_name": "周婷", "expertise": ["低温技术", "样品台", "精密机械"]},
    "expert.xu": {"full_name": "徐斌", "expertise": ["结构生物学", "冷冻电镜", "图像处理"]},
    "expert.he": {"full_name": "何琳", "expertise": ["半导体探测器", "读出电子学"]},
    "expert.brown": {
        "full_name": "James Brown",
        "country": "US",
        "language": User.Language.EN,
        "expertise": ["synchrotron radiation", "X-ray optics", "instrumentation"],
    },
}
for _spec in EXPERTS.values():
    _spec.update(roles=[Role.REVIEWER], institution="institute")
EXPERTS["expert.brown"].pop("institution")
PEOPLE.update(EXPERTS)
BARRED = "liu.wei"


@dataclass
class Proposal:
    pi: str
    program: str
    title: str
    title_en: str
    abstract: str
    abstract_en: str
    keywords: list
    keywords_en: list
    discipline: str
    budget: dict
    target: str
    team: list = field(default_factory=list)
    experts_to_avoid: list = field(default_factory=list)
    #: Who accepts it after the formal check (the agency for its delegated program).
    accepted_by: str = "officer"


PROPOSALS = [
    Proposal(
        pi="applicant",
        program="BR",
        title="二维量子材料中的拓扑相变研究",
        title_en="Topological phase transitions in two-dimensional quantum materials",
        abstract="本项目研究二维量子材料在外场调控下的拓扑相变机理，发展新的表征方法。",
        abstract_en=(
            "We study how external fields drive topological phase transitions in "
            "two-dimensional quantum materials and develop new ways to observe them."
        ),
        keywords=["量子材料", "拓扑相变", "二维材料"],
        keywords_en=["quantum materials", "topological phase transition", "2D materials"],
        discipline="A",
        budget={"equipment": "200000", "business": "350000", "labor": "200000"},
        target=ApplicationState.DRAFT,
        team=[("wang.fang", TeamRole.CO_PI)],
        experts_to_avoid=[
            {"name": "赵强", "institution": "某理工大学", "reason": "同一课题方向的直接竞争者"}
        ],
    ),
    Proposal(
        pi="applicant",
        program="YF",
        title="面向类脑计算的忆阻器件研究",
        title_en="Memristive devices for brain-inspired computing",
        abstract="研究低功耗忆阻器件的阻变机理及其在类脑计算芯片中的应用。",
        abstract_en="Switching mechanisms of low-power memristors and their use in neuromorphic chips.",
        keywords=["忆阻器", "类脑计算"],
        keywords_en=["memristor", "neuromorphic computing"],
        discipline="F",
        budget={"lump_sum": "200000"},
        target=ApplicationState.SUBMITTED,
    ),
    Proposal(
        pi="applicant2",
        program="TS",
        title="智能网联汽车数据安全国际标准研制",
        title_en="An international standard for data security in connected vehicles",
        abstract="牵头研制智能网联汽车数据安全的国际标准提案，并完成验证测试。",
        abstract_en="Lead an international standard proposal for connected-vehicle data security.",
        keywords=["智能网联汽车", "数据安全", "国际标准"],
        keywords_en=["connected vehicles", "data security", "international standards"],
        discipline="F",
        budget={"business": "200000", "labor": "120000"},
        target=ApplicationState.ENDORSED,
        team=[("wang.fang", TeamRole.MEMBER)],
    ),
    Proposal(
        pi="applicant2",
        program="SI",
        title="高分辨冷冻电镜关键部件研制",
        title_en="Key components for a high-resolution cryo-electron microscope",
        abstract="研制冷冻电镜的直接电子探测器与低温样品台，实现关键部件国产化。",
        abstract_en="Build a direct electron detector and cryo stage for cryo-EM.",
        keywords=["冷冻电镜", "电子探测器", "科学仪器"],
        keywords_en=["cryo-EM", "electron detector", "scientific instruments"],
        discipline="E",
        budget={"equipment": "500000", "business": "400000", "labor": "250000"},
        target=ApplicationState.ACCEPTED,
        experts_to_avoid=[
            {"name": "孙浩", "institution": "某仪器公司", "reason": "存在商业合作关系"}
        ],
        accepted_by="agency",
    ),
]


class Command(BaseCommand):
    help = "Load demo programs, calls, accounts (password 'demo') and proposals; idempotent."

    def handle(self, *args, **options):
        if not getattr(settings, "GRANTFLOW_DEMO", False):
            raise CommandError("GRANTFLOW_DEMO is off: demo data is never loaded here.")
        self.created = []
        with transaction.atomic():
            now = timezone.now()
            programs = self.load_programs(now)
            institutions = {
                key: self.institution(Institution, values) for key, values in INSTITUTIONS.items()
            }
            agency = self.institution(Agency, AGENCY, key="name")
            delegated = programs[DELEGATED_PROGRAM]
            if delegated.agency_id is None:
                delegated.agency = agency
                delegated.save(update_fields=["agency"])
                self.created.append(f"delegation {delegated.code} → {agency.name}")
            if delegated.agency_id == agency.pk:
                sync_delegation(delegated)
            users = {
                name: self.user(name, spec, institutions, agency, login=True)
                for name, spec in ACCOUNTS.items()
            }
            users.update(
                {
                    name: self.user(name, spec, institutions, agency, login=False)
                    for name, spec in PEOPLE.items()
                }
            )
            for proposal in PROPOSALS:
                self.proposal(proposal, programs, users)
            self.credit_record(users)
            self.review_staffing(programs, users)
            self.public_site()
        if self.created:
            self.stdout.write(self.style.SUCCESS("Demo data loaded:"))
            for line in self.created:
                self.stdout.write(f"  + {line}")
        else:
            self.stdout.write("Demo data already loaded; nothing changed.")
        self.stdout.write("Log in as " + ", ".join(ACCOUNTS) + f" with the password '{PASSWORD}'.")

    # --- programs and calls -----------------------------------------------------------

    def load_programs(self, now):
        rule_set = RuleSet.objects.get(code="2021")
        programs = {}
        for spec in read_json("programs.json")["programs"]:
            calls = spec.get("calls", [])
            program = Program.objects.filter(code=spec["code"]).first()
            if program is None:
                program = Program(
                    code=spec["code"],
                    name=spec["name"],
                    name_en=spec.get("name_en", ""),
                    category=spec["category"],
                    funding_mode=spec["funding_mode"],
                    rule_set=rule_set,
                    default_scoring_scheme=calls[0]["scoring_scheme"] if calls else "nsfc",
                )
                program.full_clean()
                program.save()
                self.created.append(f"program {program}")
            programs[program.code] = program
            for call_spec in calls:
                self.call(program, call_spec, now)
        return programs

    def call(self, program, spec, now):
        opens_at = now - timedelta(days=CALL_OPENED_DAYS_AGO)
        closes_at = now + timedelta(days=CALL_CLOSES_IN_DAYS)
        call = Call.objects.filter(program=program, title=spec["title"]).first()
        if call is None:
            call = Call(
                program=program,
                title=spec["title"],
                title_en=spec.get("title_en", ""),
                opens_at=opens_at,
                closes_at=closes_at,
                max_budget=Decimal(spec["max_budget"]),
                sum_kind=spec.get("sum", Call.SumKind.CAPPED),
                lump_sum=spec.get("lump_sum", False),
                scoring_scheme=spec.get("scoring_scheme", ""),
                reviewers_per_application=spec.get("reviewers_per_application", 3),
                min_international_reviewers=spec.get("min_international_reviewers", 0),
            )
            call.full_clean()
            call.save()
            self.created.append(f"call {call} (open until {timezone.localdate(closes_at)})")
        elif call.closes_at <= now:
            # A demo loaded long ago: open the window again so the site stays usable.
            Call.objects.filter(pk=call.pk).update(opens_at=opens_at, closes_at=closes_at)
            self.created.append(f"reopened call {call}")
        return call

    # --- institutions, agency, people -------------------------------------------------

    def institution(self, model, values, key="credit_code"):
        obj = model.objects.filter(**{key: values[key]}).first()
        if obj is None:
            obj = model(**values)
            obj.full_clean()
            obj.save()
            self.created.append(f"{model._meta.model_name} {obj}")
        return obj

    def user(self, username, spec, institutions, agency, *, login):
        user = User.objects.filter(username=username).first()
        if user is not None:
            return user
        fields = {
            "full_name": spec["full_name"],
            "email": f"{username}@demo.grantflow.example",
            "institution": institutions.get(spec.get("institution")),
            "country": spec.get("country", "CN"),
            "language": spec.get("language", User.Language.ZH),
            "orcid": spec.get("orcid", ""),
        }
        if spec.get("superuser"):
            fields.update(is_superuser=True, is_staff=True)
        user = user_create(
            username=username,
            password=PASSWORD if login else None,
            roles=spec["roles"],
            expertise=spec.get("expertise"),
            **fields,
        )
        roles = [str(r) for r in spec["roles"]]
        if spec.get("agency"):
            add_agency_staff(user, agency)
            roles.append(f"{Role.AGENCY_STAFF} of {agency}")
        if spec.get("superuser"):
            roles.append("superuser")
        if spec.get("editor"):
            user.groups.add(Group.objects.get(name=EDITOR_GROUP))
            roles.append("public-site editor")
        self.created.append(f"user {username} ({', '.join(roles)})")
        return user

    # --- proposals ----------------------------------------------------------------------

    def proposal(self, spec, programs, users):
        pi = users[spec.pi]
        if Application.objects.filter(applicant=pi, title=spec.title).exists():
            return None
        call = programs[spec.program].calls.order_by("id").first()
        application = services.application_create(
            applicant=pi,
            call=call,
            title=spec.title,
            title_en=spec.title_en,
            abstract=spec.abstract,
            abstract_en=spec.abstract_en,
            keywords=spec.keywords,
            keywords_en=spec.keywords_en,
            discipline=spec.discipline,
        )
        if spec.team:
            services.team_set(
                application=application,
                members=[(users[name], role) for name, role in spec.team],
            )
        services.budget_set(application=application, lines=spec.budget)
        if spec.experts_to_avoid:
            services.experts_to_avoid_set(application=application, experts=spec.experts_to_avoid)
        steps = []
        order = [
            ApplicationState.SUBMITTED,
            ApplicationState.ENDORSED,
            ApplicationState.ACCEPTED,
        ]
        if spec.target in order:
            steps = order[: order.index(spec.target) + 1]
        for state in steps:
            application = self.step(application, state, spec, users)
        self.created.append(f"proposal {application} [{application.state}]")
        return application

    def step(self, application, state, spec, users):
        # Fresh user objects: roles and delegated programs are cached per instance.
        def fresh(name):
            return User.objects.get(pk=users[name].pk)

        if state == ApplicationState.SUBMITTED:
            return services.application_submit(application=application, user=fresh(spec.pi))
        if state == ApplicationState.ENDORSED:
            return services.application_endorse(
                application=application,
                user=fresh("unit"),
                comment="材料真实，同意推荐。",
            )
        return services.application_transition(
            application=application,
            name="accept",
            user=fresh(spec.accepted_by),
            comment="形式审查通过。",
        )

    # --- integrity ----------------------------------------------------------------------

    def credit_record(self, users):
        barred = users[BARRED]
        if CreditRecord.objects.filter(subject_user=barred).exists():
            return
        today = timezone.localdate()
        record_create(
            created_by=users["integrity"],
            subject_user=barred,
            category=MisconductCategory.PLAGIARISM,
            bars=["apply"],
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=3 * 365 - 30),
            decision="取消项目申报资格三年",
            deciding_body="上海市科学技术委员会",
            legal_basis="上海市科技信用信息管理办法",
            description="申报材料中大段抄袭他人已发表论文（示范数据）。",
        )
        self.created.append(f"credit record barring {barred} from applying")

    # --- review ---------------------------------------------------------------------------

    def review_staffing(self, programs, users):
        """Staff the delegated call's accepted proposals once, as its agency would."""
        from review.assignment import assign_call
        from review.models import ReviewAssignment

        call = programs[DELEGATED_PROGRAM].calls.order_by("id").first()
        if call is None or ReviewAssignment.objects.filter(application__call=call).exists():
            return
        result = assign_call(call, actor=User.objects.get(pk=users["agency"].pk))
        if result.assigned:
            self.created.append(f"review assignments on {call}: {result.assigned}")

    # --- public site ----------------------------------------------------------------------

    def public_site(self):
        """The Wagtail page tree in Chinese and English, a page per call (idempotent)."""
        from cms.pages import build_site

        self.created.extend(build_site())
