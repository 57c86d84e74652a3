from functools import cached_property, lru_cache

from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from .roles import STAFF_ROLES, Role
from .validators import validate_credit_code, validate_orcid


class Institution(models.Model):
    """A host institution (依托单位): a registered legal entity."""

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        # One spelling per code, so the unique constraint catches "91310000…x" twice.
        self.credit_code = (self.credit_code or "").strip().upper()
        super().clean_fields(exclude=exclude)


class Agency(models.Model):
    """A third-party professional agency (专业机构) that runs delegated programs.

    It lives in ``accounts`` beside Institution because agency staff users belong to one;
    the delegation itself (which programs) is ``programs.Program.agency``.
    """

    name = models.CharField(_("name"), max_length=200, unique=True)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        validators=[validate_credit_code],
    )
    group = models.OneToOneField(
        Group, on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")

    def __str__(self):
        return self.name


class User(AbstractUser):
    class Language(models.TextChoices):
        ZH = "zh-hans", "简体中文"
        EN = "en", "English"

    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    country = CountryField(_("country"), default="CN")
    orcid = models.CharField(_("ORCID iD"), max_length=19, blank=True, validators=[validate_orcid])
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ZH
    )
    # PRC resident ID number: never stored; a keyed hash to match integrity records across
    # departments and a masked form to show (``set_id_number``).
    id_number_hash = models.CharField(
        _("resident ID number (keyed hash)"),
        max_length=64,
        blank=True,
        db_index=True,
        editable=False,
    )
    id_number_masked = models.CharField(
        _("resident ID number"), max_length=18, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        return self.full_name or self.get_full_name() or self.username

    @cached_property
    def role_names(self):
        """The user's roles (group names), from prefetched groups when available."""
        if not self.pk:
            return frozenset()
        valid = set(Role.values)
        return frozenset(g.name for g in self.groups.all() if g.name in valid)

    def has_role(self, *roles):
        return bool(self.role_names.intersection(roles))

    @property
    def is_staff_role(self):
        return bool(self.role_names & STAFF_ROLES)


class ExpertProfile(models.Model):
    """What the expert pool knows of a reviewer; grows with the review module."""

    class ExpertType(models.TextChoices):
        SCIENTIFIC = "scientific", _("Scientific")
        STRATEGIC = "strategic", _("Strategic")
        FINANCIAL = "financial", _("Financial / audit")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="expert_profile")
    expertise = models.JSONField(_("expertise keywords"), default=list, blank=True)
    expertise_en = models.JSONField(_("expertise keywords in English"), default=list, blank=True)
    languages = models.JSONField(
        _("review languages"), default=list, blank=True, help_text=_("Language codes, e.g. zh, en.")
    )
    expert_type = models.CharField(
        _("expert type"),
        max_length=16,
        choices=ExpertType.choices,
        default=ExpertType.SCIENTIFIC,
    )

    class Meta:
        verbose_name = _("expert profile")
        verbose_name_plural = _("expert profiles")

    def __str__(self):
        return f"{self.user}"


# --- resident ID numbers: stored only as a keyed hash plus a masked form ----------------------


def normalize_id_number(value):
    """The 18-character PRC resident ID number in one spelling (upper-case X), or None when
    it is not a valid one (GB 11643 / ISO 7064 MOD 11-2 check character, birth date)."""
    from datetime import date

    from stdnum.cn import ric

    value = (value or "").strip().upper().replace(" ", "")
    if len(value) != 18 or not value[:17].isdigit() or value[17] != ric.calc_check_digit(value):
        return None
    try:  # ric.get_birth_date without its per-call clean-up of the text
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    # ric.is_valid's last check, the birth place (a county that existed in the birth year):
    # a look-up in python-stdnum's database, the same for every number of one county and year.
    if not _birth_place_valid(value[:10]):
        return None
    return value


@lru_cache(maxsize=4096)
def _birth_place_valid(county_and_year):
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError as StdnumError

    try:
        ric.get_birth_place(f"{county_and_year}0101000X")
    except (StdnumError, KeyError):  # KeyError: a place without counties (python-stdnum 2.2)
        return False
    return True


def _id_hash_key():
    import hashlib

    from django.conf import settings

    key = getattr(settings, "GRANTFLOW_ID_HASH_KEY", "")
    if not key:
        key = hashlib.sha256(f"grantflow-id-hash:{settings.SECRET_KEY}".encode()).hexdigest()
    return key.encode()


def hash_id_number(value):
    """HMAC-SHA256 of the normalized number with the site's key (``GRANTFLOW_ID_HASH_KEY``):
    equal numbers give equal hashes here, and nobody without the key can test guesses."""
    import hashlib
    import hmac

    return hmac.new(_id_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def mask_id_number(value):
    """``310101199001011234`` → ``3101**********1234``."""
    return f"{value[:4]}{'*' * 10}{value[-4:]}"


def _user_set_id_number(self, value):
    """Keep the hash and the masked form of ``value`` (empty clears); raises ValidationError."""
    from django.core.exceptions import ValidationError

    if not (value or "").strip():
        self.id_number_hash = self.id_number_masked = ""
        return
    normalized = normalize_id_number(value)
    if normalized is None:
        raise ValidationError(
            {"id_number": [_("Enter a valid 18-character resident ID number.")]},
            code="invalid",
        )
    self.id_number_hash = hash_id_number(normalized)
    self.id_number_masked = mask_id_number(normalized)


User.set_id_number = _user_set_id_number
