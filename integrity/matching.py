"""Who a credit record is about: match the identity as given to our users and organisations.

People are matched by resident ID number (its keyed hash), else ORCID iD, else name +
institution (the name as written or title-cased, the institution by name or English name —
spacing and case aside — or credit code); several candidates at
any step make the record *ambiguous*, none at every step *unmatched*. Institutions and
agencies are matched by unified social credit code.

A record that matches nobody is kept and catches its subject later: ``link_user``,
``link_institution`` and ``link_agency`` run when an account or organisation is created or
gets an identifier (``accounts.services`` sends ``subject_identity_changed``), and the
periodic ``relink`` tries every unlinked record again.

``Matcher`` works in bulk: a few queries for a whole chunk of identities (imports of 100,000
rows match with it).
"""

import unicodedata
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q

from accounts.models import Agency, Institution, User

from .models import PERSON_KINDS, CreditRecord, MatchStatus, SubjectKind

#: Values per ``IN (...)`` (well under SQLite's limit on query parameters).
IN_CHUNK = 500


def norm(text):
    """Names compared as people write them: NFKC, spaces collapsed, case folded."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


@dataclass(frozen=True)
class Identity:
    """A subject as another department describes it (hash, never the ID number itself)."""

    kind: str = SubjectKind.RESEARCHER
    name: str = ""
    id_hash: str = ""
    orcid: str = ""
    credit_code: str = ""
    institution_name: str = ""

    @property
    def is_person(self):
        return self.kind in PERSON_KINDS

    @classmethod
    def of(cls, record):
        return cls(
            kind=record.subject_kind or SubjectKind.RESEARCHER,
            name=record.subject_name,
            id_hash=record.subject_id_hash,
            orcid=record.subject_orcid,
            credit_code=record.subject_credit_code,
            institution_name=record.subject_institution_name,
        )


@dataclass
class Match:
    status: str
    user_id: int | None = None
    institution_id: int | None = None
    agency_id: int | None = None
    #: How it matched: id_number, orcid, name_institution, credit_code.
    via: str = ""
    #: User (or organisation) ids when ambiguous.
    candidates: list = field(default_factory=list)

    @property
    def fields(self):
        """What to write on the record."""
        return {
            "subject_user_id": self.user_id,
            "subject_institution_id": self.institution_id,
            "subject_agency_id": self.agency_id,
            "match_status": self.status,
        }


UNMATCHED = Match(MatchStatus.UNMATCHED)


def _chunks(values):
    from django.db import connection

    values = list(values)
    # PostgreSQL takes long IN lists well (one scan instead of many); SQLite caps parameters.
    size = IN_CHUNK * 10 if connection.vendor == "postgresql" else IN_CHUNK
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _unique(ids):
    return sorted(set(ids))


class Matcher:
    """Matches many identities with a few queries: load the candidates once, answer each."""

    def __init__(self, identities):
        identities = list(identities)
        people = [i for i in identities if i.is_person]
        hashes = {i.id_hash for i in people if i.id_hash}
        orcids = {i.orcid for i in people if i.orcid}
        # Names as written (Chinese names have no case; Latin ones as given or title-cased):
        # an exact IN lookup keeps this one indexed query per chunk.
        names = set()
        for i in people:
            name = " ".join(i.name.split())
            if name:
                names.update({name, name.title()})
        codes = {i.credit_code for i in identities if i.credit_code}

        self.by_hash, self.by_orcid, self.by_name = {}, {}, {}
        for chunk in _chunks(hashes):
            for pk, value in User.objects.filter(id_number_hash__in=chunk).values_list(
                "pk", "id_number_hash"
            ):
                self.by_hash.setdefault(value, []).append(pk)
        for chunk in _chunks(orcids):
            for pk, value in User.objects.filter(orcid__in=chunk).values_list("pk", "orcid"):
                self.by_orcid.setdefault(value, []).append(pk)
        for chunk in _chunks(names):
            for pk, name, inst, inst_en, code in User.objects.filter(
                full_name__in=chunk, institution__isnull=False
            ).values_list(
                "pk",
                "full_name",
                "institution__name",
                "institution__name_en",
                "institution__credit_code",
            ):
                self.by_name.setdefault(norm(name), []).append(
                    (pk, {norm(inst), norm(inst_en)} - {""}, code)
                )

        self.institutions, self.agencies = {}, {}
        for chunk in _chunks(codes):
            for pk, code in Institution.objects.filter(credit_code__in=chunk).values_list(
                "pk", "credit_code"
            ):
                self.institutions.setdefault(code, []).append(pk)
            for pk, code in Agency.objects.filter(credit_code__in=chunk).values_list(
                "pk", "credit_code"
            ):
                self.agencies.setdefault(code, []).append(pk)

    def match(self, identity):
        if identity.is_person:
            return self._person(identity)
        return self._organisation(identity)

    def _person(self, identity):
        steps = (
            ("id_number", self.by_hash.get(identity.id_hash, []) if identity.id_hash else []),
            ("orcid", self.by_orcid.get(identity.orcid, []) if identity.orcid else []),
            ("name_institution", self._by_name_and_institution(identity)),
        )
        for via, ids in steps:
            ids = _unique(ids)
            if len(ids) == 1:
                return Match(MatchStatus.MATCHED, user_id=ids[0], via=via)
            if len(ids) > 1:
                return Match(MatchStatus.AMBIGUOUS, via=via, candidates=ids)
        return UNMATCHED

    def _by_name_and_institution(self, identity):
        if not identity.name.strip() or not (identity.institution_name or identity.credit_code):
            return []
        wanted = norm(identity.institution_name)
        return [
            pk
            for pk, institution_names, code in self.by_name.get(norm(identity.name), [])
            if (wanted and wanted in institution_names)
            or (identity.credit_code and identity.credit_code == code)
        ]

    def _organisation(self, identity):
        if not identity.credit_code:
            return UNMATCHED
        institutions = _unique(self.institutions.get(identity.credit_code, []))
        agencies = _unique(self.agencies.get(identity.credit_code, []))
        if len(institutions) > 1 or len(agencies) > 1:
            return Match(
                MatchStatus.AMBIGUOUS, via="credit_code", candidates=institutions + agencies
            )
        if not institutions and not agencies:
            return UNMATCHED
        return Match(
            MatchStatus.MATCHED,
            institution_id=institutions[0] if institutions else None,
            agency_id=agencies[0] if agencies else None,
            via="credit_code",
        )


def match_one(identity):
    return Matcher([identity]).match(identity)


# --- late catching ----------------------------------------------------------------------------


def unlinked():
    """Records that wait for their subject (ambiguous ones too: a new identifier may settle
    them)."""
    return CreditRecord.objects.exclude(match_status=MatchStatus.MATCHED).filter(
        subject_user__isnull=True, subject_institution__isnull=True, subject_agency__isnull=True
    )


def _audit(name, obj, data):
    try:
        from audit.chain import record
    except ImportError:  # the audit chain is optional for this module
        return None
    return record(name, obj, data=data)


@transaction.atomic
def link_records(records):
    """Match ``records`` again and link those that now match; answers the number linked."""
    records = list(records)
    if not records:
        return 0
    matcher = Matcher(Identity.of(r) for r in records)
    linked = 0
    for record in records:
        found = matcher.match(Identity.of(record))
        if found.status == record.match_status and found.status != MatchStatus.MATCHED:
            continue
        # Linking is the one change a record admits after it is written: the subject's
        # identity as given stays, the link to our account or organisation is added.
        CreditRecord.objects.filter(pk=record.pk, match_status=record.match_status).update(
            **found.fields
        )
        if found.status == MatchStatus.MATCHED:
            linked += 1
            _audit(
                "integrity.record_linked",
                record,
                {"via": found.via, **{k: v for k, v in found.fields.items() if v}},
            )
    return linked


def link_user(user):
    """Records waiting for this person: by ID hash, ORCID or name (the matcher decides)."""
    q = Q()
    if user.id_number_hash:
        q |= Q(subject_id_hash=user.id_number_hash)
    if user.orcid:
        q |= Q(subject_orcid=user.orcid)
    if user.full_name.strip():
        q |= Q(subject_name=user.full_name.strip())
    if not q:
        return 0
    return link_records(unlinked().filter(q, subject_kind__in=PERSON_KINDS))


def link_institution(institution):
    """Records about the institution, and about its people given with its name or code."""
    names = [n for n in (institution.name, institution.name_en) if n]
    q = Q(subject_credit_code=institution.credit_code)
    if names:
        q |= Q(subject_institution_name__in=names)
    return link_records(unlinked().filter(q))


def link_agency(agency):
    if not agency.credit_code:
        return 0
    return link_records(unlinked().filter(subject_credit_code=agency.credit_code))


def link_subject(instance):
    """Receiver of ``accounts.services.subject_identity_changed``."""
    if isinstance(instance, User):
        return link_user(instance)
    if isinstance(instance, Institution):
        return link_institution(instance)
    if isinstance(instance, Agency):
        return link_agency(instance)
    return 0


def relink(chunk_size=2000):
    """Try every unlinked record again (periodic task); answers the number linked."""
    linked, last = 0, 0
    while True:
        chunk = list(unlinked().filter(pk__gt=last).order_by("pk")[:chunk_size])
        if not chunk:
            return linked
        linked += link_records(chunk)
        last = chunk[-1].pk
