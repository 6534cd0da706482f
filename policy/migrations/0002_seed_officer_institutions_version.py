"""Seed the facts of the policy published on 2 January 2025 (shared/seed/privacy-policy.txt).

The version row records the past: it was announced and took effect the same day, which the
7-day rule (policy 7) would refuse today. Historical models skip PolicyVersion.clean(), and
that is intended here; every later version goes through announce_policy_version.

Its frozen text is NOT rendered here: a data migration sees historical models only, not the
registry, the templates' live models or the other apps' seed rows (which may migrate after
this). PolicyConfig's post_migrate handler renders it once every app has migrated.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import migrations

SEOUL = ZoneInfo("Asia/Seoul")
PUBLISHED = datetime(2025, 1, 2, 0, 0, tzinfo=SEOUL)

INSTITUTIONS = [
    (
        "개인정보침해 신고센터 (한국인터넷진흥원)",
        "Personal Information Infringement Report Center (KISA)",
        "118",
        "https://privacy.kisa.or.kr",
    ),
    (
        "개인정보 분쟁조정위원회",
        "Personal Information Dispute Mediation Committee (PIPC)",
        "1833-6972",
        "https://www.kopico.go.kr",
    ),
    ("대검찰청", "Supreme Prosecutors' Office", "1301", "https://www.spo.go.kr"),
    ("경찰청 사이버수사국", "Korean National Police Agency, Cyber Bureau", "182", "https://ecrm.police.go.kr"),
]


def seed(apps, schema_editor):
    PrivacyOfficer = apps.get_model("policy", "PrivacyOfficer")
    ComplaintInstitution = apps.get_model("policy", "ComplaintInstitution")
    PolicyVersion = apps.get_model("policy", "PolicyVersion")
    if not PrivacyOfficer.objects.exists():
        # The Korean spelling of the name is not in the published text; the page falls back to it.
        PrivacyOfficer.objects.create(
            name_en="Jongkeun Lee",
            position_ko="대표이사",
            position_en="CEO",
            phone="02-568-9181",
            email="hello@pltt.xyz",
        )
    if not ComplaintInstitution.objects.exists():
        for order, (name_ko, name_en, phone, url) in enumerate(INSTITUTIONS, start=1):
            ComplaintInstitution.objects.create(
                name_ko=name_ko, name_en=name_en, phone=phone, url=url, sort_order=order
            )
    PolicyVersion.objects.get_or_create(
        label="2025-01-02",
        defaults={
            "summary_ko": "최초 게시",
            "summary_en": "First published version.",
            "is_significant": False,
            "announced_at": PUBLISHED,
            "effective_at": PUBLISHED,
            # Its notices, if any, went out before this system existed: nothing to queue.
            "notices_queued_at": PUBLISHED,
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("policy", "PolicyVersion").objects.filter(label="2025-01-02", deliveries__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
