"""The public policy's wording of incidents' retention rule (retention 0005 adds the fields)."""

from django.db import migrations

TEXTS = {
    "public_name_ko": "개인정보 유출 사고로 영향을 받은 사람의 기록",
    "public_name_en": "Records of people affected by a personal data breach",
    "public_runs_from_ko": "사고 대상자로 등록된 때부터",
    "public_runs_from_en": "From when the person was added to the incident",
}


def seed(apps, schema_editor):
    rule = apps.get_model("retention", "RetentionRule").objects.filter(key="incident_records").first()
    if rule is None:
        return
    for field, value in TEXTS.items():
        if not getattr(rule, field):
            setattr(rule, field, value)
    rule.save(update_fields=list(TEXTS))


class Migration(migrations.Migration):
    dependencies = [("incidents", "0003_incident_notices"), ("retention", "0005_rule_public_texts")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
