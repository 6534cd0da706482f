"""Incidents for the notice and posting tests, made with the ORM (the register's own services are
tested in their files)."""

from __future__ import annotations

from datetime import datetime, timedelta

from incidents.models import AffectedPerson, AffectedSource, Incident
from subjects.models import CollectionSource, DataSubject

_counter = iter(range(1, 10_000))


def make_incident(*, aware_at: datetime, **fields) -> Incident:
    defaults = {
        "reference": f"INC-TEST-{next(_counter):04d}",
        "title": "Misconfigured export bucket",
        "discovered_at": aware_at - timedelta(hours=1),
        "discovery_method": "monitoring",
        "aware_at": aware_at,
        "occurred_at": aware_at - timedelta(days=2),
        "description": "An export file was readable from outside through a misconfigured storage bucket.",
        "data_categories": ["identity_contact"],
        "leaked_items": "name, email address, phone number",
        "containment_measures": "The bucket was closed and the file deleted on the day we learnt of it.",
        "remedial_measures": "Access to exports now needs a signed, expiring link.",
        "what_person_can_do_ko": "출처가 불분명한 메일의 링크를 누르지 마세요.",
        "what_person_can_do_en": "Do not click links in unexpected mail that claims to come from us.",
    }
    defaults.update(fields)
    return Incident.objects.create(**defaults)


def add_people(incident: Incident, *, with_email: int = 0, phone_only: int = 0, unreachable: int = 0, english: int = 0):
    """Subjects with an email (the first `english` of them English-speaking), imported phone
    numbers, and subjects with neither."""
    subjects = DataSubject.objects.bulk_create(
        [
            DataSubject(name="", email=f"p{incident.pk}-{i}@example.com", source=CollectionSource.CUSTOMER_SERVICE)
            for i in range(with_email)
        ]
        + [DataSubject(name="", source=CollectionSource.CUSTOMER_SERVICE) for _ in range(unreachable)]
    )
    people = [
        AffectedPerson(incident=incident, subject=s, source=AffectedSource.QUERY, language="en" if i < english else "")
        for i, s in enumerate(subjects)
    ]
    people += [
        AffectedPerson(incident=incident, phone=f"010-9{incident.pk:03d}-{i:04d}", source=AffectedSource.IMPORT)
        for i in range(phone_only)
    ]
    AffectedPerson.objects.bulk_create(people)
