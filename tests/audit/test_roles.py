"""Roles are groups with least-privilege permissions (SA-02a); each reaches what it should."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from audit import roles
from audit.models import AccessRightsLog
from audit.services import sync_roles
from subjects.models import DataSubject

PO, CS, MK, AU = roles.PRIVACY_OFFICER, roles.CUSTOMER_SUPPORT, roles.MARKETING, roles.AUDITOR

# (model label, page, {role: HTTP status}). Add a line per admin page; pages of apps that are not
# installed (or not in the admin) yet are skipped.
PAGES = [
    ("subjects.DataSubject", "changelist", {PO: 200, CS: 200, MK: 403, AU: 403}),
    ("subjects.DataSubject", "change", {PO: 200, CS: 200, MK: 403, AU: 403}),
    ("subjects.VisitLog", "changelist", {PO: 200, CS: 200, MK: 403, AU: 403}),
    ("subjects.Inquiry", "changelist", {PO: 200, CS: 200, MK: 403, AU: 403}),
    ("subjects.DataSubject", "delete", {PO: 200, CS: 403, MK: 403, AU: 403}),
    ("audit.AccessLog", "changelist", {PO: 200, CS: 403, MK: 403, AU: 200}),
    ("audit.AccessRightsLog", "changelist", {PO: 200, CS: 403, MK: 403, AU: 200}),
    ("audit.AccessReview", "changelist", {PO: 200, CS: 403, MK: 403, AU: 200}),
    ("audit.ApiClient", "changelist", {PO: 200, CS: 403, MK: 403, AU: 403}),
    ("auth.User", "changelist", {PO: 200, CS: 403, MK: 403, AU: 403}),
    ("auth.Group", "changelist", {PO: 200, CS: 403, MK: 403, AU: 403}),
    ("otp_totp.TOTPDevice", "changelist", {PO: 200, CS: 403, MK: 403, AU: 403}),
    ("axes.AccessAttempt", "changelist", {PO: 200, CS: 403, MK: 403, AU: 200}),
    ("consent.Purpose", "changelist", {PO: 200, CS: 200, MK: 200, AU: 403}),
    ("consent.ConsentEvent", "changelist", {PO: 200, CS: 200, MK: 403, AU: 403}),
    ("dsar.DataSubjectRequest", "changelist", {PO: 200, CS: 200, MK: 403, AU: 403}),
    ("retention.RetentionRule", "changelist", {PO: 200, CS: 403, MK: 403, AU: 200}),
    ("retention.DestructionRun", "changelist", {PO: 200, CS: 403, MK: 403, AU: 200}),
    ("thirdparty.Processor", "changelist", {PO: 200, CS: 403, MK: 403, AU: 200}),
    ("thirdparty.Disclosure", "changelist", {PO: 200, CS: 403, MK: 403, AU: 200}),
    ("policy.PolicyVersion", "changelist", {PO: 200, CS: 403, MK: 403, AU: 200}),
]
CASES = [(label, page, role, status) for label, page, expected in PAGES for role, status in expected.items()]


def _model(label: str):
    try:
        model = apps.get_model(label)
    except LookupError:
        return None
    return model if model in admin.site._registry else None


@pytest.mark.parametrize(("label", "page", "role", "status"), CASES, ids=[f"{c[2]}-{c[0]}-{c[1]}" for c in CASES])
def test_each_role_reaches_what_it_should_and_nothing_else(
    label, page, role, status, staff_in_role, admin_login, alice
):
    model = _model(label)
    if model is None:
        pytest.skip(f"{label} is not in the admin yet")
    if page == "changelist":
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    else:
        target = alice if model is DataSubject else None
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=[target.pk])

    response = admin_login(staff_in_role(role)).get(url)

    assert response.status_code == status


@pytest.mark.parametrize("role", [PO, CS, MK, AU])
def test_every_role_reaches_the_admin_index(role, staff_in_role, admin_login):
    assert admin_login(staff_in_role(role)).get(reverse("admin:index")).status_code == 200


def _labels(role: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename")
    }


def test_marketing_holds_no_permission_on_raw_personal_data(db):
    held = _labels(MK)
    assert held, "marketing has at least the purposes"
    assert not {p for p in held if p.startswith("subjects.")}
    assert not {p for p in held if "consentevent" in p or "cookieconsentrecord" in p or "datasubjectrequest" in p}


def test_only_the_officer_exports_signs_off_and_approves(db):
    officer_only = set(roles.OFFICER_ONLY) & {
        f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")
    }
    assert {"audit.export_personal_data", "audit.sign_off_accessreview"} <= officer_only
    assert officer_only <= _labels(PO)
    for role in (CS, MK, AU):
        assert not officer_only & _labels(role), role


def test_the_auditor_reads_but_never_changes(db):
    held = _labels(AU)
    assert "audit.view_accesslog" in held and "audit.view_accessrightslog" in held
    assert all(p.split(".")[1].startswith("view_") for p in held), held


def test_a_permission_added_later_is_picked_up_and_a_hand_grant_is_taken_back(db):
    later = Permission.objects.create(
        codename="view_subjectnote",
        name="Can view subject note",
        content_type=ContentType.objects.get_for_model(DataSubject),
    )
    group = Group.objects.get(name=MK)
    stray = Permission.objects.get(codename="view_datasubject")
    group.permissions.add(stray)

    sync_roles()

    assert "subjects.view_subjectnote" in _labels(CS)
    assert "subjects.view_datasubject" not in _labels(MK)
    assert AccessRightsLog.objects.filter(
        change="role_permission_removed", group_name=MK, detail="subjects.view_datasubject"
    ).exists()
    assert AccessRightsLog.objects.filter(group_name=CS, detail="subjects.view_subjectnote").exists()
    assert later.pk in Group.objects.get(name=PO).permissions.values_list("pk", flat=True)


def test_syncing_again_changes_nothing(db):
    before = {role: _labels(role) for role in roles.ROLES}
    rows = AccessRightsLog.objects.count()
    sync_roles()
    assert {role: _labels(role) for role in roles.ROLES} == before
    assert AccessRightsLog.objects.count() == rows
