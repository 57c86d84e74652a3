"""The expert pool: who may be asked to review, their profiles, ties and standing.

Services behind the officers' pool pages (``review/views_pool.py``):

* reading: the pool (users with the reviewer role), filters that need more than a column
  (credit band, barred from reviewing, expertise keyword in Chinese or English), an
  expert's credit with the numbers it is made of, their integrity status;
* writing: a new expert account or an existing account entering the pool — refused while an
  integrity record bars the person from reviewing (domain.md: entry requires no integrity
  record) —, the expert profile and affiliation history, collaborations entered one by one
  or imported from CSV (dry run first, only valid rows written, re-imports idempotent).

Every write goes through ``full_clean`` and raises ``ValidationError`` with the fields it
concerns, so pages show errors inline.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services as account_services
from accounts.models import ExpertProfile, User
from accounts.roles import Role
from accounts.validators import normalize_orcid, validate_orcid
from integrity.models import Action
from integrity.services import barred_users, check_eligibility

from .credit import credit_for, credit_value
from .models import Affiliation, Collaboration, IntegrityPledge, Review, ReviewAssignment

# --- who may use the pool ---------------------------------------------------------------------


def may_read(user):
    """Program officers edit the pool, auditors read it; nobody else sees it (404)."""
    return user.is_authenticated and (
        user.is_superuser or user.has_role(Role.PROGRAM_OFFICER, Role.AUDITOR)
    )


def may_edit(user):
    return user.is_authenticated and (user.is_superuser or user.has_role(Role.PROGRAM_OFFICER))


def pool():
    """Everyone in the expert pool: users with the reviewer role (inactive ones included)."""
    return User.objects.filter(groups__name=Role.REVIEWER)


def in_pool(user):
    return pool().filter(pk=user.pk).exists()


# --- credit bands -----------------------------------------------------------------------------

#: Credit bands the list filters by: (code, label, lowest credit, below this credit).
CREDIT_BANDS = [
    ("high", gettext_lazy("High (0.8 or more)"), 0.8, None),
    ("medium", gettext_lazy("Medium (0.5 to below 0.8)"), 0.5, 0.8),
    ("low", gettext_lazy("Low (below 0.5)"), None, 0.5),
]
FULL_BAND_FROM = 0.8


def credit_band(value):
    for code, _label, low, high in CREDIT_BANDS:
        if (low is None or value >= low) and (high is None or value < high):
            return code
    return None


def _reduced_credit(queryset):
    """``{user id: credit}`` for those of ``queryset`` whose credit is below full (only
    reviewers with submitted reviews can be): two queries."""
    reviewed = queryset.filter(review_assignments__review__submitted_at__isnull=False).distinct()
    return {pk: c for pk, c in credit_for(reviewed).items() if c < 1.0}


def filter_credit_band(queryset, band):
    """Narrow ``queryset`` to experts whose credit lies in ``band``."""
    bands = {code: (low, high) for code, _label, low, high in CREDIT_BANDS}
    if band not in bands:
        return queryset
    low, high = bands[band]
    reduced = _reduced_credit(queryset)
    if high is None:
        # Everyone without a reduced credit is at 1.0: exclude the (few) below the band.
        return queryset.exclude(pk__in=[pk for pk, c in reduced.items() if c < low])
    return queryset.filter(
        pk__in=[pk for pk, c in reduced.items() if (low is None or c >= low) and c < high]
    )


def filter_barred(queryset, barred):
    """Experts barred from reviewing today (``barred`` True) or not barred (False)."""
    ids = list(barred_users(Action.REVIEW, queryset))
    return queryset.filter(pk__in=ids) if barred else queryset.exclude(pk__in=ids)


def _json_text_variants(value):
    """``value`` as it may appear inside a stored JSON list: as typed (PostgreSQL's jsonb
    text) and with non-ASCII characters escaped (``json.dumps`` on SQLite)."""
    escaped = json.dumps(value)[1:-1]
    return {value, escaped}


def filter_keyword(queryset, text):
    """Experts with ``text`` in a Chinese or English expertise keyword (case-insensitive)."""
    text = (text or "").strip()
    if not text:
        return queryset
    q = Q()
    for variant in _json_text_variants(text):
        q |= Q(expert_profile__expertise__icontains=variant)
        q |= Q(expert_profile__expertise_en__icontains=variant)
    return queryset.filter(q)


def filter_language(queryset, code):
    if not code:
        return queryset
    return queryset.filter(expert_profile__languages__icontains=json.dumps(code))


def search(queryset, text):
    """By name, username, e-mail or ORCID iD (in any spelling of the iD)."""
    text = (text or "").strip()
    if not text:
        return queryset
    q = (
        Q(full_name__icontains=text)
        | Q(username__icontains=text)
        | Q(first_name__icontains=text)
        | Q(last_name__icontains=text)
        | Q(email__iexact=text)
        | Q(orcid__icontains=text)
    )
    orcid = normalize_orcid(text)
    if orcid:
        q |= Q(orcid=orcid)
    return queryset.filter(q)


# --- one expert's standing ----------------------------------------------------------------------


@dataclass
class Credit:
    value: float
    band: str
    submitted: int = 0
    late: int = 0
    flagged: int = 0
    rating_count: int = 0
    rating_sum: int = 0

    @property
    def mean_rating(self):
        return self.rating_sum / self.rating_count if self.rating_count else None


def credit_of(expert):
    """The expert's credit and the numbers of the rule (review/credit.py) it comes from."""
    row = Review.objects.filter(
        assignment__reviewer_id=expert.pk, submitted_at__isnull=False
    ).aggregate(
        submitted=Count("id"),
        late=Count(
            "id",
            filter=Q(
                assignment__application__call__review_deadline__isnull=False,
                submitted_at__date__gt=F("assignment__application__call__review_deadline"),
            ),
        ),
        flagged=Count("id", filter=~Q(flagged_by_officer="")),
        rating_sum=Sum("rating__rating"),
        rating_count=Count("rating"),
    )
    inputs = {k: row[k] or 0 for k in row}
    value = credit_value(**inputs)
    return Credit(value=value, band=credit_band(value), **inputs)


