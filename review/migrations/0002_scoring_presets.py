from django.db import migrations

PRESETS = [
    {
        "code": "eu",
        "name": "欧盟评审标准（三项，0–5 分）",
        "name_en": "EU (three criteria, 0–5)",
        "criteria": [
            {"code": "excellence", "label": "科学性与创新性", "label_en": "Excellence",
             "weight": "1", "min": "0", "max": "5", "step": "0.5", "threshold": "3"},
            {"code": "impact", "label": "预期影响", "label_en": "Impact",
             "weight": "1", "min": "0", "max": "5", "step": "0.5", "threshold": "3"},
            {"code": "implementation", "label": "实施质量与效率", "label_en": "Implementation",
             "weight": "1", "min": "0", "max": "5", "step": "0.5", "threshold": "3"},
        ],
        "overall_threshold": "10",
        "recommendations": [
            {"code": "fund", "label": "建议资助", "label_en": "Fund"},
            {"code": "do_not_fund", "label": "不予资助", "label_en": "Do not fund"},
        ],
    },
    {
        "code": "nsfc",
        "name": "国家自然科学基金评审标准（A/B/C/D）",
        "name_en": "NSFC (overall A/B/C/D)",
        "criteria": [
            {"code": "overall", "label": "综合评价", "label_en": "Overall assessment",
             "weight": "1", "min": "1", "max": "4", "step": "1", "threshold": "3",
             "labels": {"4": "A", "3": "B", "2": "C", "1": "D"}},
        ],
        "overall_threshold": None,
        "recommendations": [
            {"code": "fund", "label": "优先资助", "label_en": "Fund"},
            {"code": "fund_if_possible", "label": "可资助", "label_en": "Fund if possible"},
            {"code": "do_not_fund", "label": "不予资助", "label_en": "Do not fund"},
        ],
    },
]


def create_presets(apps, schema_editor):
    ScoringScheme = apps.get_model("review", "ScoringScheme")
    for preset in PRESETS:
        ScoringScheme.objects.update_or_create(
            code=preset["code"], defaults={**preset, "is_preset": True}
        )


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]
    operations = [migrations.RunPython(create_presets, migrations.RunPython.noop)]
