"""Every marketing withdrawal reaches every vendor: whatever door the "no" comes through, Stibee
and Meta each get one suppression job; the opt-out link in marketing mail never expires."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import ApiScope
from consent import services as consent_services
from consent.models import ConsentChannel, ConsentState
from thirdparty.models import Connector, JobKind, JobStatus, VendorErasureJob

from .meta_contract import validate


def _suppression_jobs(subject):
    return VendorErasureJob.objects.filter(subject_id=subject.pk, kind=JobKind.SUPPRESS)


def _connectors(subject) -> list[str]:
    return sorted(_suppression_jobs(subject).values_list("processor__connector", flat=True))


@pytest.fixture
def subscribed(alice):
    consent_services.grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="Ads v1")
    assert _suppression_jobs(alice).count() == 0
    return alice


def _opt_out_token(subject) -> str:
    return re.search(r"/consent/opt-out/([^/]+)/", consent_services.opt_out_link(subject)).group(1)


def _preference_token(subject) -> str:
    return re.search(r"/consent/preferences/([^/]+)/", consent_services.preference_link(subject)).group(1)


@pytest.mark.django_db
def test_a_withdrawal_on_the_preference_page_queues_an_unsubscribe_at_stibee_and_a_removal_at_meta(client, subscribed):
    response = client.post(
        f"/consent/preferences/{_preference_token(subscribed)}/", {"purpose": "marketing", "action": "withdraw"}
    )
    assert response.status_code == 302
    assert _connectors(subscribed) == [Connector.META, Connector.STIBEE]
    assert set(_suppression_jobs(subscribed).values_list("status", flat=True)) == {JobStatus.PENDING}


@pytest.mark.django_db
def test_a_withdrawal_through_the_api_queues_the_same_jobs(client, api_key, subscribed):
    response = client.post(
        f"/api/consent/{subscribed.pk}",
        json.dumps({"purpose": "marketing", "action": "withdraw", "channel": "web_form"}),
        content_type="application/json",
        headers={"X-API-Key": api_key(ApiScope.CONSENT_WRITE)},
    )
    assert response.status_code == 201
    assert _connectors(subscribed) == [Connector.META, Connector.STIBEE]


@pytest.mark.django_db
def test_a_refusal_from_a_person_never_asked_before_is_sent_to_the_vendors_too(alice):
    # An address imported from elsewhere may already be in Stibee or a Meta audience.
    consent_services.refuse_consent(subject=alice, purpose="marketing", channel="customer_service")
    assert _connectors(alice) == [Connector.META, Connector.STIBEE]


@pytest.mark.django_db
def test_withdrawing_refusing_and_withdrawing_again_leaves_one_open_job_per_vendor(subscribed):
    consent_services.withdraw_consent(subject=subscribed, purpose="marketing", channel="preference_page")
    consent_services.grant_consent(subject=subscribed, purpose="marketing", channel="web_form", notice_text="Ads")
    consent_services.withdraw_consent(subject=subscribed, purpose="marketing", channel="customer_service")
    consent_services.refuse_consent(subject=subscribed, purpose="marketing", channel="web_form")
    assert _connectors(subscribed) == [Connector.META, Connector.STIBEE]


@pytest.mark.django_db
def test_a_non_marketing_withdrawal_sends_nothing_to_the_vendors(alice):
    consent_services.grant_consent(subject=alice, purpose="personalised_content", channel="web_form", notice_text="x")
    consent_services.withdraw_consent(subject=alice, purpose="personalised_content", channel="preference_page")
    assert not _suppression_jobs(alice).exists()


@pytest.mark.django_db
def test_the_opt_out_link_still_opts_out_after_91_days_and_queues_the_vendor_jobs(client, subscribed):
    token = _opt_out_token(subscribed)
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        # The preference link of the same age has expired; the opt-out link has not.
        assert client.get(f"/consent/preferences/{_preference_token_at_issue(subscribed)}/").status_code == 410
        page = client.get(f"/consent/opt-out/{token}/")
        assert page.status_code == 200
        assert ConsentState.objects.get(subject=subscribed, purpose__key="marketing").granted, "a GET changes nothing"
        response = client.post(f"/consent/opt-out/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    state = ConsentState.objects.get(subject=subscribed, purpose__key="marketing")
    assert not state.granted and state.channel == ConsentChannel.EMAIL_LINK
    assert _connectors(subscribed) == [Connector.META, Connector.STIBEE]


_issued: dict[int, str] = {}


def _preference_token_at_issue(subject) -> str:
    return _issued[subject.pk]


@pytest.fixture(autouse=True)
def _preference_token_issued_now(request):
    # Issued before the test travels in time, like the opt-out token.
    if "subscribed" in request.fixturenames:
        subject = request.getfixturevalue("subscribed")
        _issued[subject.pk] = _preference_token(subject)
    yield
    _issued.clear()


@pytest.mark.django_db
def test_the_opt_out_link_cannot_be_forged_and_cannot_grant(client, subscribed):
    token = _opt_out_token(subscribed)
    assert client.post(f"/consent/opt-out/{token[:-2]}xx/").status_code == 400
    # A preference-page token is signed for another purpose and is refused here.
    assert client.post(f"/consent/opt-out/{_preference_token(subscribed)}/").status_code == 400
    consent_services.withdraw_consent(subject=subscribed, purpose="marketing", channel="preference_page")
    client.post(f"/consent/opt-out/{token}/")
    assert not ConsentState.objects.get(subject=subscribed, purpose__key="marketing").granted


@pytest.mark.django_db
def test_marketing_mail_carries_the_one_click_opt_out_link(subscribed, mailoutbox, django_capture_on_commit_callbacks):
    from consent.models import ConsentEvent

    event = ConsentEvent.objects.filter(subject=subscribed).latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        consent_services.send_result_notice(event_id=event.pk)
    assert "/consent/opt-out/" in mailoutbox[-1].body


# --- end to end, with the real worker -------------------------------------------------------------


@pytest.fixture
def vendor_env(httpserver, monkeypatch):
    """The worker is another process: it reads the vendor settings from its environment."""
    base = httpserver.url_for("").rstrip("/")
    values = {
        "META_GRAPH_BASE_URL": base,
        "META_API_VERSION": "v26.0",
        "META_ACCESS_TOKEN": "EAAB-meta-secret-token",
        "META_APP_SECRET": "meta-app-secret",
        "META_CUSTOM_AUDIENCE_IDS": "23850000000000001",
        "STIBEE_API_BASE_URL": base + "/v2",
        "STIBEE_API_KEY": "stibee-secret-key",
        "STIBEE_LIST_ID": "4242",
        "VENDOR_HTTP_TIMEOUT_SECONDS": "5",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    httpserver.expect_request("/v26.0/23850000000000001/users", method="DELETE").respond_with_json(
        {"audience_id": "23850000000000001", "session_id": "1", "num_received": 1, "num_invalid_entries": 0}
    )
    httpserver.expect_request("/v2/lists/4242/subscribers/unsubscribe", method="PUT").respond_with_json(
        {"Ok": True, "Value": {"success": ["alice@example.com"], "fail": []}}
    )
    return httpserver


@pytest.mark.worker
def test_a_withdrawal_on_the_preference_page_reaches_stibee_and_meta_through_the_worker(
    vendor_env, celery_worker_process, client, alice
):
    assert os.environ["META_API_VERSION"] == "v26.0"
    consent_services.grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="Ads v1")
    token = _preference_token(alice)

    response = client.post(f"/consent/preferences/{token}/", {"purpose": "marketing", "action": "withdraw"})
    assert response.status_code == 302

    celery_worker_process.wait_for(
        lambda: _suppression_jobs(alice).filter(status=JobStatus.CONFIRMED).count() == 2,
        what="the Stibee and Meta suppression jobs to be confirmed",
    )
    paths = {request.path: request for request, _ in vendor_env.log}
    assert set(paths) == {"/v26.0/23850000000000001/users", "/v2/lists/4242/subscribers/unsubscribe"}
    meta_call = validate(
        paths["/v26.0/23850000000000001/users"], token="EAAB-meta-secret-token", app_secret="meta-app-secret"
    )
    assert len(meta_call["payload"]["data"]) == 1
    stibee_call = paths["/v2/lists/4242/subscribers/unsubscribe"]
    assert stibee_call.headers["AccessToken"] == "stibee-secret-key"
    assert json.loads(stibee_call.get_data()) == ["alice@example.com"]


def test_the_webhook_channel_value_the_hook_skips_is_consents():
    from thirdparty.suppression import PROCESSOR_WEBHOOK_CHANNEL

    assert PROCESSOR_WEBHOOK_CHANNEL == ConsentChannel.PROCESSOR_WEBHOOK


# --- the cookie banner's "no" to marketing --------------------------------------------------------


@pytest.mark.django_db
def test_a_banner_no_to_marketing_is_anonymous_so_it_sends_nothing_to_the_vendors(client, settings, subscribed):
    """The banner carries no identity (a random visitor id in a first-party cookie): its record is
    linked to no person, so there is nobody to unsubscribe at Stibee or remove from a Meta
    audience, and nobody's marketing consent changes. What the "no" stops is the Meta pixel and
    Google's ad signals in that browser (test_banner_browser.py)."""
    from consent import banner
    from consent.models import CookieConsentRecord

    settings.CONSENT_ALLOWED_ORIGINS = ["https://www.pltt.xyz"]
    body = {
        "visitor_id": "0123456789abcdef0123456789abcdef",
        "banner_version": banner.banner_version(),
        "language": "ko",
        "choice": "custom",
        "categories": {"marketing": False, "statistics": True, "preferences": False},
        "gpc": False,
    }
    response = client.post(
        "/api/consent/cookies",
        json.dumps(body),
        content_type="application/json",
        headers={"Origin": "https://www.pltt.xyz"},
    )
    assert response.status_code == 201 and "marketing" not in response.json()["categories"]
    record = CookieConsentRecord.objects.get()
    assert not any(f.is_relation for f in CookieConsentRecord._meta.concrete_fields)  # linked to nobody
    assert record.categories == ["necessary", "statistics"]
    assert not VendorErasureJob.objects.exists()
    assert ConsentState.objects.get(subject=subscribed, purpose__key="marketing").granted