def integrity_status(expert):
    """``integrity.services.check_eligibility`` for reviewing: allowed, reasons, records."""
    return check_eligibility(Action.REVIEW, users=[expert])


def expert_assignments(expert):
    return (
        ReviewAssignment.objects.filter(reviewer=expert)
        .select_related("application__call__program", "review")
        .order_by("-invited_at", "-id")
    )


def expert_pledges(expert):
    return (
        IntegrityPledge.objects.filter(reviewer=expert)
        .select_related("call__program")
        .order_by("-signed_at")
    )


def expert_collaborations(expert):
    """Collaborations the expert is in, either side, with the other person."""
    return (
        Collaboration.objects.filter(Q(person=expert) | Q(partner=expert))
        .select_related("person", "partner")
        .order_by("-on", "-id")
    )


# --- finding people -----------------------------------------------------------------------------


def find_people(identifiers):
    """``{identifier: [user, ...]}`` for usernames, e-mails or ORCID iDs, in three queries.

    An ORCID-shaped identifier is looked up as an ORCID iD, one with ``@`` as a username and
    else as an e-mail (case-insensitive), anything else as a username.
    """
    identifiers = {i.strip() for i in identifiers if i and i.strip()}
    orcids = {i: normalize_orcid(i) for i in identifiers if _looks_like_orcid(i)}
    others = identifiers - set(orcids)
    emails = {i.lower() for i in others if "@" in i}
    found = {i: [] for i in identifiers}
    if orcids:
        by_orcid = {}
        for user in User.objects.filter(orcid__in=set(orcids.values())).order_by("pk"):
            by_orcid.setdefault(user.orcid, []).append(user)
        for i, value in orcids.items():
            found[i] = by_orcid.get(value, [])
    if others:
        by_username = {u.username: u for u in User.objects.filter(username__in=others)}
        by_email = {}
        if emails:
            for user in (
                User.objects.annotate(email_lower=Lower("email"))
                .filter(email_lower__in=emails)
                .order_by("pk")
            ):
                by_email.setdefault(user.email_lower, []).append(user)
        for i in others:
            if i in by_username:
                found[i] = [by_username[i]]
            elif "@" in i:
                found[i] = by_email.get(i.lower(), [])
    return found


def _looks_like_orcid(text):
    value = normalize_orcid(text)
    return bool(value and re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]", value))


