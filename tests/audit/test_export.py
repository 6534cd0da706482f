"""CSV exports of personal data from the admin ask for a reason first, and are logged with it."""

from __future__ import annotations

import csv
import io

from django.urls import reverse
from django.utils import translation

from audit.models import AccessLog
from subjects.models import DataSubject

CHANGELIST = "admin:subjects_datasubject_changelist"


def _export(client, ids, **extra):
    data = {"action": "export_with_reason", "_selected_action": ids, **extra}
    return client.post(reverse(CHANGELIST), data)


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_choosing_export_asks_for_a_reason_and_exports_nothing_yet(admin_login, officer, alice, bob):
    response = _export(admin_login(officer), [alice.pk, bob.pk])

    assert response.status_code == 200
    assert "reason" in response.context["form"].fields
    assert response.context["row_count"] == 2
    assert not AccessLog.objects.filter(action="export").exists()


def test_an_export_without_a_reason_is_refused(admin_login, officer, alice):
    response = _export(admin_login(officer), [alice.pk], export_reason_submitted="1", reason="   ")

    assert response.status_code == 200
    assert not getattr(response, "streaming", False)
    assert response.context["form"].errors["reason"]
    assert not AccessLog.objects.filter(action="export").exists()


def test_an_export_with_a_reason_streams_the_csv_and_logs_subjects_and_reason(admin_login, officer, alice, bob):
    response = _export(
        admin_login(officer), [alice.pk, bob.pk], export_reason_submitted="1", reason="DSAR R-2026-0001 copy"
    )

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="subjects-datasubject-')
    rows = _csv(response)
    assert rows[0][0] == "id"
    assert [row[0] for row in rows[1:]] == [str(alice.pk), str(bob.pk)]
    assert "alice@example.com" in rows[1]
    [log] = AccessLog.objects.filter(action="export")
    assert log.reason == "DSAR R-2026-0001 copy"
    assert sorted(log.subjects.values_list("subject_id", flat=True)) == sorted([alice.pk, bob.pk])


def test_select_across_exports_every_row_of_the_filtered_list(admin_login, officer, alice, bob):
    response = _export(
        admin_login(officer),
        [alice.pk],
        select_across="1",
        export_reason_submitted="1",
        reason="yearly audit sample",
    )
    assert len(_csv(response)) == 1 + DataSubject.objects.count() == 3
    assert AccessLog.objects.get(action="export").subject_count == 2


def test_a_formula_in_a_cell_is_neutralised(admin_login, officer):
    subject = DataSubject.objects.create(name='=HYPERLINK("http://evil")', source="customer_service")
    rows = _csv(_export(admin_login(officer), [subject.pk], export_reason_submitted="1", reason="checking a row"))
    assert rows[1][1].startswith("'=")


def test_customer_support_cannot_export_in_bulk(admin_login, support, alice):
    client = admin_login(support)
    changelist = client.get(reverse(CHANGELIST))
    assert changelist.status_code == 200
    assert "export_with_reason" not in changelist.content.decode()

    response = _export(client, [alice.pk], export_reason_submitted="1", reason="I just want it")

    assert not getattr(response, "streaming", False)
    assert not AccessLog.objects.filter(action="export").exists()


def test_another_apps_admin_gets_the_export_through_the_mixin(rf, officer, support):
    from django.contrib import admin

    from audit.models import AccessRightsLog
    from subjects.admin_logging import ExportWithReasonMixin, export_csv

    class RightsExportAdmin(ExportWithReasonMixin, admin.ModelAdmin):
        export_fields = ("username", "change")

    model_admin = RightsExportAdmin(AccessRightsLog, admin.site)
    request = rf.get("/admin/audit/accessrightslog/")
    request.user = officer
    assert "export_with_reason" in model_admin.get_actions(request)
    request.user = support
    assert "export_with_reason" not in model_admin.get_actions(request)

    request = rf.post("/admin/audit/accessrightslog/")
    request.user = officer
    with translation.override("en"):
        queryset = AccessRightsLog.objects.filter(username="support")
        rows = _csv(export_csv(model_admin, request, queryset, reason="audit"))
    assert rows[0] == ["id", "account", "change"]
    assert {row[1] for row in rows[1:]} == {"support"}
    assert AccessLog.objects.get(action="export").subject_count == 0


def test_the_csv_writes_seoul_time_and_labels_not_internal_codes(admin_login, officer, alice):
    from datetime import UTC, datetime

    DataSubject.objects.filter(pk=alice.pk).update(created_at=datetime(2026, 9, 1, 15, 30, tzinfo=UTC))
    client = admin_login(officer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    rows = _csv(_export(client, [alice.pk], export_reason_submitted="1", reason="checking the columns"))
    header, row = rows[0], rows[1]
    cells = dict(zip(header, row, strict=True))
    assert "2026-09-02 00:30:00 +09:00" in row
    source = DataSubject._meta.get_field("source")
    assert cells[str(source.verbose_name)] == str(dict(source.flatchoices)["customer_service"])
    assert "customer_service" not in row
