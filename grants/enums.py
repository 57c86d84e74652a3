from django.db import models
from django.utils.translation import gettext_lazy as _


class ApplicationState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted, awaiting institution")
    ENDORSED = "endorsed", _("Endorsed by institution")
    ACCEPTED = "accepted", _("Accepted after formal check")
    INELIGIBLE = "ineligible", _("Ineligible")
    UNDER_REVIEW = "under_review", _("Under review")
    REVIEWED = "reviewed", _("Reviewed")
    IN_NOTICE = "in_notice", _("In public notice")
    AWARDED = "awarded", _("Awarded")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


S = ApplicationState
#: States the applicant may still withdraw from.
WITHDRAWABLE_STATES = [S.DRAFT, S.SUBMITTED, S.ENDORSED, S.ACCEPTED, S.UNDER_REVIEW, S.REVIEWED]
#: Submitted and not yet decided: counts against the limit on concurrent work.
PENDING_STATES = [S.SUBMITTED, S.ENDORSED, S.ACCEPTED, S.UNDER_REVIEW, S.REVIEWED, S.IN_NOTICE]
#: Awarded and still running (until the Project machine of the finance issue takes over).
RUNNING_STATES = [S.AWARDED]
CLOSED_STATES = [S.INELIGIBLE, S.REJECTED, S.WITHDRAWN]


class BudgetCategory(models.TextChoices):
    EQUIPMENT = "equipment", _("Equipment")
    BUSINESS = "business", _("Business costs")
    LABOR = "labor", _("Labour")
    INDIRECT = "indirect", _("Indirect costs")
    LUMP_SUM = "lump_sum", _("Lump sum")


DIRECT_CATEGORIES = [BudgetCategory.EQUIPMENT, BudgetCategory.BUSINESS, BudgetCategory.LABOR]
LINE_ITEM_CATEGORIES = [*DIRECT_CATEGORIES, BudgetCategory.INDIRECT]


class TeamRole(models.TextChoices):
    CO_PI = "co_pi", _("Co-investigator")
    MEMBER = "member", _("Team member")
    STUDENT = "student", _("Student")
