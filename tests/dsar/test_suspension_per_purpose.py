"""DSAR-06 (PIPA art. 37(1), (4)): a person may suspend all or part of the processing. A suspension
of some purposes stops only those, and the data collected solely for them is destroyed without
delay unless a ground of art. 37(2) is recorded."""

from __future__ import annotations

import pytest

from consent.models import ConsentState
from consent.services import grant_consent, may_process
from dsar import fulfilment
from dsar.models import DataSubjectRequest, EventKind
from subjects.models import DataSubject, VisitLog
from thirdparty.models import OAuthGrant, VendorIdentity
from thirdparty.services import connect_youtube_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected_alice(alice):
    grant_consent(subject=alice, purpose="marketing", channel="web_form")
    grant_consent(subject=alice, purpose="third_party_integration", channel="web_form")
    connect_youtube_grant(subject=alice, access_token="", channel_id="UC123")
    VendorIdentity.objects.create(subject=alice, vendor="meta", kind="user_id", value="meta-1")
    return alice


def test_suspending_one_purpose_stops_only_it_and_destroys_its_data(verified, connected_alice, officer):
    """DSAR-06: the integration is suspended (its consent withdrawn, YouTube data destroyed);
    marketing and the rest go on, and the person is not restricted as a whole."""
    alice = connected_alice
    visits = VisitLog.objects.filter(subject=alice).count()
    request = verified("alice@example.com", "suspension")
    fulfilment.suspend_processing(request=request, actor=officer, purposes=["third_party_integration"])

    assert not may_process(subject=alice, purpose="third_party_integration")
    assert ConsentState.objects.get(subject=alice, purpose__key="marketing").granted
    assert may_process(subject=alice, purpose="service_improvement")
    assert DataSubject.objects.get(pk=alice.pk).processing_restricted is False
    assert not OAuthGrant.objects.filter(subject=alice).exists()
    assert VendorIdentity.objects.filter(subject=alice, vendor="meta").exists()
    assert VisitLog.objects.filter(subject=alice).count() == visits
    request.refresh_from_db()
    assert request.events.get(kind=EventKind.RESTRICTED).data["purposes"] == ["third_party_integration"]


def test_a_purpose_without_consent_can_be_suspended_too(verified, connected_alice, officer):
    """DSAR-06: suspension is not only withdrawal: a legitimate-interest purpose stops as well."""
    request = verified("alice@example.com", "suspension")
    fulfilment.suspend_processing(request=request, actor=officer, purposes=["service_improvement"])
    assert not may_process(subject=connected_alice, purpose="service_improvement")
    assert may_process(subject=connected_alice, purpose="security")
    assert OAuthGrant.objects.filter(subject=connected_alice).exists()


def test_suspended_data_is_kept_only_on_a_recorded_ground_of_article_37_2(verified, connected_alice, officer):
    """DSAR-06: keeping the suspended data needs a ground of art. 37(2); the whole-person
    suspension destroys every consent-only dataset not kept."""
    request = verified("alice@example.com", "suspension")
    with pytest.raises(fulfilment.RequestError, match="37"):
        fulfilment.suspend_processing(request=request, actor=officer, keep={"thirdparty.OAuthGrant": "36-1"})
    fulfilment.suspend_processing(request=request, actor=officer, keep={"thirdparty.OAuthGrant": "37-2-4"})
    assert DataSubject.objects.get(pk=connected_alice.pk).processing_restricted is True
    assert OAuthGrant.objects.filter(subject=connected_alice).exists()
    assert not VendorIdentity.objects.filter(subject=connected_alice, vendor="meta").exists()
    kept = DataSubjectRequest.objects.get(pk=request.pk).outcome["consent_data"]["models"]
    assert any(m["model"] == "thirdparty.OAuthGrant" and m["kept"][0]["ground"] == "37-2-4" for m in kept)
