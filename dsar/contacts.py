"""Who a requester may turn to: the privacy officer (policy 6) and the institutions of policy 6.2.

dsar must not import the policy app (a sibling in the top layer), so the records are read through
`apps.get_model`; when the policy app or its rows are missing, the fallback below (the policy text
of 2025-01-02 and REQUIREMENTS.md section G) is used so a notice never goes out without them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import DatabaseError
from django.utils.translation import get_language


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    url: str = ""
    email: str = ""


FALLBACK_INSTITUTIONS = {
    "ko": [
        Contact("개인정보침해 신고센터 (한국인터넷진흥원)", "(국번없이) 118", "https://privacy.kisa.or.kr"),
        Contact("개인정보 분쟁조정위원회", "1833-6972", "https://www.kopico.go.kr"),
        Contact("대검찰청 사이버수사과", "(국번없이) 1301", "https://www.spo.go.kr"),
        Contact("경찰청 사이버수사국", "(국번없이) 182", "https://ecrm.police.go.kr"),
    ],
    "en": [
        Contact(
            "Personal Information Infringement Report Center (KISA)", "118 (no area code)", "https://privacy.kisa.or.kr"
        ),
        Contact("Personal Information Dispute Mediation Committee", "1833-6972", "https://www.kopico.go.kr"),
        Contact("Supreme Prosecutors' Office, Cyber Investigation", "1301 (no area code)", "https://www.spo.go.kr"),
        Contact("Korean National Police Agency, Cyber Bureau", "182 (no area code)", "https://ecrm.police.go.kr"),
    ],
}
FALLBACK_OFFICER = {
    "ko": Contact("이종근 (대표이사)", "02-568-9181", email="hello@pltt.xyz"),
    "en": Contact("Jongkeun Lee (CEO)", "02-568-9181", email="hello@pltt.xyz"),
}


def _language(language: str | None) -> str:
    return "en" if (language or get_language() or "ko").startswith("en") else "ko"


def _model(name: str):
    try:
        return apps.get_model("policy", name)
    except LookupError:
        return None


def complaint_institutions(language: str | None = None) -> list[Contact]:
    lang = _language(language)
    model = _model("ComplaintInstitution")
    if model is not None:
        try:
            rows = list(model._default_manager.filter(active=True).order_by("sort_order", "pk"))
        except DatabaseError:  # the table may not exist yet on a half-migrated database
            rows = []
        if rows:
            return [
                Contact(getattr(r, f"name_{lang}", "") or r.name_en or r.name_ko, r.phone, getattr(r, "url", ""))
                for r in rows
            ]
    return FALLBACK_INSTITUTIONS[lang]


def privacy_officer(language: str | None = None) -> Contact:
    lang = _language(language)
    model = _model("PrivacyOfficer")
    if model is not None:
        try:
            row = model._default_manager.order_by("sort_order", "pk").first()
        except DatabaseError:
            row = None
        if row is not None:
            name = getattr(row, f"name_{lang}", "") or row.name_en
            position = getattr(row, f"position_{lang}", "") or row.position_en
            return Contact(f"{name} ({position})" if position else name, row.phone, email=row.email)
    return FALLBACK_OFFICER[lang]
