from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from privacyops.celery import app as celery_app

from . import mail_backends

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(*args) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


@pytest.fixture
def now():
    """Time frozen at 1 March 2026, 15:00 Seoul (ticking, so timestamps still advance)."""
    with time_machine.travel(seoul(2026, 3, 1, 15, 0), tick=True) as traveller:
        yield traveller


@pytest.fixture
def scripted_mail(settings):
    settings.EMAIL_BACKEND = "tests.policy.mail_backends.ScriptedBackend"
    mail_backends.reset()
    yield mail_backends.ScriptedBackend
    mail_backends.reset()


@pytest.fixture
def eager_celery():
    """Run tasks enqueued on commit in-process (a convenience; the worker path is the same service)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def english():
    """Messages of services and forms in English, to match them in assertions."""
    with translation.override("en"):
        yield


SEEDED_MODELS = [
    "policy.PrivacyOfficer",
    "policy.ComplaintInstitution",
    "policy.PolicyVersion",
    "thirdparty.Processor",
    "retention.RetentionRule",
    "consent.Purpose",
    "consent.CookieCategory",
    "policy.CollectedItem",
]


@pytest.fixture(scope="session", autouse=True)
def seeded_rows(django_db_setup, django_db_blocker) -> str:
    """The rows the policy page is rendered from, as the migrations seeded them, captured before
    any transactional test flushes the database. (Django's serialized_rollback keeps its copy on
    the connection object, which Playwright's running event loop hides: asgiref gives async
    contexts their own connections.)"""
    from django.apps import apps
    from django.core import serializers

    objects = []
    with django_db_blocker.unblock():
        for label in SEEDED_MODELS:
            try:
                model = apps.get_model(label)
            except LookupError:
                continue
            objects.extend(model._default_manager.order_by("pk"))
        return serializers.serialize("json", objects)


@pytest.fixture
def seeded_database(seeded_rows, transactional_db) -> None:
    """Put the seed rows back after an earlier transactional test flushed them."""
    from django.core import serializers

    from consent.models import Purpose

    # Per model: some apps re-seed their rows on post_migrate, which a flush also sends.
    empty: dict[type, bool] = {}
    purpose_keys: dict[int, str] = {}
    for obj in serializers.deserialize("json", seeded_rows):
        model = type(obj.object)
        if model is Purpose:
            purpose_keys[obj.object.pk] = obj.object.key
        if model not in empty:
            empty[model] = not model._default_manager.exists()
        if empty[model]:
            purpose_id = getattr(obj.object, "purpose_id", None)
            if model._meta.label == "policy.CollectedItem" and purpose_id is not None:
                # consent re-seeds its purposes on post_migrate with new ids: point at them by key.
                obj.object.purpose_id = Purpose.objects.get(key=purpose_keys[purpose_id]).pk
            obj.save()


# What the gate (PC-02) needs and no migration seeds: the recipients' privacy contacts.
TRANSFER_CONTACTS = {
    "Google Analytics": "https://support.google.com/policies/troubleshooter/7575787",
    "Meta": "https://www.facebook.com/help/contact/540977946302970",
}


def complete_overseas_contacts() -> None:
    from thirdparty.models import Processor

    for name, contact in TRANSFER_CONTACTS.items():
        Processor.objects.filter(name=name).update(transfer_contact=contact)


def put_generated_version_in_force(label: str = "2025-06-01"):
    """A generated version announced in May 2025 and in force since 1 June 2025: the state after
    the first generated version replaced the seed text (the history a running install has)."""
    from policy.content import collect_policy_facts, fingerprint
    from policy.models import PolicyVersion
    from policy.services import render_policy_document

    complete_overseas_contacts()
    facts = collect_policy_facts()
    version = PolicyVersion(
        label=label,
        is_significant=True,
        summary_en="First version generated from the records.",
        announced_at=seoul(2025, 5, 1, 10, 0),
        effective_at=seoul(2025, 6, 1),
        notices_queued_at=seoul(2025, 5, 1, 10, 0),
        facts=facts,
        fingerprint=fingerprint(facts),
    )
    version.frozen_html_ko = render_policy_document(facts=facts, version=version, language="ko")
    version.frozen_html_en = render_policy_document(facts=facts, version=version, language="en")
    version.save()
    return version


@pytest.fixture(autouse=True)
def generated_version_in_force(request):
    """Most tests of this package start from a generated version in force; a module that sets
    SEED_ONLY = True starts from the seed text alone (version 2025-01-02)."""
    if getattr(request.module, "SEED_ONLY", False) or not request.node.get_closest_marker("django_db"):
        yield None
        return
    if "seeded_database" in request.fixturenames:
        request.getfixturevalue("seeded_database")
    else:
        request.getfixturevalue("db")
    yield put_generated_version_in_force()
