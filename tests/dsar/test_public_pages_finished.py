"""The public request pages lead somewhere: the status page offers the released package, a used
confirmation link leads to the status page, and an upload over the limit keeps what was typed."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AccessLog
from dsar import services
from dsar.models import DataSubjectRequest, RequestType

from .conftest import link_in

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n"


@pytest.fixture
def released(verified, alice, officer, mailoutbox, committed, approve):
    request = verified("alice@example.com")
    services.build_access_package(request=request, actor=officer)
    request = DataSubjectRequest.objects.get(pk=request.pk)
    services.review_package(request=request, actor=officer, ip="192.0.2.10")
    with committed():
        services.release_access_package(request=request, actor=officer)
        approve(request)
    return DataSubjectRequest.objects.get(pk=request.pk)


def test_the_status_page_of_a_released_package_offers_the_download(released, client):
    page = client.get(services.status_path(released), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'id="download-package"' in html and "downloads left" in html
    response = client.post(f"{services.status_path(released)}download/", REMOTE_ADDR="203.0.113.50")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist()
    released.refresh_from_db()
    assert released.download_count == 1
    assert AccessLog.objects.filter(action="download", user_id__isnull=True).count() == 1


def test_the_status_page_does_not_open_a_package_sent_to_another_address(released, client):
    # The officer sent the link to the person's registered address, not to the requester's.
    released.events.filter(kind="package_released").update(data={"to_requester": False})
    page = client.get(services.status_path(released), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="download-package"' not in page and "address we hold for the person" in page
    response = client.post(f"{services.status_path(released)}download/")
    assert response.status_code == 404


def test_a_status_download_needs_a_post(released, client):
    assert client.get(f"{services.status_path(released)}download/").status_code == 405


def test_a_used_confirmation_link_leads_to_the_status_page(submit, client, mailoutbox):
    request = submit("alice@example.com")
    path = link_in(mailoutbox[-1])
    assert client.post(path).status_code == 200
    for again in (client.get(path, HTTP_ACCEPT_LANGUAGE="en"), client.post(path, HTTP_ACCEPT_LANGUAGE="en")):
        assert again.status_code == 410
        html = again.content.decode()
        assert f'href="{services.status_path(request)}"' in html and "See your request" in html


def _form(**extra) -> dict:
    return {
        "request_type": RequestType.ACCESS,
        "name": "Dan Park's friend",
        "email": "erin@example.com",
        "phone": "010-5555-6666",
        "details": "Please send everything you hold.",
        "is_agent": "on",
        "agent_name": "Dan Park",
        "agent_email": "dan@example.com",
        "agent_relationship": "lawyer",
        **extra,
    }


@pytest.mark.parametrize("size", [2_000, 3_500])  # just over the limit, and well over it
def test_an_upload_over_the_limit_keeps_every_other_field(client, settings, size):
    settings.DSAR_UPLOAD_MAX_BYTES = 1_000
    data = _form(power_of_attorney=SimpleUploadedFile("poa.pdf", PDF + b"0" * size, "application/pdf"))
    response = client.post("/dsar/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    for value in ("erin@example.com", "010-5555-6666", "Please send everything you hold.", "Dan Park", "lawyer"):
        assert value in html
    assert "Choose a smaller file; everything else you entered is kept." in html
    assert "1000\xa0bytes" in html
    assert not DataSubjectRequest.objects.exists()


def test_a_korean_upload_error_is_in_korean(client, settings):
    settings.DSAR_UPLOAD_MAX_BYTES = 1_000
    data = _form(power_of_attorney=SimpleUploadedFile("poa.pdf", PDF + b"0" * 3_000, "application/pdf"))
    html = client.post("/dsar/", data, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "입력하신 다른 내용은 그대로 있습니다" in html and "erin@example.com" in html


def test_the_form_still_needs_its_csrf_token(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/dsar/", _form(is_agent=""))
    assert response.status_code == 403 and not DataSubjectRequest.objects.exists()
