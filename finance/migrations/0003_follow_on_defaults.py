"""The follow-on defaults of domain.md (rows without a program apply to every program)."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = [
    # grade, eligible, max share, bar years, recover funds, note
    ("excellent", True, Decimal("1.00"), 0, False, "Follow-on support up to 100 % of the award."),
    ("good", True, Decimal("0.60"), 0, False, "Follow-on support up to 60 % of the award."),
    ("pass", False, Decimal("0"), 0, False, "Only through a new competitive call."),
    ("fail", False, Decimal("0"), 2, True, "PI barred from the program; remaining funds recovered."),
]


def create_defaults(apps, schema_editor):
    FollowOnRule = apps.get_model("finance", "FollowOnRule")
    for grade, eligible, share, years, recover, note in DEFAULTS:
        FollowOnRule.objects.get_or_create(
            program=None,
            grade=grade,
            defaults={
                "eligible": eligible,
                "max_share": share,
                "bar_years": years,
                "recover_funds": recover,
                "note": note,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("finance", "0002_evaluation")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
