"""factory_boy factories for every model the tests build."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Agency, Institution, User
from accounts.roles import Role
from grants.models import Application, BudgetLine, TeamMember
from integrity.models import CreditRecord
from programs.models import Call, Category, Program
from programs.permissions import add_agency_staff, sync_delegation

USCC_SAMPLES = []


def make_credit_code(n):
    """A valid 18-character unified social credit code built around ``n``."""
    from stdnum.cn import uscc

    body = f"91310000{n:09d}"[:17]
    return body + uscc.calc_check_digit(body)


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    name = factory.Sequence(lambda n: f"上海第{n}研究所")
    name_en = factory.Sequence(lambda n: f"Shanghai Institute No. {n}")
    credit_code = factory.Sequence(lambda n: make_credit_code(n + 1000))


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"科技项目管理机构{n}")
    name_en = factory.Sequence(lambda n: f"Project management agency {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    full_name = factory.Sequence(lambda n: f"研究员{n}")
    institution = factory.SubFactory(InstitutionFactory)
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=[str(r) for r in extracted]))
            self.__dict__.pop("role_names", None)


def applicant(**kw):
    return UserFactory(roles=[Role.APPLICANT], **kw)


def institution_admin(institution, **kw):
    return UserFactory(roles=[Role.INSTITUTION_ADMIN], institution=institution, **kw)


def officer(**kw):
    return UserFactory(roles=[Role.PROGRAM_OFFICER], institution=None, **kw)


def auditor(**kw):
    return UserFactory(roles=[Role.AUDITOR], institution=None, **kw)


def integrity_officer(**kw):
    return UserFactory(roles=[Role.INTEGRITY_OFFICER], institution=None, **kw)


def reviewer(**kw):
    return UserFactory(roles=[Role.REVIEWER], **kw)


def agency_staff(agency, **kw):
    user = UserFactory(institution=None, **kw)
    add_agency_staff(user, agency)
    user.__dict__.pop("role_names", None)
    return user


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"P{n}")
    name = factory.Sequence(lambda n: f"基础研究项目{n}")
    name_en = factory.Sequence(lambda n: f"Basic research program {n}")
    category = Category.BASIC_FRONTIER

    @factory.post_generation
    def delegate(self, create, extracted, **kwargs):
        if create and self.agency_id:
            sync_delegation(self)


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    program = factory.SubFactory(ProgramFactory)
    title = factory.Sequence(lambda n: f"基础研究领域项目申报指南 {n}")
    title_en = factory.Sequence(lambda n: f"Call for basic research projects {n}")
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=10))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=20))
    max_budget = Decimal("1000000.00")


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A complete draft: title, abstract, keywords and a budget within the call's caps."""

    class Meta:
        model = Application
        skip_postgeneration_save = True

    call = factory.SubFactory(CallFactory)
    applicant = factory.SubFactory(UserFactory, roles=[Role.APPLICANT])
    institution = factory.LazyAttribute(lambda o: o.applicant.institution)
    title = factory.Sequence(lambda n: f"量子材料中的拓扑相变研究 {n}")
    abstract = "研究拓扑量子材料的相变机理。"
    keywords = factory.LazyFunction(lambda: ["量子材料", "拓扑相变"])
    title_en = factory.Sequence(lambda n: f"Topological phase transitions in quantum materials {n}")

    @factory.post_generation
    def budget(self, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        lines = extracted or {
            "equipment": Decimal("200000.00"),
            "business": Decimal("300000.00"),
            "labor": Decimal("200000.00"),
            "indirect": Decimal("150000.00"),
        }
        BudgetLine.objects.bulk_create(
            BudgetLine(application=self, category=c, amount=a) for c, a in lines.items()
        )

    @factory.post_generation
    def team(self, create, extracted, **kwargs):
        if create and extracted:
            TeamMember.objects.bulk_create(
                TeamMember(application=self, user=u, role="member") for u in extracted
            )


def set_state(application, state, **fields):
    """Put an application straight into ``state`` for a test's starting point."""
    Application.objects.filter(pk=application.pk).update(state=state, **fields)
    application.refresh_from_db()
    return application


class CreditRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditRecord

    category = "plagiarism"
    bars_apply = True
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=1))
    ends_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))
    decision = "取消申报资格三年"
    deciding_body = "上海市科学技术委员会"


# --- peer review ----------------------------------------------------------------------------


class ReviewAssignmentFactory(factory.django.DjangoModelFactory):
    """An assignment straight in ``state`` (default submitted): tests of ranking and decisions
    do not run the assignment engine."""

    class Meta:
        model = "review.ReviewAssignment"

    application = factory.SubFactory(ApplicationFactory)
    reviewer = factory.SubFactory(UserFactory, roles=[Role.REVIEWER])
    state = "submitted"
    respond_by = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=7))
    is_international = factory.LazyAttribute(lambda o: str(o.reviewer.country) != "CN")


class ReviewFactory(factory.django.DjangoModelFactory):
    """A submitted review; give ``total`` (and ``scores``) as the test needs."""

    class Meta:
        model = "review.Review"

    assignment = factory.SubFactory(ReviewAssignmentFactory)
    scores = factory.LazyFunction(dict)
    total = None
    recommendation = "fund"
    comment = factory.Sequence(lambda n: f"Comment to the applicant {n}.")
    confidential_comment = factory.Sequence(lambda n: f"Confidential note {n}.")
    submitted_at = factory.LazyFunction(timezone.now)


def review(application, total, recommendation="fund", **kw):
    """A submitted review of ``application`` by a new reviewer with weighted ``total``."""
    assignment = ReviewAssignmentFactory(application=application, **kw.pop("assignment", {}))
    return ReviewFactory(
        assignment=assignment,
        total=Decimal(str(total)),
        recommendation=recommendation,
        **kw,
    )
