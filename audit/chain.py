"""The tamper-evident chain over the audit log (docs/decisions.md, "The audit chain").

Every row of ``audit.TransitionLog`` — a state transition written by the signal handler, or
an event (money, decisions, records) written by :func:`record` — is one link of ONE chain:
it carries a gapless ``seq``, the ``hash`` of its predecessor (``prev_hash``) and its own
``hash``, SHA-256 over :func:`canonical` of its content plus ``prev_hash``.

Appends are serialised by a lock on the single :class:`~audit.models.ChainHead` row, taken
in the same transaction as the change (``SELECT … FOR UPDATE``; SQLite serialises writers
on its own): two transactions never read the same head, so the chain never forks, and a
rolled-back change takes its entries and the head's move back with it (no gap).

``manage.py verify_audit`` (:func:`verify`) walks the chain in ``seq`` order and reports the
first broken link.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64
#: Tag of the serialisation, part of every hashed text: a future format gets a new tag.
FORMAT = "grantflow-audit-1"

TRANSITION = "transition"
EVENT = "event"

#: The columns that make an entry's content, in the order :func:`canonical` reads them
#: (``content_type`` is hashed by its natural key ``app_label.model``).
HASHED_COLUMNS = (
    "seq",
    "kind",
    "content_type_id",
    "object_id",
    "object_repr",
    "transition",
    "source",
    "target",
    "actor_id",
    "actor_roles",
    "comment",
    "data",
    "created_at",
    "prev_hash",
)


# --- canonical serialisation ------------------------------------------------------------------


def _numbers(value):
    """Integral floats as ints: PostgreSQL's jsonb gives ``1e+20`` back as ``100000…``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def plain_json(value):
    """``value`` as the database will give it back: JSON types only (Decimal, dates and
    UUIDs as text, keys as strings), integral floats as ints."""
    return _numbers(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def stamp(moment):
    """A time as UTC text with microseconds, whatever zone it came in."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(
    seq,
    kind,
    content_type,
    object_id,
    object_repr,
    transition,
    source,
    target,
    actor_id,
    actor_roles,
    comment,
    data,
    created_at,
    prev_hash,
):
    """The bytes an entry's hash covers: a JSON array in a fixed order, keys of ``data``
    sorted, no spaces, UTF-8. ``content_type`` is ``"app_label.model"``."""
    return json.dumps(
        [
            FORMAT,
            seq,
            kind,
            content_type,
            object_id,
            object_repr,
            transition,
            source,
            target,
            actor_id,
            _numbers(actor_roles),
            comment,
            _numbers(data),
            stamp(created_at),
            prev_hash,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def digest(*values):
    """SHA-256 (hex) of :func:`canonical` over the values in :data:`HASHED_COLUMNS` order."""
    return hashlib.sha256(canonical(*values)).hexdigest()


def content_type_label(content_type_id, labels=None):
    if labels is not None and content_type_id in labels:
        return labels[content_type_id]
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_id(content_type_id)
    return f"{ct.app_label}.{ct.model}"


def entry_hash(entry, labels=None):
    return digest(
        *(
            content_type_label(entry.content_type_id, labels)
            if column == "content_type_id"
            else getattr(entry, column)
            for column in HASHED_COLUMNS
        )
    )


# --- appending --------------------------------------------------------------------------------


def lock_head():
    """The chain head, locked until the end of the current transaction.

    Created when missing (after a test flush, or on a database that never had one), from
    the last entry; two creators race on the primary key and the loser reads the winner's.
    """
    from .models import ChainHead, TransitionLog

    head = ChainHead.objects.select_for_update().filter(pk=ChainHead.PK).first()
    if head is not None:
        return head
    last = TransitionLog.entries.order_by("-seq").values("seq", "hash").first()
    try:
        with transaction.atomic():
            ChainHead.objects.create(
                pk=ChainHead.PK,
                seq=last["seq"] if last else 0,
                hash=last["hash"] if last else GENESIS,
            )
    except IntegrityError:
        pass
    return ChainHead.objects.select_for_update().get(pk=ChainHead.PK)


def _prepare(entry):
    if not entry.kind:
        entry.kind = TRANSITION
    if entry.created_at is None:
        entry.created_at = timezone.now()
    elif timezone.is_naive(entry.created_at):
        entry.created_at = timezone.make_aware(entry.created_at)
    entry.object_repr = (entry.object_repr or "")[:300]
    entry.source = entry.source or ""
    entry.target = entry.target or ""
    entry.comment = entry.comment or ""
    entry.actor_roles = plain_json(list(entry.actor_roles or []))
    entry.data = plain_json(entry.data or {})


def append(entries, insert):
    """Link ``entries`` (unsaved TransitionLog rows, in order) to the chain and run
    ``insert()`` to write them, all under the head's lock in one transaction."""
    from .models import ChainHead

    with transaction.atomic(savepoint=False):
        head = lock_head()
        seq, prev = head.seq, head.hash
        for entry in entries:
            _prepare(entry)
            seq += 1
            entry.seq, entry.prev_hash = seq, prev
            entry.hash = prev = entry_hash(entry)
        result = insert()
        if entries:
            ChainHead.objects.filter(pk=ChainHead.PK).update(
                seq=seq, hash=prev, updated_at=timezone.now()
            )
    return result


def record(name, obj, actor=None, data=None, comment=""):
    """Write an event about ``obj`` into the chain: budget set, credit record created,
    review submitted, money moved … ``name`` is a dotted action name (``"grants.budget_set"``),
    ``data`` a JSON-able dict of what changed. Call it inside the change's transaction."""
    from django.contrib.contenttypes.models import ContentType

    from .models import TransitionLog

    if len(name) > 64:
        raise ValueError("Event names have at most 64 characters.")
    authenticated = getattr(actor, "is_authenticated", False)
    return TransitionLog.entries.create(
        kind=EVENT,
        content_type=ContentType.objects.get_for_model(obj.__class__),
        object_id=obj.pk,
        object_repr=str(obj)[:300],
        transition=name,
        actor=actor if authenticated else None,
        actor_roles=sorted(getattr(actor, "role_names", ()) or ()) if authenticated else [],
        comment=comment or "",
        data=data or {},
    )


def snapshot(obj, exclude=()):
    """The stored values of ``obj``'s own columns (foreign keys as ids), JSON-ready: what an
    event about a created or changed row records."""
    return plain_json(
        {
            f.attname: getattr(obj, f.attname)
            for f in obj._meta.concrete_fields
            if f.name not in exclude and f.attname not in exclude
        }
    )


def _decimals(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_decimals(v) for v in value]
    return value


def fingerprint(value):
    """SHA-256 of a JSON-able value (sorted keys; decimals without trailing zeros, so that
    ``12.0`` in memory and ``12.000`` from the database agree): proves content without
    copying it."""
    text = json.dumps(
        plain_json(_decimals(value)), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_many(name, objs, actor=None, data=None, comment=""):
    """:func:`record` for many objects at once (a bulk import): one head lock, one insert.
    ``data`` is a dict for all or a function of the object."""
    from django.contrib.contenttypes.models import ContentType

    from .models import TransitionLog

    authenticated = getattr(actor, "is_authenticated", False)
    roles = sorted(getattr(actor, "role_names", ()) or ()) if authenticated else []
    entries = [
        TransitionLog(
            kind=EVENT,
            content_type=ContentType.objects.get_for_model(obj.__class__),
            object_id=obj.pk,
            object_repr=str(obj)[:300],
            transition=name,
            actor=actor if authenticated else None,
            actor_roles=roles,
            comment=comment or "",
            data=(data(obj) if callable(data) else data) or {},
        )
        for obj in objs
    ]
    return TransitionLog.entries.bulk_create(entries, batch_size=2000)


# --- verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first broken link: where and what."""

    seq: int
    id: int | None
    problem: str  # "content_changed" | "entry_missing" | "link_broken" | "head_mismatch"
    detail: str


@dataclass(frozen=True)
class Report:
    entries: int
    last_seq: int
    last_hash: str
    broken: Break | None = None

    @property
    def intact(self):
        return self.broken is None


def _labels():
    from django.contrib.contenttypes.models import ContentType

    return {
        pk: f"{app}.{model}"
        for pk, app, model in ContentType.objects.values_list("pk", "app_label", "model")
    }


def verify(chunk_size=5000, progress=None):
    """Walk the whole chain in ``seq`` order, ``chunk_size`` rows at a time (keyset pages:
    constant memory), recompute every hash and check every link; stop at the first break.

    The head is read first and the walk stops at its ``seq``: entries appended while the
    walk runs are left for the next run, and entries cut off the end are noticed.
    """
    from .models import ChainHead, TransitionLog

    head = ChainHead.objects.filter(pk=ChainHead.PK).values("seq", "hash").first()
    labels = _labels()
    columns = ("id", *HASHED_COLUMNS, "hash")
    queryset = TransitionLog.entries.order_by("seq").values_list(*columns)
    if head is not None:
        queryset = queryset.filter(seq__lte=head["seq"])
    expected_seq, prev_hash, prev_id, count = 1, GENESIS, None, 0

    def broken(seq, pk, problem, detail):
        return Report(count, expected_seq - 1, prev_hash, Break(seq, pk, problem, detail))

    after = 0
    while True:
        rows = list(queryset.filter(seq__gt=after)[:chunk_size])
        if not rows:
            break
        for pk, seq, *content, stored_hash in rows:
            stored_prev = content[-1]
            if seq != expected_seq:
                missing = (
                    f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
                )
                before = f"seq {expected_seq - 1} (id {prev_id})" if prev_id else "the start"
                return broken(
                    expected_seq,
                    pk,
                    "entry_missing",
                    f"entry seq {missing} is missing: after {before} comes seq {seq} (id {pk})",
                )
            content[1] = labels.get(content[1]) or content_type_label(content[1])
            if digest(seq, *content) != stored_hash:
                return broken(
                    seq,
                    pk,
                    "content_changed",
                    f"entry seq {seq} (id {pk}) was changed: its content no longer gives "
                    "its stored hash",
                )
            if stored_prev != prev_hash:
                return broken(
                    seq,
                    pk,
                    "link_broken",
                    f"entry seq {seq} (id {pk}) does not point at its predecessor "
                    f"(seq {seq - 1}, id {prev_id}): prev_hash {stored_prev[:12]}… "
                    f"≠ {prev_hash[:12]}…",
                )
            expected_seq, prev_hash, prev_id = seq + 1, stored_hash, pk
            count += 1
        after = rows[-1][1]
        if progress:
            progress(count)
    last_seq = expected_seq - 1
    if head is None:
        if count:
            return broken(last_seq, prev_id, "head_mismatch", "the chain head row is missing")
        return Report(0, 0, GENESIS)
    if head["seq"] > last_seq:
        return broken(
            last_seq + 1,
            None,
            "entry_missing",
            f"entries seq {last_seq + 1}–{head['seq']} are missing at the end of the chain "
            f"(the head records seq {head['seq']})",
        )
    if head["hash"] != prev_hash:
        return broken(
            last_seq,
            prev_id,
            "head_mismatch",
            f"the chain head ({head['hash'][:12]}…) does not match the last entry "
            f"(seq {last_seq}, id {prev_id}, {prev_hash[:12]}…)",
        )
    return Report(count, last_seq, prev_hash)
