from django.db import migrations


def create_rule_sets(apps, schema_editor):
    RuleSet = apps.get_model("programs", "RuleSet")
    RuleSet.objects.get_or_create(
        code="2021", defaults={"name": "2021 (国办发〔2021〕32号)", "data": {}}
    )
    RuleSet.objects.get_or_create(
        code="2016",
        defaults={
            "name": "2016",
            "data": {"indirect_tiers": [["5000000", "0.20"], ["10000000", "0.15"], [None, "0.13"]]},
        },
    )


class Migration(migrations.Migration):
    dependencies = [("programs", "0001_initial")]
    operations = [migrations.RunPython(create_rule_sets, migrations.RunPython.noop)]
