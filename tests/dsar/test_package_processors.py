"""The access package names every processor that received the person's data, whatever the
legal basis (PIPA art. 35): Google Analytics too, whose basis is legitimate interest."""

from __future__ import annotations

import pytest

from consent.services import grant_consent
from dsar import package
from subjects.models import DataSubject
from thirdparty.models import IdentityKind, VendorName
from thirdparty.services import record_vendor_identity

pytestmark = pytest.mark.django_db


def _names(subject) -> set[str]:
    return {p["name"] for p in package.collect(subject_id=subject.pk, reference="R-1").processors}


def test_google_analytics_is_named_for_a_person_whose_visits_it_measured_without_any_consent(alice):
    record_vendor_identity(
        subject=alice, vendor=VendorName.GOOGLE_ANALYTICS, kind=IdentityKind.CLIENT_ID, value="GA1.2.3"
    )
    names = _names(alice)
    assert "Google Analytics" in names
    # Mail and ads are consent-gated: alice never agreed to marketing, so they never got her.
    assert not {"Stibee", "Meta"} & names


def test_marketing_processors_are_named_once_the_person_consented(alice):
    grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="Ads v1")
    assert {"Stibee", "Meta"} <= _names(alice)


def test_a_processor_that_knows_the_person_by_an_identifier_is_named_even_without_the_consent(alice):
    record_vendor_identity(subject=alice, vendor=VendorName.META, kind=IdentityKind.USER_ID, value="10215550001")
    assert "Meta" in _names(alice)


def test_a_person_with_no_data_in_any_shared_category_gets_no_processor(db):
    nobody = DataSubject.objects.create(name="No One")
    assert _names(nobody) == set()