def find_person(identifier):
    """The one account ``identifier`` names, or a ``ValidationError`` saying why not."""
    identifier = (identifier or "").strip()
    matches = find_people([identifier]).get(identifier, [])
    if not matches:
        raise ValidationError(
            _("No account has the username, e-mail or ORCID iD “%(text)s”.") % {"text": identifier},
            code="not_found",
        )
    if len(matches) > 1:
        raise ValidationError(
            _("“%(text)s” names %(n)s accounts: use the username.")
            % {"text": identifier, "n": len(matches)},
            code="ambiguous",
        )
    return matches[0]


# --- entering the pool ------------------------------------------------------------------------


def _refuse_barred(user):
    eligibility = integrity_status(user)
    if not eligibility:
        messages = [_("%(name)s cannot enter the expert pool:") % {"name": user.display_name}]
        raise ValidationError(
            [ValidationError(m, code="barred") for m in messages + list(eligibility.reasons)]
        )


def _refuse_known_identity(*, orcid, email):
    """A new account may not repeat the ORCID iD or e-mail of an existing one: the existing
    account is added instead (and a barred person cannot come back under a new name)."""
    errors = {}
    checks = [("orcid", Q(orcid=orcid) if orcid else None)]
    checks.append(("email", Q(email__iexact=email) if email else None))
    for name, q in checks:
        if q is None:
            continue
        existing = User.objects.filter(q).order_by("pk").first()
        if existing is None:
            continue
        eligibility = integrity_status(existing)
        if not eligibility:
            errors[name] = [
                _(
                    "This belongs to the account %(username)s, who is barred from reviewing; "
                    "the person cannot enter the expert pool."
                )
                % {"username": existing.username}
            ] + list(eligibility.reasons)
        else:
            errors[name] = [
                _(
                    "This belongs to the existing account %(username)s: add that account to the "
                    "pool instead."
                )
                % {"username": existing.username}
            ]
    if errors:
        raise ValidationError(errors)


def _profile_values(profile, *, expertise, expertise_en, languages, expert_type):
    profile.expertise = list(expertise)
    profile.expertise_en = list(expertise_en)
    profile.languages = list(languages)
    profile.expert_type = expert_type
    return profile


@transaction.atomic
def expert_create(
    *,
    created_by,
    username,
    password=None,
    full_name="",
    email="",
    country="CN",
    language=User.Language.ZH,
    institution=None,
    orcid="",
    expertise=(),
    expertise_en=(),
    languages=(),
    expert_type=ExpertProfile.ExpertType.SCIENTIFIC,
):
    """A new reviewer account with its expert profile (accounts.services.user_create)."""
    if not may_edit(created_by):
        raise PermissionDenied(_("Only program officers add experts to the pool."))
    orcid = (normalize_orcid(orcid) or orcid.strip()) if orcid else ""
    _refuse_known_identity(orcid=orcid, email=(email or "").strip())
    user = account_services.user_create(
        username=username,
        password=password or None,
        roles=[Role.REVIEWER],
        created_by=created_by,
        expertise=list(expertise),
        full_name=full_name,
        email=email,
        country=country,
        language=language,
        institution=institution,
        orcid=orcid,
    )
    profile = _profile_values(
        ExpertProfile.objects.get(user=user),
        expertise=expertise,
        expertise_en=expertise_en,
        languages=languages,
        expert_type=expert_type,
    )
    profile.full_clean()
    profile.save()
    return user


@transaction.atomic
def expert_add(*, user, added_by):
    """An existing account enters the pool: the reviewer role and an expert profile."""
    if not may_edit(added_by) or not account_services.can_give_roles(added_by, [Role.REVIEWER]):
        raise PermissionDenied(_("Only program officers add experts to the pool."))
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise ValidationError(_("This account is inactive."), code="inactive")
    if user.has_role(Role.REVIEWER):
        raise ValidationError(
            _("%(name)s is already in the expert pool.") % {"name": user.display_name},
            code="already",
        )
    _refuse_barred(user)
    account_services.set_roles(user=user, roles=[*user.role_names, Role.REVIEWER])
    ExpertProfile.objects.get_or_create(user=user)
    return user


# --- profile and affiliations -----------------------------------------------------------------

