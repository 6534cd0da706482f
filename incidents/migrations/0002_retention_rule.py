"""The retention rule of the affected-people list (registry key "incident_records")."""

from django.db import migrations

RULE = {
    "key": "incident_records",
    "name": "People affected by a personal-data breach",
    "period_value": 5,
    "period_unit": "years",
    "runs_from": "When the person was added to the incident (added_at)",
    "legal_basis": "Set by the company, not the policy: the list is the evidence that every affected person was "
    "notified (PIPA art. 34(1)); 5 years covers the limitation of PIPA penalties and the 3-year limitation of "
    "damages claims (Civil Act art. 766(1)). Kept after an erasure request.",
    "law_article": "PIPA art. 34; Enforcement Decree art. 39-40; GDPR art. 33(5)",
}


def seed(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    RetentionRule.objects.get_or_create(
        key=RULE["key"], defaults={**RULE, "action": "delete", "active": True, "set_by_company": True}
    )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial"), ("retention", "0003_seed_rules_of_other_apps")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
