"""Walk the audit chain and report the first broken link (exit code 1), or a summary (0)."""

import time

from django.core.management.base import BaseCommand, CommandError

from audit import chain


class Command(BaseCommand):
    help = (
        "Check the audit chain: recompute every entry's hash in sequence order, check each "
        "link to its predecessor and that no sequence number is missing. Exit code 1 and the "
        "first broken link when the log was edited or cut behind the application's back."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--chunk-size", type=int, default=5000, help="entries read per query (default 5000)"
        )
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="a hash written down earlier (e.g. from a previous run's summary); the entry "
            "with that sequence number must still have it. May be repeated.",
        )

    def handle(self, *args, chunk_size, anchor, **options):
        anchors = {}
        for text in anchor:
            seq, sep, digest = text.partition(":")
            if not sep or not seq.isdigit() or len(digest) != 64:
                raise CommandError(f"--anchor expects SEQ:HASH (64 hex digits), not {text!r}")
            anchors[int(seq)] = digest.lower()
        started = time.perf_counter()
        report = chain.verify(chunk_size=chunk_size)
        seconds = time.perf_counter() - started
        if report.broken is not None:
            b = report.broken
            self.stderr.write(
                f"Audit chain BROKEN at seq {b.seq}"
                + (f" (id {b.id})" if b.id is not None else "")
                + f": {b.problem.replace('_', ' ')} — {b.detail}"
            )
            self.stderr.write(f"{report.entries:,} entries before it are intact.")
            raise SystemExit(1)
        if anchors:
            from audit.models import TransitionLog

            found = dict(TransitionLog.entries.filter(seq__in=anchors).values_list("seq", "hash"))
            for seq, digest in sorted(anchors.items()):
                if found.get(seq) != digest:
                    self.stderr.write(
                        f"Audit chain BROKEN at seq {seq}: anchor mismatch — the entry's hash "
                        f"is {found.get(seq) or 'absent'}, the anchor says {digest}; the chain "
                        "was rewritten from there on."
                    )
                    raise SystemExit(1)
        self.stdout.write(
            f"Audit chain intact: {report.entries:,} entries, last seq {report.last_seq}, "
            f"head {report.last_hash} ({seconds:.1f} s)."
        )