USER_FIELDS = ("full_name", "email", "country", "language", "institution", "orcid")
PROFILE_FIELDS = ("expertise", "expertise_en", "languages", "expert_type")


def _affiliation_errors(index, exc):
    """The row's errors as ValidationErrors carrying ``row`` and ``field`` in params."""
    out = []
    for name, errors in exc.message_dict.items():
        for message in errors:
            out.append(ValidationError(message, params={"row": index, "field": name}, code="row"))
    return out


def _clean_affiliation(index, row, expert):
    affiliation = Affiliation(user=expert) if not row.get("id") else row["instance"]
    affiliation.institution = row.get("institution")
    affiliation.institution_name = (row.get("institution_name") or "").strip()
    affiliation.started_on = row.get("started_on")
    affiliation.ended_on = row.get("ended_on")
    errors = {}
    if affiliation.institution is None and not affiliation.institution_name:
        errors["institution"] = [_("Choose a registered institution or type its name.")]
    elif affiliation.institution is not None and affiliation.institution_name:
        errors["institution_name"] = [
            _("Choose a registered institution or type a name, not both.")
        ]
    if affiliation.started_on and affiliation.ended_on:
        if affiliation.ended_on < affiliation.started_on:
            errors["ended_on"] = [_("The affiliation cannot end before it starts.")]
    today = timezone.localdate()
    if affiliation.started_on and affiliation.started_on > today:
        errors.setdefault("started_on", []).append(_("The date lies in the future."))
    try:
        affiliation.full_clean(exclude=["user"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        return affiliation, _affiliation_errors(index, ValidationError(errors))
    return affiliation, []


@transaction.atomic
def expert_update(*, expert, by, affiliations=None, **fields):
    """Change an expert's profile and (when given) replace their affiliation history.

    ``affiliations`` is a list of dicts ``{id, institution, institution_name, started_on,
    ended_on, delete}`` (``id`` of an existing row, or None for a new one). All or nothing:
    on error nothing is saved and the ValidationError names the fields; affiliation errors
    sit under ``affiliations`` with ``params`` ``{"row": index, "field": name}``.
    """
    if not may_edit(by):
        raise PermissionDenied(_("Only program officers edit the expert pool."))
    unknown = set(fields) - set(USER_FIELDS) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not expert fields: {sorted(unknown)}")
    expert = User.objects.select_for_update().get(pk=expert.pk)
    if not in_pool(expert):
        raise ValidationError(_("This account is not in the expert pool."), code="not_in_pool")
    errors = {}
    if fields.get("orcid"):
        fields["orcid"] = normalize_orcid(fields["orcid"]) or fields["orcid"]
    for name in USER_FIELDS:
        if name in fields:
            setattr(expert, name, fields[name])
    try:
        expert.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    profile, _created = ExpertProfile.objects.get_or_create(user=expert)
    for name in PROFILE_FIELDS:
        if name in fields:
            setattr(profile, name, list(fields[name]) if name != "expert_type" else fields[name])
    try:
        profile.full_clean(exclude=["user"])
    except ValidationError as exc:
        errors.update(exc.message_dict)

    keep, remove, row_errors = [], [], []
    if affiliations is not None:
        existing = {a.pk: a for a in Affiliation.objects.filter(user=expert)}
        for index, row in enumerate(affiliations):
            row = dict(row)
            if row.get("id"):
                instance = existing.get(int(row["id"]))
                if instance is None:
                    row_errors.append(
                        ValidationError(
                            _("This affiliation no longer exists."),
                            params={"row": index, "field": None},
                        )
                    )
                    continue
                row["instance"] = instance
                if row.get("delete"):
                    remove.append(instance)
                    continue
            elif row.get("delete"):
                continue
            affiliation, problems = _clean_affiliation(index, row, expert)
            row_errors.extend(problems)
            keep.append(affiliation)
    if row_errors:
        errors["affiliations"] = row_errors
    if errors:
        raise ValidationError(errors)
    update = [n for n in USER_FIELDS if n in fields]
    if update:
        expert.save(update_fields=update)
    profile.save()
    if affiliations is not None:
        Affiliation.objects.filter(pk__in=[a.pk for a in remove]).delete()
        for affiliation in keep:
            affiliation.save()
    return expert


# --- collaborations -----------------------------------------------------------------------------


def _collaboration_key(person_id, partner_id, kind, on, title):
    low, high = sorted((person_id, partner_id))
    return (low, high, kind, on, (title or "").strip().casefold())


def _existing_keys(person_ids):
    rows = Collaboration.objects.filter(
        Q(person_id__in=person_ids) | Q(partner_id__in=person_ids)
    ).values_list("person_id", "partner_id", "kind", "on", "title")
    return {_collaboration_key(*row) for row in rows}


@transaction.atomic
def collaboration_add(*, by, person, partner, kind, on, title="", source=""):
    """Record a joint project, paper, award or patent; the same tie twice is refused."""
    if not may_edit(by):
        raise PermissionDenied(_("Only program officers edit the expert pool."))
    collaboration = Collaboration(
        person=person,
        partner=partner,
        kind=kind,
        on=on,
        title=(title or "").strip(),
        source=(source or "").strip(),
    )
    errors = {}
    if person is not None and partner is not None and person.pk == partner.pk:
        errors["partner"] = [_("A person does not collaborate with themselves.")]
    if on and on > timezone.localdate():
        errors["on"] = [_("The date lies in the future.")]
    try:
        collaboration.full_clean()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    # Lock both people so two requests cannot record the same tie at once.
    list(User.objects.select_for_update().filter(pk__in=[person.pk, partner.pk]).order_by("pk"))
    key = _collaboration_key(person.pk, partner.pk, kind, on, collaboration.title)
    if key in _existing_keys([person.pk]):
        raise ValidationError(_("This collaboration is already recorded."), code="duplicate")
    collaboration.save()
    return collaboration


@transaction.atomic
def collaboration_delete(*, by, collaboration):
    if not may_edit(by):
        raise PermissionDenied(_("Only program officers edit the expert pool."))
    collaboration.delete()


IMPORT_COLUMNS = ("person", "partner", "kind", "date", "title", "source")
REQUIRED_COLUMNS = ("person", "partner", "kind", "date")
MAX_IMPORT_ROWS = 5000
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class ImportRow:
    line: int
    values: dict
    person: User | None = None
    partner: User | None = None
    kind: str = ""
    on: date | None = None
    title: str = ""
    source: str = ""
    errors: list = field(default_factory=list)
    duplicate: bool = False

    @property
    def status(self):
        if self.errors:
            return "error"
        return "duplicate" if self.duplicate else "new"

    @property
    def is_new(self):
        return self.status == "new"


@dataclass
class ImportReport:
    rows: list
    written: int = 0
    committed: bool = False

    @property
    def new(self):
        return sum(1 for r in self.rows if r.status == "new")

    @property
    def duplicates(self):
        return sum(1 for r in self.rows if r.status == "duplicate")

    @property
    def errors(self):
        return sum(1 for r in self.rows if r.status == "error")


def _read_csv(text):
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        raise ValidationError(
            _("The file lacks the columns %(columns)s (needed: %(needed)s).")
            % {"columns": ", ".join(missing), "needed": ", ".join(IMPORT_COLUMNS)},
            code="columns",
        )
    reader.fieldnames = headers
    rows = []
    for values in reader:
        if len(rows) >= MAX_IMPORT_ROWS:
            raise ValidationError(
                _("The file has more than %(n)s rows: split it.") % {"n": MAX_IMPORT_ROWS},
                code="too_many",
            )
        values = {k: (v or "").strip() for k, v in values.items() if k in IMPORT_COLUMNS}
        if not any(values.values()):
            continue
        rows.append(ImportRow(line=reader.line_num, values=values))
    if not rows:
        raise ValidationError(_("The file has no rows."), code="empty")
    return rows


def _check_rows(rows):
    people = find_people(
        [r.values.get("person", "") for r in rows] + [r.values.get("partner", "") for r in rows]
    )
    kinds = set(Collaboration.Kind.values)
    today = timezone.localdate()
    title_max = Collaboration._meta.get_field("title").max_length
    source_max = Collaboration._meta.get_field("source").max_length
    for row in rows:
        for column in ("person", "partner"):
            text = row.values.get(column, "")
            if not text:
                row.errors.append(_("%(column)s: empty.") % {"column": column})
                continue
            matches = people.get(text, [])
            if not matches:
                row.errors.append(
                    _("%(column)s: no account has the username, e-mail or ORCID iD “%(text)s”.")
                    % {"column": column, "text": text}
                )
            elif len(matches) > 1:
                row.errors.append(
                    _("%(column)s: “%(text)s” names %(n)s accounts; use the username.")
                    % {"column": column, "text": text, "n": len(matches)}
                )
            else:
                setattr(row, column, matches[0])
        if row.person and row.partner and row.person.pk == row.partner.pk:
            row.errors.append(_("person and partner are the same account."))
        row.kind = row.values.get("kind", "").lower()
        if row.kind not in kinds:
            row.errors.append(
                _("kind: “%(value)s” is not one of %(kinds)s.")
                % {"value": row.values.get("kind", ""), "kinds": "|".join(sorted(kinds))}
            )
        text = row.values.get("date", "")
        try:
            if not DATE_RE.fullmatch(text):
                raise ValueError
            row.on = date.fromisoformat(text)
        except ValueError:
            row.errors.append(_("date: “%(value)s” is not a date YYYY-MM-DD.") % {"value": text})
        else:
            if row.on > today:
                row.errors.append(_("date: %(value)s lies in the future.") % {"value": text})
        row.title = row.values.get("title", "")
        row.source = row.values.get("source", "")
        if len(row.title) > title_max:
            row.errors.append(_("title: longer than %(n)s characters.") % {"n": title_max})
        if len(row.source) > source_max:
            row.errors.append(_("source: longer than %(n)s characters.") % {"n": source_max})

    ids = {r.person.pk for r in rows if r.person} | {r.partner.pk for r in rows if r.partner}
    known = _existing_keys(ids) if ids else set()
    seen = {}
    for row in rows:
        if row.errors:
            continue
        key = _collaboration_key(row.person.pk, row.partner.pk, row.kind, row.on, row.title)
        if key in known:
            row.duplicate = True
        elif key in seen:
            row.duplicate = True
        else:
            seen[key] = row.line
    return rows


def collaborations_import(*, by, text, commit=False):
    """Check (and with ``commit`` write) the collaborations of a CSV text.

    Columns: person, partner (username, e-mail or ORCID iD), kind (project|paper|award|
    patent), date (YYYY-MM-DD), title, source. Each row gets its errors; rows already
    recorded (same two people either way round, kind, date and title) or repeated in the
    file are duplicates. With ``commit`` only the valid new rows are written, in one
    transaction, so importing the same file again writes nothing. A file-level problem
    (missing columns, no rows, too many) raises ``ValidationError``.
    """
    if not may_edit(by):
        raise PermissionDenied(_("Only program officers edit the expert pool."))
    rows = _read_csv(text)
    if not commit:
        return ImportReport(rows=_check_rows(rows))
    with transaction.atomic():
        # Re-check under lock: two imports at once must not both write a row.
        ids = {
            u.pk
            for users in find_people(
                [r.values.get("person", "") for r in rows]
                + [r.values.get("partner", "") for r in rows]
            ).values()
            for u in users
        }
        list(User.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        rows = _check_rows(rows)
        new = [
            Collaboration(
                person=r.person,
                partner=r.partner,
                kind=r.kind,
                on=r.on,
                title=r.title,
                source=r.source,
            )
            for r in rows
            if r.is_new
        ]
        Collaboration.objects.bulk_create(new)
    return ImportReport(rows=rows, written=len(new), committed=True)


# --- tag text -----------------------------------------------------------------------------------

TAG_SPLIT = re.compile(r"[,;，；、\n]+")


def split_tags(text):
    """Keywords from tag text: separated by commas, semicolons (Chinese ones too) or lines;
    blanks and repeats dropped, order kept."""
    out = []
    for part in TAG_SPLIT.split(text or ""):
        part = " ".join(part.split())
        if part and part.casefold() not in {t.casefold() for t in out}:
            out.append(part)
    return out


def join_tags(tags):
    return ", ".join(tags or [])


def validate_orcid_text(value):
    """The ORCID iD in its canonical spelling, or ValidationError."""
    value = (value or "").strip()
    if not value:
        return ""
    validate_orcid(value)
    return normalize_orcid(value)
