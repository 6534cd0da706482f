"""Seed a RetentionRule for every rule key the registry used when this app was written.

Rules marked set_by_company are periods the privacy policy does not state (policy gaps, listed in
docs/RETENTION.md). Existing rows are left alone, so an officer's later edit survives a re-run.
"""

from django.db import migrations

RULES = [
    {
        "key": "visit_logs",
        "name": "Service visit logs",
        "period_value": 3,
        "period_unit": "months",
        "runs_from": "The visit (visited_at)",
        "legal_basis": "Policy 4.1.2: service visit logs are kept 3 months, the records a telecommunications "
        "business operator must keep for an investigation request, then destroyed (RD-04).",
        "law_article": "Protection of Communications Secrets Act art. 15-2(2); Enforcement Decree art. 41(2)2",
        "set_by_company": False,
    },
    {
        "key": "complaint_records",
        "name": "Consumer complaint and dispute records",
        "period_value": 3,
        "period_unit": "years",
        "runs_from": "The closing of the complaint or dispute (closed_at); an open one is never due",
        "legal_basis": "Policy 4.1.1: records of consumer complaints or dispute handling are kept 3 years.",
        "law_article": "Act on Consumer Protection in Electronic Commerce art. 6(3); Enforcement Decree art. 6(1)4",
        "set_by_company": False,
    },
    {
        "key": "inquiries",
        "name": "Customer-service inquiries (questions)",
        "period_value": 1,
        "period_unit": "years",
        "runs_from": "The closing of the inquiry (closed_at); an open inquiry is never due",
        "legal_basis": "Set by the company, not the policy: kept one year after closing so a follow-up question "
        "can be answered with its history (policy 2.1.4 inquiry handling), then destroyed (PIPA art. 21(1)).",
        "law_article": "PIPA art. 21(1) (destroy once the purpose is achieved)",
        "set_by_company": True,
    },
    {
        "key": "event_attendance",
        "name": "Offline event and seminar attendance",
        "period_value": 1,
        "period_unit": "years",
        "runs_from": "The event date (event_date)",
        "legal_basis": "Set by the company, not the policy: kept one year after the event for attendance "
        "certificates and follow-up questions, then destroyed (PIPA art. 21(1)).",
        "law_article": "PIPA art. 21(1) (destroy once the purpose is achieved)",
        "set_by_company": True,
    },
    {
        "key": "sns_accounts",
        "name": "Linked SNS accounts",
        "period_value": 30,
        "period_unit": "days",
        "runs_from": "The unlinking of the account (unlinked_at); a linked account is never due",
        "legal_basis": "Set by the company, not the policy: the purpose (policy 2.1.5, third-party integration) "
        "ends when the account is unlinked; 30 days allow a mistaken unlink to be undone. Its ad performance "
        "records go with it.",
        "law_article": "PIPA art. 21(1) (destroy once the purpose is achieved)",
        "set_by_company": True,
    },
    {
        "key": "ad_performance",
        "name": "Post and ad performance and ad execution data",
        "period_value": 1,
        "period_unit": "years",
        "runs_from": "The recording of the figures (recorded_at)",
        "legal_basis": "Set by the company, not the policy: kept one year for year-on-year ad performance "
        "analysis (policy 2.1.5), then destroyed (PIPA art. 21(1)).",
        "law_article": "PIPA art. 21(1) (destroy once the purpose is achieved)",
        "set_by_company": True,
    },
    {
        "key": "subject_profiles",
        "name": "Data subject profiles (name and contact details)",
        "period_value": 30,
        "period_unit": "days",
        "runs_from": "The last change of the profile (updated_at), and only once no record of the person is left",
        "legal_basis": "Set by the company, not the policy: contact details serve the records they belong to; "
        "once none is left the purpose is achieved. 30 days since the last change keep a profile created "
        "just before its first record.",
        "law_article": "PIPA art. 21(1) (destroy once the purpose is achieved)",
        "set_by_company": True,
    },
]


def seed(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    for rule in RULES:
        RetentionRule.objects.get_or_create(key=rule["key"], defaults={**rule, "action": "delete", "active": True})


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
