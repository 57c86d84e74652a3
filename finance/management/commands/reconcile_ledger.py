"""Check every project's ledger against its instalments and approved budget.

Exit status 1 and one line per project that does not reconcile (its number and the
problems); 0 when all reconcile. See :mod:`finance.ledger` for the invariants.
"""

from django.core.management.base import BaseCommand, CommandError

from finance.ledger import reconcile
from grants.models import Project


class Command(BaseCommand):
    help = "Check that every project's ledger reconciles (exit 1 naming the projects if not)."

    def add_arguments(self, parser):
        parser.add_argument("numbers", nargs="*", help="project numbers (default: all)")

    def handle(self, *args, **options):
        projects = Project.objects.order_by("id")
        if options["numbers"]:
            projects = projects.filter(number__in=options["numbers"])
        count = 0
        mismatches = []
        for project in projects.iterator(chunk_size=500):
            count += 1
            mismatches.extend(reconcile([project]))
        for mismatch in mismatches:
            self.stderr.write(str(mismatch))
        if mismatches:
            raise CommandError(
                f"{len(mismatches)} of {count} project ledgers do not reconcile: "
                + ", ".join(m.project_number for m in mismatches),
                returncode=1,
            )
        self.stdout.write(f"{count} project ledgers reconcile.")
