"""SA-08 with SA-02 and SA-06: the breach register is the officer's alone, and viewing the people
affected is written to the access log."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from audit.models import AccessLog
from incidents import services
from incidents.models import Incident

AWARE = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Seoul"))


@pytest.fixture
def auditor(db):
    from tests.conftest import _staff

    return _staff("auditor", "auditor")


@pytest.fixture
def incident(officer, alice):
    with time_machine.travel(AWARE, tick=False):
        incident = services.record_incident(
            actor=officer,
            incident=Incident(
                title="Leak",
                discovered_at=AWARE,
                discovery_method="staff",
                aware_at=AWARE,
                description="x",
                data_categories=["identity_contact"],
            ),
        )
        services.save_affected_query(actor=officer, incident=incident, data_categories=["identity_contact"])
    return incident


PAGES = [
    "/admin/incidents/incident/",
    "/admin/incidents/incident/{pk}/change/",
    "/admin/incidents/incident/{pk}/report/",
    "/admin/incidents/incident/{pk}/affected/import/",
    "/admin/incidents/affectedperson/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["support", "auditor"])
def test_support_and_the_auditor_get_403_on_every_incident_page(role, request, incident, admin_login):
    """SA-08: officer only."""
    client = admin_login(request.getfixturevalue(role))
    for page in PAGES:
        assert client.get(page.format(pk=incident.pk)).status_code == 403, page


@pytest.mark.django_db
def test_the_officer_sees_the_pages_and_the_desk_shows_the_countdown(officer, incident, admin_login):
    """SA-08: the desk counts down the notice clock in colour."""
    client = admin_login(officer)
    for page in PAGES:
        assert client.get(page.format(pk=incident.pk)).status_code == 200, page
    with time_machine.travel(AWARE + timedelta(hours=60), tick=False):
        desk = client.get("/admin/").content.decode()
    assert 'id="desk-incidents"' in desk and incident.reference in desk
    assert 'class="soon">12' in desk  # 12 hours left: yellow (within 24)


@pytest.mark.django_db
def test_viewing_the_people_affected_writes_the_access_log(officer, incident, alice, admin_login):
    """SA-08 / SA-06: the list of affected people is logged with the subjects shown."""
    before = AccessLog.objects.count()
    admin_login(officer).get(f"/admin/incidents/affectedperson/?incident__id__exact={incident.pk}")
    row = AccessLog.objects.order_by("-seq").first()
    assert AccessLog.objects.count() == before + 1
    assert row.action == "list" and alice.pk in set(row.subjects.values_list("subject_id", flat=True))


@pytest.mark.django_db
def test_an_import_is_previewed_before_anything_is_saved(officer, incident, alice, admin_login):
    """SA-08: imported people are shown as counts first, added only on confirmation."""
    client = admin_login(officer)
    listed = incident.affected_people.count()
    text = "email,phone\nnew@example.com\n010-1234-5678\nalice@example.com\nnot an address\n"
    page = client.post(f"/admin/incidents/incident/{incident.pk}/affected/import/", {"text": text})
    assert page.status_code == 200 and 'id="import-preview"' in page.content.decode()
    assert incident.affected_people.count() == listed
    good = "new@example.com\n010-1234-5678,en\nalice@example.com\n"
    client.post(f"/admin/incidents/incident/{incident.pk}/affected/import/", {"text": good})
    client.post(f"/admin/incidents/incident/{incident.pk}/affected/import/", {"text": good, "confirmed": "True"})
    assert incident.affected_people.count() == listed + 2  # alice was listed by the query already
