"""Every grant, change and removal of an account's rights is logged with who did it (SA-02c)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from audit import roles
from audit.models import AccessRightsLog
from privacyops.lib.ledger import AppendOnlyError


def _changes(**filters):
    return list(
        AccessRightsLog.objects.filter(**filters)
        .exclude(change__startswith="role_permission")
        .order_by("pk")
        .values_list("actor_username", "change", "username", "group_name", "detail")
    )


def test_granting_a_role_and_staff_status_in_the_admin_is_logged_with_the_officer(admin_login, officer):
    clerk = get_user_model().objects.create_user(username="clerk", password="Correct-Horse-42")
    support_group = Group.objects.get(name=roles.CUSTOMER_SUPPORT)

    response = admin_login(officer).post(
        reverse("admin:auth_user_change", args=[clerk.pk]),
        {
            "username": "clerk",
            "is_active": "on",
            "is_staff": "on",
            "groups": [support_group.pk],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-11-01",
            "date_joined_1": "09:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert _changes(username="clerk", actor_username="officer") == [
        ("officer", "staff_granted", "clerk", "", ""),
        ("officer", "group_added", "clerk", roles.CUSTOMER_SUPPORT, ""),
    ]


def test_account_creation_and_changes_outside_a_request_are_logged_as_system(db):
    user = get_user_model().objects.create_user(username="temp", password="Correct-Horse-42", is_staff=True)
    user.is_superuser = True
    user.save()
    user.is_staff = False
    user.is_active = False
    user.save()

    assert [row[1] for row in _changes(username="temp")] == [
        "account_created",
        "staff_granted",
        "superuser_granted",
        "staff_revoked",
        "deactivated",
    ]
    assert {row[0] for row in _changes(username="temp")} == {"system"}


def test_permissions_and_roles_removed_or_cleared_are_logged(db):
    user = get_user_model().objects.create_user(username="temp", password="Correct-Horse-42")
    permission = Permission.objects.get(codename="view_datasubject")
    group = Group.objects.get(name=roles.AUDITOR)

    user.user_permissions.add(permission)
    user.user_permissions.remove(permission)
    group.user_set.add(user)  # from the group's side
    user.groups.clear()

    assert [row[1:] for row in _changes(username="temp")][1:] == [
        ("permission_added", "temp", "", "subjects.view_datasubject"),
        ("permission_removed", "temp", "", "subjects.view_datasubject"),
        ("group_added", "temp", roles.AUDITOR, ""),
        ("group_removed", "temp", roles.AUDITOR, ""),
    ]


def test_a_login_does_not_write_to_the_rights_log(client, officer):
    rows = AccessRightsLog.objects.count()
    officer.last_login = timezone.now()
    officer.save(update_fields=["last_login"])
    assert AccessRightsLog.objects.count() == rows


def test_the_rights_log_keeps_rows_three_years(db):
    with time_machine.travel(timezone.now() - timedelta(days=2 * 365), tick=False):
        get_user_model().objects.create_user(username="old", password="Correct-Horse-42")
    with pytest.raises(AppendOnlyError):
        AccessRightsLog.objects.filter(username="old").delete()
    row = AccessRightsLog.objects.filter(username="old").first()
    row_change = row.change
    with pytest.raises(AppendOnlyError):
        row.save()

    # Past three years it can go (on PostgreSQL the trigger compares with the database's own clock).
    with time_machine.travel(timezone.now() - timedelta(days=1100), tick=False):
        get_user_model().objects.create_user(username="older", password="Correct-Horse-42")
    AccessRightsLog.objects.filter(username="older").delete()
    assert not AccessRightsLog.objects.filter(username="older", change=row_change).exists()
