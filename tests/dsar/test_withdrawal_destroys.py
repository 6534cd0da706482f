"""DSAR-07 (PIPA art. 37(1), (4)): withdrawing consent destroys without delay the data collected
solely on that consent, unless staff record a ground of art. 37(2) for keeping it; the rest of the
person's data stays."""

from __future__ import annotations

import pytest
from django.test import TestCase

from consent.services import grant_consent
from dsar import fulfilment, jobs
from dsar.models import DataSubjectRequest, EventKind, RequestStatus
from retention.models import DestructionRun
from subjects.models import VisitLog
from thirdparty.models import OAuthGrant, VendorErasureJob, VendorIdentity, YouTubeStatistics
from thirdparty.services import close_job_manually, connect_youtube_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected_alice(alice):
    """Alice with a YouTube connection (integration consent) and a Meta id (marketing consent)."""
    grant_consent(subject=alice, purpose="marketing", channel="web_form")
    grant_consent(subject=alice, purpose="third_party_integration", channel="web_form")
    grant = connect_youtube_grant(subject=alice, access_token="", channel_id="UC123")
    YouTubeStatistics.objects.create(grant=grant, resource="channel", resource_id="UC123", view_count=10)
    VendorIdentity.objects.create(subject=alice, vendor="meta", kind="user_id", value="meta-1")
    VendorIdentity.objects.create(subject=alice, vendor="google_analytics", kind="client_id", value="GA1.1")
    return alice


def close_after_processors(request, officer):
    for job in VendorErasureJob.objects.filter(reference=request.reference):
        close_job_manually(job=job, user=officer, note="confirmed by the processor")
    with TestCase.captureOnCommitCallbacks(execute=True):
        jobs.close_dsar_requests()
    return DataSubjectRequest.objects.get(pk=request.pk)


def test_withdrawal_destroys_the_data_collected_only_on_the_withdrawn_consents(
    verified, connected_alice, officer, mailoutbox
):
    """DSAR-07: the YouTube connection and its statistics (integration consent) and Meta's id
    (marketing consent) are destroyed; visits and the GA cookie id, on other bases, stay."""
    alice = connected_alice
    visits = VisitLog.objects.filter(subject=alice).count()
    request = verified("alice@example.com", "withdrawal")
    DataSubjectRequest.objects.filter(pk=request.pk).update(language="en")
    shown = {row["model"]: row["rows"] for row in fulfilment.consent_only_data(request)}
    assert shown == {"thirdparty.YouTubeStatistics": 1, "thirdparty.OAuthGrant": 1, "thirdparty.VendorIdentity": 1}

    fulfilment.withdraw_consents(request=request, actor=officer)

    assert not OAuthGrant.objects.filter(subject=alice).exists()
    assert not YouTubeStatistics.objects.exists()
    assert list(VendorIdentity.objects.filter(subject=alice).values_list("vendor", flat=True)) == ["google_analytics"]
    assert VisitLog.objects.filter(subject=alice).count() == visits
    # Meta was still told to suppress the person: its job kept the id it needs.
    assert VendorErasureJob.objects.filter(reference=request.reference, kind="suppress").exists()
    run = DestructionRun.objects.get(reference=request.reference)
    assert run.counts["thirdparty.OAuthGrant"]["erased"] == 1
    mailoutbox.clear()
    request = close_after_processors(request, officer)
    assert request.status == RequestStatus.COMPLETED
    body = mailoutbox[0].body
    assert "Destroyed, as it was collected only on those consents" in body
    assert "YouTube" in body or "grant" in body.lower()


def test_data_with_another_recorded_basis_is_kept_and_the_notice_says_why(
    verified, connected_alice, officer, mailoutbox
):
    """DSAR-07: staff record a PIPA art. 37(2) ground to keep a dataset; anything else is refused."""
    alice = connected_alice
    request = verified("alice@example.com", "withdrawal")
    DataSubjectRequest.objects.filter(pk=request.pk).update(language="en")
    with pytest.raises(fulfilment.RequestError, match="37"):
        fulfilment.withdraw_consents(request=request, actor=officer, keep={"thirdparty.VendorIdentity": "35-4-1"})
    assert VendorIdentity.objects.filter(subject=alice, vendor="meta").exists()

    fulfilment.withdraw_consents(request=request, actor=officer, keep={"thirdparty.VendorIdentity": "37-2-1"})

    assert VendorIdentity.objects.filter(subject=alice, vendor="meta").exists()
    assert not OAuthGrant.objects.filter(subject=alice).exists()
    request.refresh_from_db()
    assert request.events.get(kind=EventKind.ERASED).data["kept_on"] == {"thirdparty.VendorIdentity": "37-2-1"}
    mailoutbox.clear()
    close_after_processors(request, officer)
    body = mailoutbox[0].body
    assert "Kept, and why" in body and "PIPA art. 37(2) 1" in body and "How to object" in body


def test_the_workflow_page_shows_staff_what_a_withdrawal_destroys(admin_login, verified, connected_alice, officer):
    """DSAR-07: staff see each consent-only dataset before acting, and keep one only with a ground."""
    request = verified("alice@example.com", "withdrawal")
    client = admin_login(officer)
    url = f"/admin/dsar/datasubjectrequest/{request.pk}/workflow/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'value="thirdparty.OAuthGrant"' in page and 'value="thirdparty.VendorIdentity"' in page
    response = client.post(
        url,
        {"action": "withdraw_consents", "withdraw_consents-keep": ["thirdparty.OAuthGrant"]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert b"Choose the ground" in response.content
    assert OAuthGrant.objects.filter(subject=connected_alice).exists()
    response = client.post(
        url,
        {
            "action": "withdraw_consents",
            "withdraw_consents-keep": ["thirdparty.OAuthGrant"],
            "withdraw_consents-ground": "37-2-4",
            "confirmed": "yes",
        },
    )
    assert response.status_code == 302
    assert OAuthGrant.objects.filter(subject=connected_alice).exists()
    assert not VendorIdentity.objects.filter(subject=connected_alice, vendor="meta").exists()
