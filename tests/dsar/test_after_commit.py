"""No network call or email inside the deletion's transaction: Google's revoke endpoint (a real
local HTTP server) and the mail go out only once the erasure has committed, so a rollback leaves
no revoked token and no sent notice behind."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from django.db import DatabaseError, connection

from consent.models import ConsentState
from consent.services import grant_consent
from dsar import fulfilment
from dsar.models import DataSubjectRequest, RequestStatus
from subjects.models import EventAttendance
from thirdparty import services as thirdparty_services
from thirdparty.models import OAuthGrant, Processor

pytestmark = pytest.mark.django_db


@pytest.fixture
def google(settings, httpserver):
    settings.GOOGLE_OAUTH_REVOKE_URL = httpserver.url_for("/revoke")
    settings.VENDOR_HTTP_TIMEOUT_SECONDS = 2
    httpserver.expect_request("/revoke", method="POST").respond_with_data("", status=200)
    return httpserver


@pytest.fixture
def deletion(verified, alice):
    # No processor takes part, so the request closes (and the notice goes) right after the erasure.
    Processor.objects.update(active=False)
    grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="v1")
    EventAttendance.objects.create(subject=alice, event_name="Spring seminar", event_date="2026-04-01")
    thirdparty_services.connect_youtube_grant(
        subject=alice, access_token="ya29.youtube-access", refresh_token="1//youtube-refresh", channel_id="UC1"
    )
    return verified("alice@example.com", "deletion")


@pytest.fixture
def deletes_refused():
    """A real database failure in the middle of the erasure, after the vendor step."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_delete() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'deletes refused'; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_delete BEFORE DELETE ON subjects_eventattendance "
                "FOR EACH ROW EXECUTE FUNCTION refuse_delete()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_delete BEFORE DELETE ON subjects_eventattendance "
                "BEGIN SELECT RAISE(ABORT, 'deletes refused'); END"
            )


def test_an_erasure_that_fails_after_the_vendor_step_revokes_nothing_and_sends_nothing(
    approve, deletion, alice, officer, google, deletes_refused, mailoutbox, committed
):
    mailoutbox.clear()
    with pytest.raises(DatabaseError), committed():
        fulfilment.carry_out_deletion(request=deletion, actor=officer)
        approve(deletion)
    assert google.log == []
    assert mailoutbox == []
    # Everything rolled back: the grant still holds its tokens, the consent stands, the request is open.
    assert OAuthGrant.objects.get(subject=alice).refresh_token == "1//youtube-refresh"
    assert ConsentState.objects.filter(subject=alice, granted=True).exists()
    assert DataSubjectRequest.objects.get(pk=deletion.pk).status == RequestStatus.VERIFIED


def test_a_committed_erasure_revokes_the_grant_at_google_and_tells_the_person(
    approve, deletion, alice, officer, google, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as pending:
        fulfilment.carry_out_deletion(request=deletion, actor=officer)
        approve(deletion)
    # Nothing left the building while the transaction was open.
    assert google.log == [] and mailoutbox == []
    for callback in pending:
        callback()
    assert [parse_qs(request.get_data(as_text=True)) for request, _response in google.log] == [
        {"token": ["1//youtube-refresh"]}
    ]
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    assert DataSubjectRequest.objects.get(pk=deletion.pk).status == RequestStatus.COMPLETED
    assert not OAuthGrant.objects.filter(subject_id=alice.pk, refresh_token="1//youtube-refresh").exists()
