"""Seed rules for the keys the other apps name in their personal-data registrations (the retention
rule of each registry entry); the table of rules is in docs/RETENTION.md.

All are periods the privacy policy does not state (policy gaps, listed in docs/RETENTION.md).
Existing rows are left alone.
"""

from django.db import migrations

RULES = [
    {
        "key": "consent_records",
        "name": "Consent records (ledger, current state, marketing notices)",
        "period_value": 3,
        "period_unit": "years",
        "runs_from": "When the recorded answer stopped being current (ended_at; a live grant is never due), "
        "or when a notice was sent (sent_at)",
        "legal_basis": "Set by the company, not the policy: proof of consent is kept for the life of the consent "
        "plus 3 years, the general limitation period for claims (Civil Act art. 766(1)). Legal may prefer "
        "5 years (fines lapse after 5 years under the Act on the Regulation of Violations of Public Order art. 19).",
        "law_article": "PIPA art. 22 (proof of consent); Civil Act art. 766(1)",
    },
    {
        "key": "dsar_requests",
        "name": "Requests from data subjects and their timeline",
        "period_value": 3,
        "period_unit": "years",
        "runs_from": "The closing of the request (closed_at); the timeline's events from their own time (at)",
        "legal_basis": "Set by the company, not the policy: the record of how a request was answered is "
        "evidence for the PIPC and the Dispute Mediation Committee and is kept for the 3-year limitation "
        "period; kept after an erasure request.",
        "law_article": "PIPA art. 35-38, 45; Civil Act art. 766(1)",
    },
    {
        "key": "policy_notices",
        "name": "Delivery records of policy change notices",
        "period_value": 1,
        "period_unit": "years",
        "runs_from": "When the notice was queued (queued_at)",
        "legal_basis": "Set by the company, not the policy: evidence that a change of the privacy policy was "
        "announced to the person (policy 7); no statute sets a period.",
        "law_article": "PIPA art. 30(2) (disclosure of changes); PIPA art. 21(1)",
    },
    {
        "key": "vendor_identities",
        "name": "Identifiers of a person at processors (Google Analytics, Meta, Stibee)",
        "period_value": 26,
        "period_unit": "months",
        "runs_from": "The last time the identifier was seen (last_seen_at)",
        "legal_basis": "Set by the company, not the policy: needed to pass an erasure on to the processor; "
        "26 months is Google Analytics' default user-data retention, after which the processor no longer "
        "holds the data either.",
        "law_article": "PIPA art. 26 (entrustment); PIPA art. 21(1)",
    },
    {
        "key": "oauth_grants",
        "name": "YouTube OAuth grants (after revocation)",
        "period_value": 7,
        "period_unit": "days",
        "runs_from": "The revocation of the grant (revoked_at); an active grant is never due",
        "legal_basis": "Set by the company, not the policy: tokens are blanked at revocation; the record of the "
        "grant goes 7 days later, as the YouTube API Services Developer Policies require deleting "
        "authorised data once access is revoked.",
        "law_article": "YouTube API Services Developer Policies; PIPA art. 21(1)",
    },
    {
        "key": "youtube_data",
        "name": "YouTube account statistics (views, likes, comments)",
        "period_value": 30,
        "period_unit": "days",
        "runs_from": "When the data was fetched (fetched_at)",
        "legal_basis": "Set by the company, not the policy: the YouTube API Services Developer Policies "
        "(III.E.4) allow storing API data for at most 30 days unless refreshed (policy 3.1.2.2).",
        "law_article": "YouTube API Services Developer Policies III.E.4",
    },
    {
        "key": "disclosure_records",
        "name": "Records of disclosure to authorities (policy 3.2)",
        "period_value": 5,
        "period_unit": "years",
        "runs_from": "The disclosure (created_at)",
        "legal_basis": "Set by the company, not the policy (to be confirmed by legal): the record of a provision "
        "beyond the original purpose must be kept and managed; 5 years covers the limitation of PIPA "
        "penalties. Kept after an erasure request.",
        "law_article": "PIPA art. 18(4); Enforcement Decree art. 15",
    },
]


def seed(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    for rule in RULES:
        RetentionRule.objects.get_or_create(
            key=rule["key"], defaults={**rule, "action": "delete", "active": True, "set_by_company": True}
        )


class Migration(migrations.Migration):
    dependencies = [("retention", "0002_seed_rules")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
