"""The staff roles (SA-02a: least privilege, differentiated by role) as a table.

Each role is a Django group whose permissions are exactly those matching its patterns
(`fnmatch` over "app_label.codename"). `services.sync_roles()` applies the table after every
migrate, so a permission another app adds later is picked up by the next migrate, and a
permission granted to a role by hand in the admin is taken back (and both show in the rights
log). To change a role, change this table.
"""

from __future__ import annotations

PRIVACY_OFFICER = "privacy officer"
CUSTOMER_SUPPORT = "customer support"
MARKETING = "marketing"
AUDITOR = "auditor"

# (include patterns, exclude patterns). Exclusions win.
ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # Everything: approves destruction runs, disclosures and policy versions, signs off reviews.
    PRIVACY_OFFICER: (("*.*",), ()),
    # Handles requests and inquiries, sees subjects; no bulk export, no deletion outside a DSAR.
    CUSTOMER_SUPPORT: (
        (
            "dsar.*",
            "subjects.view_*",
            "subjects.change_datasubject",
            "subjects.change_inquiry",
            "consent.view_*",
        ),
        (),
    ),
    # Consent statistics and audiences only: no raw personal data, so no subjects permission.
    MARKETING: (
        ("consent.view_purpose", "consent.view_cookiecategory", "consent.*statistic*", "consent.*audience*"),
        ("subjects.*", "consent.*consentevent*", "consent.*consentrecord*"),
    ),
    # Read-only on the logs and the registers (processors, disclosures, retention, destruction).
    AUDITOR: (
        (
            "audit.view_accesslog",
            "audit.view_accesslogsubject",
            "audit.view_accessrightslog",
            "audit.view_accessreview",
            "audit.view_accessreviewfinding",
            "retention.view_*",
            "thirdparty.view_*",
            "policy.view_*",
            "admin.view_logentry",
            "axes.view_*",
        ),
        (),
    ),
}

# Never granted through a role other than the officer's, whatever the patterns say.
OFFICER_ONLY = (
    "audit.export_personal_data",
    "audit.sign_off_accessreview",
    "retention.approve_destructionrun",
    "thirdparty.approve_disclosure",
    "policy.publish_policyversion",
    "dsar.oversee_requests",
    # Acts that cannot be undone or that let data be destroyed or leave (issue 15).
    "retention.release_legalhold",
    "retention.run_destruction",
    "thirdparty.confirm_erasure_receipt",
    "thirdparty.revoke_oauthgrant",
    "thirdparty.mark_disclosed",
    # Breaches (SA-08): the incident register and the people affected are the officer's alone.
    "incidents.handle_incident",
)
