"""The marketing suppression list (consent.MarketingSuppression: a keyed hash of each address that
withdrew or refused marketing, linked to no one, surviving the person's erasure) gets its
retention rule: 5 years from the last withdrawal or refusal of the address. Set by the company;
docs/RETENTION.md says why. Existing rows are left alone."""

from django.db import migrations

RULE = {
    "key": "marketing_suppression",
    "name": "Marketing suppression list (keyed hashes of addresses that said no)",
    "period_value": 5,
    "period_unit": "years",
    "runs_from": "The last withdrawal or refusal of marketing by that address (last_refused_at); the "
    "person's own new consent removes the entry at once",
    "legal_basis": "Set by the company, not the policy: the list is what keeps an address that said no from "
    "being brought back into marketing by a later import or sync after the person was erased (Network Act "
    "art. 50(2), (4): no advertising to someone who refused or withdrew). It holds a keyed hash of the address "
    "only, no link to a person. 5 years covers how long addresses from an import or an affiliate stay in "
    "circulation and the limitation of fines (Act on the Regulation of Violations of Public Order art. 19); "
    "to be reviewed while the company markets by email, SMS or advertising audiences.",
    "law_article": "Network Act art. 50(2), (4); PIPA art. 21(1), 37(1)",
    "public_name_ko": "마케팅 수신 거부 목록(주소의 암호화 해시값)",
    "public_name_en": "Marketing opt-out list (a keyed hash of the address)",
    "public_runs_from_ko": "그 주소로 마지막으로 마케팅 수신을 거부하거나 철회한 때부터 (다시 동의하면 즉시 삭제)",
    "public_runs_from_en": "From the last time marketing was refused or withdrawn for that address "
    "(removed at once if you consent again)",
}


def seed(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    RetentionRule.objects.get_or_create(
        key=RULE["key"], defaults={**RULE, "action": "delete", "active": True, "set_by_company": True}
    )


class Migration(migrations.Migration):
    dependencies = [("retention", "0005_rule_public_texts")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
