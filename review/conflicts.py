"""Conflicts of interest between reviewers and proposals, computed, never remembered.

For every reviewer–proposal pair of a call the reasons a reviewer may not review
(domain.md, Peer review):

``party``          the reviewer is the PI or on the team;
``institution``    same institution as the PI or a team member — the current one
                   (``User.institution``, the proposal's host institution) or one of the last
                   three years (``review.Affiliation``), on either side;
``collaboration``  a joint project, paper, award or patent with the PI in the last three years
                   (``review.Collaboration``, in either direction);
``avoid``          named by the applicant as an expert to avoid (``grants.ExpertToAvoid``: the
                   linked user, or else the same name and institution);
``declared``       the reviewer declared a conflict (``review.ConflictDeclaration``);
``barred``         an integrity record bars the reviewer from reviewing.

It scales by set logic: a few queries read the small relations (proposal → people,
person → institutions, collaborations, …) and numpy joins them into pairs, encoded as
``application index × number of reviewers + reviewer index``. A 20,000 × 20,000 call has
400 million pairs; nothing here looks at each of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Institution, User
from accounts.roles import Role
from grants.enums import ApplicationState
from grants.models import Application, ExpertToAvoid, TeamMember
from integrity.models import Action
from integrity.services import barred_users

from .models import Affiliation, Collaboration, ConflictDeclaration

#: Ties older than this many years no longer conflict.
LOOKBACK_YEARS = 3


class Reason:
    """Reason codes and the sentence an officer reads for each."""

    PARTY = "party"
    INSTITUTION = "institution"
    COLLABORATION = "collaboration"
    AVOID = "avoid"
    DECLARED = "declared"
    BARRED = "barred"

    LABELS = {
        PARTY: gettext_lazy("The reviewer is the principal investigator or on the team."),
        INSTITUTION: gettext_lazy(
            "Same institution as the principal investigator or a team member "
            "(now or in the last three years)."
        ),
        COLLABORATION: gettext_lazy(
            "Joint project, paper, award or patent with the principal investigator "
            "in the last three years."
        ),
        AVOID: gettext_lazy("Named by the applicant as an expert to avoid."),
        DECLARED: gettext_lazy("The reviewer declared a conflict of interest."),
        BARRED: gettext_lazy("Barred from reviewing by an integrity record."),
    }
    ORDER = [PARTY, INSTITUTION, COLLABORATION, AVOID, DECLARED, BARRED]

    @classmethod
    def label(cls, code):
        return cls.LABELS[code]


#: Proposals of a call whose conflicts matter: numbered (submitted once) and not closed.
REVIEW_STATES = [
    ApplicationState.ACCEPTED,
    ApplicationState.UNDER_REVIEW,
    ApplicationState.REVIEWED,
    ApplicationState.IN_NOTICE,
]


def cutoff(on=None) -> date:
    """The first day that still counts: ``LOOKBACK_YEARS`` before ``on``."""
    on = on or timezone.localdate()
    try:
        return on.replace(year=on.year - LOOKBACK_YEARS)
    except ValueError:  # 29 February
        return on.replace(year=on.year - LOOKBACK_YEARS, day=28)


# --- the array core: joins on integer keys ---------------------------------------------------


def join(left_key, left_val, right_key, right_val):
    """Every ``(left_val, right_val)`` whose keys are equal (an equi-join), vectorised."""
    left_key = np.asarray(left_key, dtype=np.int64)
    left_val = np.asarray(left_val, dtype=np.int64)
    right_key = np.asarray(right_key, dtype=np.int64)
    right_val = np.asarray(right_val, dtype=np.int64)
    if not len(left_key) or not len(right_key):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    order = np.argsort(right_key, kind="stable")
    rk, rv = right_key[order], right_val[order]
    lo = np.searchsorted(rk, left_key, "left")
    hi = np.searchsorted(rk, left_key, "right")
    counts = hi - lo
    total = int(counts.sum())
    out_left = np.repeat(left_val, counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return out_left, rv[starts + np.arange(total, dtype=np.int64)]


def sorted_unique(values):
    """Sorted distinct values (sort-based: faster than numpy's hash path on big int arrays)."""
    values = np.sort(np.asarray(values, dtype=np.int64), kind="stable")
    if len(values) < 2:
        return values
    return values[np.r_[True, values[1:] != values[:-1]]]


def encode(app_idx, rev_idx, n_reviewers):
    """Pairs as sorted unique int64 keys ``app_idx * n_reviewers + rev_idx``."""
    keys = np.asarray(app_idx, dtype=np.int64) * n_reviewers + np.asarray(rev_idx, dtype=np.int64)
    return sorted_unique(keys)


def index_of(sorted_ids, ids):
    """Positions of ``ids`` in ``sorted_ids``, and a mask of those present."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(sorted_ids) or not len(ids):
        return np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=bool)
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.minimum(pos, len(sorted_ids) - 1)
    return pos, sorted_ids[pos] == ids


@dataclass
class ConflictSet:
    """The conflicted pairs of a set of proposals × a reviewer pool, by reason.

    ``application_ids`` and ``reviewer_ids`` are sorted; ``pairs[code]`` holds sorted unique
    keys ``application index × len(reviewer_ids) + reviewer index``; ``barred`` the indices
    of reviewers barred from reviewing (conflicted with every proposal) and
    ``barred_reasons`` the integrity service's sentences per reviewer id.
    """

    application_ids: np.ndarray
    reviewer_ids: np.ndarray
    pairs: dict = field(default_factory=dict)
    barred: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    barred_reasons: dict = field(default_factory=dict)

    @property
    def n_reviewers(self):
        return len(self.reviewer_ids)

    def keys(self):
        """Every pair conflicted for a pair-level reason (barred reviewers apart)."""
        parts = [k for k in self.pairs.values() if len(k)]
        if not parts:
            return np.empty(0, dtype=np.int64)
        return sorted_unique(np.concatenate(parts))

    def reasons(self, app_idx, rev_idx):
        key = app_idx * self.n_reviewers + rev_idx
        found = []
        for code in Reason.ORDER:
            if code == Reason.BARRED:
                if len(self.barred) and rev_idx in set(self.barred.tolist()):
                    found.append(code)
                continue
            keys = self.pairs.get(code)
            if keys is not None and len(keys):
                pos = np.searchsorted(keys, key)
                if pos < len(keys) and keys[pos] == key:
                    found.append(code)
        return found

    def as_dict(self):
        """``{(application id, reviewer id): [reason codes]}`` for every conflicted pair."""
        m = self.n_reviewers
        result = {}
        for code in Reason.ORDER:
            if code == Reason.BARRED:
                continue
            for key in self.pairs.get(code, ()):
                a, r = divmod(int(key), m)
                result.setdefault(
                    (int(self.application_ids[a]), int(self.reviewer_ids[r])), []
                ).append(code)
        for r in self.barred.tolist():
            rid = int(self.reviewer_ids[r])
            for aid in self.application_ids.tolist():
                result.setdefault((int(aid), rid), []).append(Reason.BARRED)
        return result


def compute(
    *,
    application_ids,
    reviewer_ids,
    app_people=((), ()),
    app_institutions=((), ()),
    person_institutions=((), ()),
    app_pi=((), ()),
    collaborations=((), ()),
    avoid=((), ()),
    declared=((), ()),
    barred=(),
) -> ConflictSet:
    """The conflict set from plain relations (the core; no database).

    Each relation is a pair of equal-length id arrays:
    ``app_people`` (application, user) for the PI and the team;
    ``app_institutions`` (application, institution) for the host institution and the
    current institutions of the PI and the team; ``person_institutions`` (user, institution)
    for every current or recent institution of anyone (reviewers, PIs, team members);
    ``app_pi`` (application, PI); ``collaborations`` (user, user), symmetric or not (both
    directions are taken); ``avoid`` and ``declared`` (application, reviewer);
    ``barred`` reviewer ids.
    """
    app_ids = sorted_unique(application_ids)
    rev_ids = sorted_unique(reviewer_ids)
    m = len(rev_ids)
    result = ConflictSet(app_ids, rev_ids)

    def to_keys(app_id_arr, user_id_arr):
        a_pos, a_ok = index_of(app_ids, app_id_arr)
        r_pos, r_ok = index_of(rev_ids, user_id_arr)
        ok = a_ok & r_ok
        return encode(a_pos[ok], r_pos[ok], m)

    # PI or team member.
    people_app, people_user = (np.asarray(x, dtype=np.int64) for x in app_people)
    result.pairs[Reason.PARTY] = to_keys(people_app, people_user)

    # Institutions: the proposal's (host, PI's and team's current and recent) against the
    # reviewer's (current and recent).
    inst_user, inst_id = (np.asarray(x, dtype=np.int64) for x in person_institutions)
    a1, i1 = (np.asarray(x, dtype=np.int64) for x in app_institutions)
    a2, i2 = join(people_user, people_app, inst_user, inst_id)  # people's recent institutions
    app_inst_app = np.concatenate([a1, a2])
    app_inst_inst = np.concatenate([i1, i2])
    if len(app_inst_app):
        uniq = np.unique(np.stack([app_inst_app, app_inst_inst], axis=1), axis=0)
        app_inst_app, app_inst_inst = uniq[:, 0], uniq[:, 1]
    _, rev_known = index_of(rev_ids, inst_user)
    apps, users = join(app_inst_inst, app_inst_app, inst_id[rev_known], inst_user[rev_known])
    result.pairs[Reason.INSTITUTION] = to_keys(apps, users)

    # Collaborations with the PI, either direction.
    c1, c2 = (np.asarray(x, dtype=np.int64) for x in collaborations)
    ca, cb = np.concatenate([c1, c2]), np.concatenate([c2, c1])
    pa, pu = (np.asarray(x, dtype=np.int64) for x in app_pi)
    apps, users = join(pu, pa, ca, cb)
    result.pairs[Reason.COLLABORATION] = to_keys(apps, users)

    result.pairs[Reason.AVOID] = to_keys(*avoid)
    result.pairs[Reason.DECLARED] = to_keys(*declared)

    b_pos, b_ok = index_of(rev_ids, np.asarray(list(barred), dtype=np.int64))
    result.barred = sorted_unique(b_pos[b_ok])
    return result


# --- the database layer ----------------------------------------------------------------------


def reviewer_pool():
    """Everyone who may be asked to review: active users with the reviewer role."""
    return User.objects.filter(is_active=True, groups__name=Role.REVIEWER).distinct()


def _normalise(text):
    return re.sub(r"[\s\.\-·,，()（）]+", "", (text or "")).casefold()


def _avoid_pairs(applications, reviewers):
    """(application, reviewer) named to avoid: the linked user, or name + institution."""
    rows = list(
        ExpertToAvoid.objects.filter(application__in=applications).values_list(
            "application_id", "user_id", "name", "institution"
        )
    )
    pairs = [(a, u) for a, u, _name, _inst in rows if u]
    by_name = [(a, _normalise(n), _normalise(i)) for a, u, n, i in rows if not u and n.strip()]
    if by_name:
        names = {n for _a, n, _i in by_name}
        people = {}
        for uid, full, first, last, inst, inst_en in reviewers.values_list(
            "pk",
            "full_name",
            "first_name",
            "last_name",
            "institution__name",
            "institution__name_en",
        ):
            institutions = {_normalise(inst), _normalise(inst_en)} - {""}
            for spelling in {full, f"{first}{last}", f"{last}{first}"}:
                key = _normalise(spelling)
                if key in names:
                    people.setdefault(key, []).append((uid, institutions))
        for a, name, inst in by_name:
            for uid, institutions in people.get(name, ()):
                if not inst or any(inst in i or i in inst for i in institutions):
                    pairs.append((a, uid))
    if not pairs:
        return (), ()
    arr = np.asarray(pairs, dtype=np.int64)
    return arr[:, 0], arr[:, 1]


def _arrays(rows, width=2):
    if not rows:
        return tuple(np.empty(0, dtype=np.int64) for _ in range(width))
    arr = np.asarray(rows, dtype=np.int64)
    return tuple(arr[:, i] for i in range(width))


def conflict_set(applications, reviewers=None, *, on=None) -> ConflictSet:
    """Conflicts of ``applications`` (a queryset) × ``reviewers`` (queryset, default: pool).

    A fixed number of queries, whatever the sizes; the reviewers queryset is used as a
    subquery, never as a list of ids.
    """
    on = on or timezone.localdate()
    since = cutoff(on)
    if reviewers is None:
        reviewers = reviewer_pool()
    elif not hasattr(reviewers, "values"):
        reviewers = User.objects.filter(pk__in=[getattr(r, "pk", r) for r in reviewers])
    reviewer_ids = np.fromiter(reviewers.values_list("pk", flat=True), dtype=np.int64)
    app_rows = list(applications.values_list("pk", "applicant_id", "institution_id"))
    app_ids = [r[0] for r in app_rows]
    team_rows = list(
        TeamMember.objects.filter(application__in=applications).values_list(
            "application_id", "user_id"
        )
    )
    app_people = _arrays([(a, pi) for a, pi, _i in app_rows] + team_rows)
    people = User.objects.filter(
        Q(applications__in=applications) | Q(team_memberships__application__in=applications)
    )
    # Current institutions of the PIs, team members and reviewers, and recent affiliations.
    current = list(
        User.objects.filter(
            Q(pk__in=people.values("pk")) | Q(pk__in=reviewers.values("pk")),
            institution__isnull=False,
        ).values_list("pk", "institution_id")
    )
    recent = list(
        Affiliation.objects.filter(
            Q(user__in=people.values("pk")) | Q(user__in=reviewers.values("pk")),
            Q(ended_on__isnull=True) | Q(ended_on__gte=since),
            institution__isnull=False,
        ).values_list("user_id", "institution_id")
    )
    person_institutions = _arrays(current + recent)
    app_institutions = _arrays([(a, i) for a, _pi, i in app_rows])
    pis = applications.values("applicant_id")
    collaborations = _arrays(
        list(
            Collaboration.objects.filter(
                Q(person_id__in=pis) | Q(partner_id__in=pis), on__gte=since
            ).values_list("person_id", "partner_id")
        )
    )
    declared = _arrays(
        list(
            ConflictDeclaration.objects.filter(
                application__in=applications, reviewer__in=reviewers.values("pk")
            ).values_list("application_id", "reviewer_id")
        )
    )
    barred = barred_users(Action.REVIEW, reviewers, on=on)
    result = compute(
        application_ids=app_ids,
        reviewer_ids=reviewer_ids,
        app_people=app_people,
        app_institutions=app_institutions,
        person_institutions=person_institutions,
        app_pi=_arrays([(a, pi) for a, pi, _i in app_rows]),
        collaborations=collaborations,
        avoid=_avoid_pairs(applications, reviewers),
        declared=declared,
        barred=list(barred),
    )
    result.barred_reasons = {
        uid: [
            _("Record %(id)s (%(category)s) bars reviewing until %(until)s.")
            % {
                "id": r.pk,
                "category": r.get_category_display(),
                "until": r.ends_on.isoformat() if r.ends_on else _("further notice"),
            }
            for r in records
        ]
        for uid, records in barred.items()
    }
    return result


def call_applications(call):
    return Application.objects.filter(call=call, state__in=REVIEW_STATES)


def conflicts_for_call(call, reviewers=None, *, on=None):
    """``{(application id, reviewer id): [reason codes]}`` for the call's proposals in review
    (accepted onwards) × ``reviewers`` (default: the whole reviewer pool)."""
    return conflict_set(call_applications(call), reviewers, on=on).as_dict()


@dataclass(frozen=True)
class Explanation:
    code: str
    label: str
    details: tuple = ()


def explain_pair(application, reviewer, *, on=None):
    """Why ``reviewer`` may not review ``application``: a list of :class:`Explanation`
    (empty when nothing conflicts), each with the facts behind it."""
    on = on or timezone.localdate()
    since = cutoff(on)
    applications = Application.objects.filter(pk=application.pk)
    found = conflict_set(applications, User.objects.filter(pk=reviewer.pk), on=on)
    if not len(found.reviewer_ids) or not len(found.application_ids):
        return []
    codes = found.reasons(0, 0)
    out = []
    for code in codes:
        details = []
        if code == Reason.INSTITUTION:
            details = _institution_details(application, reviewer, since)
        elif code == Reason.COLLABORATION:
            pi = application.applicant_id
            for c in Collaboration.objects.filter(
                Q(person_id=pi, partner_id=reviewer.pk) | Q(person_id=reviewer.pk, partner_id=pi),
                on__gte=since,
            ):
                details.append(f"{c.get_kind_display()} {c.on.isoformat()} {c.title}".strip())
        elif code == Reason.AVOID:
            details = [
                f"{e.name} ({e.institution}): {e.reason}"
                if e.institution
                else f"{e.name}: {e.reason}"
                for e in application.experts_to_avoid.all()
                if e.user_id in (None, reviewer.pk)
            ]
        elif code == Reason.DECLARED:
            details = list(
                ConflictDeclaration.objects.filter(
                    application=application, reviewer=reviewer
                ).values_list("reason", flat=True)
            )
        elif code == Reason.BARRED:
            details = found.barred_reasons.get(reviewer.pk, [])
        out.append(Explanation(code, str(Reason.label(code)), tuple(details)))
    return out


def _institution_details(application, reviewer, since):
    people = [application.applicant_id, *application.team.values_list("user_id", flat=True)]

    def institutions(user_ids):
        current = set(
            User.objects.filter(pk__in=user_ids, institution__isnull=False).values_list(
                "institution_id", flat=True
            )
        )
        recent = set(
            Affiliation.objects.filter(
                Q(ended_on__isnull=True) | Q(ended_on__gte=since),
                user_id__in=user_ids,
                institution__isnull=False,
            ).values_list("institution_id", flat=True)
        )
        return current | recent

    shared = institutions([reviewer.pk]) & (institutions(people) | {application.institution_id})
    return [str(i) for i in Institution.objects.filter(pk__in=shared)]
