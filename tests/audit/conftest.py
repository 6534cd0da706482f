from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit import roles


@pytest.fixture
def staff_in_role(db):
    """A staff account (not a superuser) whose only rights come from one role group."""

    def make(role: str, username: str | None = None):
        user = get_user_model().objects.create_user(
            username=username or role.replace(" ", "_"), password="Correct-Horse-42", is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def auditor(staff_in_role):
    return staff_in_role(roles.AUDITOR)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The role table creates a user per case; PBKDF2's deliberate slowness only costs time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
