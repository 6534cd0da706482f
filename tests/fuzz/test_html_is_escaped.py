"""HTML typed by a person is shown as text on every page that shows it, in the admin too."""

from __future__ import annotations

import pytest

from dsar import services as dsar_services
from subjects.models import CollectionSource, DataSubject, Inquiry

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>alert("pwned")</script><img src=x onerror=alert(2)>'


@pytest.fixture
def mallory(db):
    subject = DataSubject.objects.create(
        name=PAYLOAD, email="mallory@example.com", phone=PAYLOAD[:40], source=CollectionSource.CUSTOMER_SERVICE
    )
    Inquiry.objects.create(subject=subject, channel="web", kind="complaint", body=PAYLOAD)
    return subject


def assert_escaped(page: str) -> None:
    assert "<script>alert(" not in page
    assert "<img src=x onerror" not in page


def test_admin_pages_escape_what_a_person_typed(admin_login, officer, mallory):
    client = admin_login(officer)
    inquiry = Inquiry.objects.get(subject=mallory)
    shows_the_payload = {
        "/admin/subjects/datasubject/": True,
        f"/admin/subjects/datasubject/{mallory.pk}/change/": True,
        "/admin/subjects/inquiry/": True,  # names the person (display name or masked email)
        f"/admin/subjects/inquiry/{inquiry.pk}/change/": True,
    }
    for url, shown in shows_the_payload.items():
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert ("&lt;script&gt;" in page) == shown, url
        assert_escaped(page)


def test_a_request_from_a_person_with_html_in_their_name_is_escaped_for_staff(admin_login, officer):
    request = dsar_services.record_staff_request(
        actor=officer, channel="email", request_type="access", name=PAYLOAD, details=PAYLOAD
    )
    client = admin_login(officer)
    for url in ("/admin/dsar/datasubjectrequest/", f"/admin/dsar/datasubjectrequest/{request.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content.decode())
