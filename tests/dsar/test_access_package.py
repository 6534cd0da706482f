from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone, translation

from audit.models import AccessLog
from audit.services import accesses_of_subject
from consent.models import ConsentAction
from consent.services import grant_consent, withdraw_consent
from dsar import jobs, services
from dsar.models import DataSubjectRequest, EventKind, RequestStatus

from .conftest import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_with_consents(alice):
    grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="Marketing notice v1")
    withdraw_consent(subject=alice, purpose="marketing", channel="preference_page")
    return alice


@pytest.fixture
def built(verified, alice_with_consents, bob, officer):
    request = verified("alice@example.com")
    services.build_access_package(request=request, actor=officer)
    return DataSubjectRequest.objects.get(pk=request.pk)


def zip_of(request) -> zipfile.ZipFile:
    with request.package_file.open("rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def all_text(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())


def test_the_package_holds_every_registered_record_of_the_person_and_nothing_of_anyone_else(built, bob):
    archive = zip_of(built)
    names = archive.namelist()
    assert "summary.html" in names and "processors.json" in names and "retention.json" in names
    assert "data/device_usage.json" in names and "data/device_usage/subjects_visitlog.csv" in names
    usage = json.loads(archive.read("data/device_usage.json"))
    assert len(usage["records"]["subjects.VisitLog"]["rows"]) == 3
    service = json.loads(archive.read("data/customer_service.json"))
    bodies = {row["body"] for row in service["records"]["subjects.Inquiry"]["rows"]}
    assert bodies == {"Where is my order?", "The product arrived broken."}
    consent = json.loads(archive.read("data/consent_records.json"))
    actions = [row["action"] for row in consent["records"]["consent.ConsentEvent"]["rows"]]
    with translation.override(built.language):
        granted_label, withdrawn_label = str(ConsentAction.GRANTED.label), str(ConsentAction.WITHDRAWN.label)
    assert sorted(actions) == sorted([granted_label, withdrawn_label])
    granted = [r for r in consent["records"]["consent.ConsentEvent"]["rows"] if r["action"] == granted_label]
    assert granted[0]["notice_sha256"]  # the receipt: a hash of the notice text shown
    identity = json.loads(archive.read("data/identity_contact.json"))
    assert identity["records"]["subjects.DataSubject"]["rows"][0]["email"] == "alice@example.com"
    # Bob's email, IP and visited page appear nowhere, in any file.
    text = all_text(archive)
    assert "alice@example.com" in text and "203.0.113.7" in text
    for trace in ("bob@example.com", "Bob Lee", "198.51.100.9", "/pricing"):
        assert trace not in text


def test_the_package_states_retention_per_category_and_the_request_itself(built):
    archive = zip_of(built)
    retention = json.loads(archive.read("retention.json"))
    assert retention["subjects.VisitLog"]["rules"][0]["rule"] == "visit_logs"
    assert retention["subjects.VisitLog"]["rules"][0]["period"]  # from the RetentionRule row
    requests = json.loads(archive.read("data/request_records.json"))["records"]["dsar.DataSubjectRequest"]["rows"]
    assert [row["reference"] for row in requests] == [built.reference]


def test_the_summary_is_readable_html_in_the_requesters_language(built):
    summary = zip_of(built).read("summary.html").decode()
    assert summary.startswith("<!DOCTYPE html>") and 'lang="ko"' in summary
    assert built.reference in summary
    assert "Where is my order?" in summary


def test_csv_cells_cannot_run_as_spreadsheet_formulas(verified, alice, officer):
    from subjects.models import Inquiry

    Inquiry.objects.create(subject=alice, channel="web", kind="question", body='=HYPERLINK("http://x")')
    request = verified("alice@example.com")
    services.build_access_package(request=request, actor=officer)
    request.refresh_from_db()
    csv_text = zip_of(request).read("data/customer_service/subjects_inquiry.csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text


def test_release_needs_a_review_of_this_very_build(built, officer, admin_login):
    with pytest.raises(services.RequestError, match="review"):
        services.release_access_package(request=built, actor=officer)
    response = admin_login(officer).get(f"/admin/dsar/datasubjectrequest/{built.pk}/file/package/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    log = AccessLog.objects.filter(action="download").latest("seq")
    assert (log.username, log.reason) == ("officer", f"DSAR {built.reference}")
    assert accesses_of_subject(built.subject_id).filter(pk=log.pk).exists()
    services.release_access_package(request=built, actor=officer)
    assert built.events.filter(kind=EventKind.APPROVAL_REQUESTED).exists()


@pytest.fixture
def released(built, officer, mailoutbox, committed, approve):
    services.review_package(request=built, actor=officer, ip="192.0.2.10")
    mailoutbox.clear()
    with committed():
        services.release_access_package(request=built, actor=officer)
        approve(built)
    return DataSubjectRequest.objects.get(pk=built.pk)


def test_the_subject_downloads_through_a_signed_link_and_each_download_is_logged(released, client, mailoutbox):
    assert released.status == RequestStatus.COMPLETED and released.closed_at is not None
    path = link_in(mailoutbox[0])
    assert path.startswith("/dsar/download/")
    # The link is withheld from the stored copy of the notice: staff cannot download as the subject.
    stored = released.events.filter(kind=EventKind.NOTICE_SENT).latest("at").note
    assert path not in stored and "[link withheld]" in stored
    for expected in (1, 2):
        response = client.get(path, REMOTE_ADDR="203.0.113.50")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        assert response["Content-Disposition"] == f'attachment; filename="{released.reference}.zip"'
        archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
        assert "summary.html" in archive.namelist()
        released.refresh_from_db()
        assert released.download_count == expected
    logs = AccessLog.objects.filter(action="download", user_id__isnull=True)
    assert logs.count() == 2
    assert {log.reason for log in logs} == {f"DSAR {released.reference}"}
    assert {str(log.ip) for log in logs} == {"203.0.113.50"}


def test_the_download_link_expires_after_seven_days(released, client, mailoutbox):
    path = link_in(mailoutbox[0])
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert b"download link has expired" in response.content


def test_a_forged_download_link_gets_a_clear_page(released, client):
    response = client.get("/dsar/download/DSAR-XXXX.abc:forged:sig/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert b"This link is not valid" in response.content


def test_expired_package_files_are_deleted_by_the_sweep(released, settings):
    path = settings.DSAR_PRIVATE_ROOT / released.package_file.name
    assert path.exists()
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert jobs.expire_dsar_requests().packages_deleted == 1
    assert not path.exists()
    released.refresh_from_db()
    assert not released.package_file


def test_an_access_request_for_someone_we_do_not_know_is_answered_no_data(verified, officer, mailoutbox, committed):
    request = verified("stranger@example.com")
    with pytest.raises(services.RequestError, match="No data subject"):
        services.build_access_package(request=request, actor=officer)
    mailoutbox.clear()
    with committed():
        services.complete_request(request=request, actor=officer, no_data=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED
    assert mailoutbox[0].to == ["stranger@example.com"]
