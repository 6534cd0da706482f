"""Staff handling personal data in the admin is written to the access log, one row per page or
operation, with the data subjects resolved through the personal-data registry."""

from __future__ import annotations

from django.urls import reverse

from audit.models import AccessLog
from subjects.models import AdPerformanceRecord, EventAttendance, SocialAccount, VisitLog


def _rows(action=None):
    rows = AccessLog.objects.order_by("seq")
    return list(rows.filter(action=action) if action else rows)


def _subjects(row):
    return sorted(row.subjects.values_list("subject_id", flat=True))


def test_viewing_a_subject_writes_exactly_one_access_log_row_with_the_subject(admin_login, officer, alice):
    client = admin_login(officer)

    response = client.get(reverse("admin:subjects_datasubject_change", args=[alice.pk]), REMOTE_ADDR="192.0.2.10")

    assert response.status_code == 200
    rows = _rows()
    assert len(rows) == 1
    assert (rows[0].action, rows[0].username, rows[0].ip) == ("view", "officer", "192.0.2.10")
    assert _subjects(rows[0]) == [alice.pk]
    assert rows[0].path == f"/admin/subjects/datasubject/{alice.pk}/change/"


def test_a_change_list_logs_the_subjects_on_the_shown_page(admin_login, officer, alice, bob):
    response = admin_login(officer).get(reverse("admin:subjects_visitlog_changelist"))

    assert response.status_code == 200
    [row] = _rows()
    assert row.action == "list"
    assert _subjects(row) == sorted([alice.pk, bob.pk])
    assert row.object_repr == "subjects.VisitLog list (4)"


def test_a_search_term_is_not_written_to_the_log(admin_login, officer, alice):
    admin_login(officer).get(reverse("admin:subjects_datasubject_changelist"), {"q": "alice@example.com"})
    [row] = _rows()
    assert "alice" not in row.path and "alice" not in row.object_repr
    assert _subjects(row) == [alice.pk]


def test_a_record_is_traced_to_its_subject_through_the_registry_path(admin_login, officer, alice):
    account = SocialAccount.objects.create(subject=alice, platform="youtube", handle="@alice")
    ad = AdPerformanceRecord.objects.create(account=account, campaign="spring")
    visit = VisitLog.objects.filter(subject=alice).first()
    client = admin_login(officer)

    client.get(reverse("admin:subjects_adperformancerecord_change", args=[ad.pk]))
    client.get(reverse("admin:subjects_visitlog_change", args=[visit.pk]))

    assert [(_subjects(r), r.action) for r in _rows()] == [([alice.pk], "view"), ([alice.pk], "view")]


def test_changes_creations_and_deletions_are_logged(admin_login, officer, alice):
    client = admin_login(officer)
    url = reverse("admin:subjects_datasubject_change", args=[alice.pk])
    response = client.post(url, {"name": "Alice Park", "email": alice.email, "phone": "", "source": alice.source})
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post(
        reverse("admin:subjects_eventattendance_add"),
        {
            "subject": alice.pk,
            "kind": "event",
            "event_name": "Seminar",
            "event_date": "2026-11-01",
            "registered_at_0": "2026-10-01",
            "registered_at_1": "10:00:00",
            "organisation": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    attendance = EventAttendance.objects.get(subject=alice)
    response = client.post(reverse("admin:subjects_eventattendance_delete", args=[attendance.pk]), {"post": "yes"})
    assert response.status_code == 302

    assert [(r.action, _subjects(r)) for r in _rows()] == [
        ("change", [alice.pk]),
        ("create", [alice.pk]),
        ("delete", [alice.pk]),
    ]


def test_a_bulk_delete_from_the_list_is_one_row_with_every_subject(admin_login, officer, alice, bob):
    attendances = [
        EventAttendance.objects.create(subject=s, event_name="Fair", event_date="2026-10-10") for s in (alice, bob)
    ]
    response = admin_login(officer).post(
        reverse("admin:subjects_eventattendance_changelist"),
        {"action": "delete_selected", "_selected_action": [a.pk for a in attendances], "post": "yes"},
    )
    assert response.status_code == 302
    [row] = _rows("delete")
    assert _subjects(row) == sorted([alice.pk, bob.pk])
    assert not EventAttendance.objects.exists()


def test_pages_without_personal_data_are_not_logged(admin_login, officer, api_key):
    client = admin_login(officer)
    client.get(reverse("admin:index"))
    client.get(reverse("admin:audit_apiclient_changelist"))
    client.get(reverse("admin:audit_accesslog_changelist"))
    assert _rows() == []


def test_a_refused_page_writes_nothing(admin_login, marketer, alice):
    response = admin_login(marketer).get(reverse("admin:subjects_datasubject_change", args=[alice.pk]))
    assert response.status_code == 403
    assert _rows() == []


def test_the_officer_can_find_every_access_to_one_subject(admin_login, officer, alice, bob):
    client = admin_login(officer)
    client.get(reverse("admin:subjects_datasubject_change", args=[alice.pk]))
    client.get(reverse("admin:subjects_datasubject_change", args=[bob.pk]))

    response = client.get(reverse("admin:audit_accesslog_changelist"), {"q": str(alice.pk)})

    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [_rows()[0].pk]


def test_a_delete_refused_by_a_legal_hold_is_not_logged_as_a_deletion(admin_login, officer, alice, bob):
    from subjects.registry import registry

    attendances = [
        EventAttendance.objects.create(subject=s, event_name="Fair", event_date="2026-10-10") for s in (alice, bob)
    ]

    def hold_alice(queryset):
        return queryset.exclude(**{"subject_id": alice.pk}) if queryset.model is EventAttendance else queryset

    registry.add_deletion_guard(hold_alice)
    try:
        admin_login(officer).post(
            reverse("admin:subjects_eventattendance_changelist"),
            {"action": "delete_selected", "_selected_action": [a.pk for a in attendances], "post": "yes"},
        )
    finally:
        registry._guards.remove(hold_alice)

    assert EventAttendance.objects.count() == 2  # the admin refuses the whole selection
    assert _rows("delete") == []
