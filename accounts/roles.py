from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    INSTITUTION_ADMIN = "institution_admin", _("Institution administrator")
    REVIEWER = "reviewer", _("Reviewer")
    PROGRAM_OFFICER = "program_officer", _("Program officer")
    AGENCY_STAFF = "agency_staff", _("Agency staff")
    INTEGRITY_OFFICER = "integrity_officer", _("Integrity officer")
    AUDITOR = "auditor", _("Auditor")


#: Roles that work for the funder (or for an agency on its behalf).
STAFF_ROLES = frozenset(
    {Role.PROGRAM_OFFICER, Role.AGENCY_STAFF, Role.INTEGRITY_OFFICER, Role.AUDITOR}
)
#: Roles an officer may give; the others are given by administrators only.
OFFICER_GRANTABLE_ROLES = frozenset({Role.APPLICANT, Role.INSTITUTION_ADMIN, Role.REVIEWER})
