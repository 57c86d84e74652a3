import time

from django.core.management.base import BaseCommand

from outbox.dispatch import purge, sweep


class Command(BaseCommand):
    help = (
        "Publish the outbox jobs the broker never took or lost. With --loop, a process of its "
        "own (an alternative to the beat entry outbox-sweep)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Sweep forever.")
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between sweeps.")
        parser.add_argument(
            "--redispatch-after",
            type=int,
            default=None,
            help="Re-publish jobs published this many seconds ago and not done "
            "(default GRANTFLOW_OUTBOX_REDISPATCH_AFTER).",
        )

    def handle(self, *args, loop, interval, redispatch_after, **options):
        while True:
            purge()
            count = sweep(redispatch_after=redispatch_after)
            if count or not loop:
                self.stdout.write(f"{count} job(s) published")
            if not loop:
                return
            time.sleep(interval)
