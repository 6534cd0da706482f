"""The append-only ledgers share one base (privacyops.lib.ledger): the access log, the
access-rights log, the consent ledger and the cookie consent records."""

from __future__ import annotations

import pytest
from django.apps import apps

from audit.models import AccessLog, AccessLogSubject
from audit.services import log_access
from consent import services as consent_services
from consent.models import ConsentChannel, ConsentEvent, CookieConsentRecord
from privacyops.lib.ledger import AppendOnlyError, AppendOnlyModel, AppendOnlyQuerySet

pytestmark = pytest.mark.django_db


def _ledger_models():
    return [model for model in apps.get_models() if issubclass(model, AppendOnlyModel)]


def test_every_ledger_guards_its_manager_and_django_s_base_manager():
    models = _ledger_models()
    assert {m._meta.label for m in models} >= {
        "audit.AccessLog",
        "audit.AccessLogSubject",
        "audit.AccessRightsLog",
        "consent.ConsentEvent",
        "consent.CookieConsentRecord",
    }
    for model in models:
        assert isinstance(model._default_manager.all(), AppendOnlyQuerySet), model
        assert isinstance(model._base_manager.all(), AppendOnlyQuerySet), model


def _rows(officer, alice):
    access = log_access(user=officer, ip="10.0.0.5", action="view", subject_ids=[alice.pk], reason="", path="/x/")
    event = consent_services.grant_consent(subject=alice, purpose="marketing", channel=ConsentChannel.WEB_FORM)
    cookie = CookieConsentRecord.objects.create(
        visitor_id="v" * 32, banner_version="1", language="ko", choice="allow_all", notice_sha256="0" * 64
    )
    return [(access, "reason"), (access.subjects.get(), "subject_id"), (event, "channel"), (cookie, "choice")]


def test_the_base_manager_refuses_updates_and_deletes_of_young_rows_too(officer, alice):
    for row, field in _rows(officer, alice):
        base = type(row)._base_manager.filter(pk=row.pk)
        with pytest.raises(AppendOnlyError):
            base.update(**{field: getattr(row, field)})
        with pytest.raises(AppendOnlyError):
            base.delete()
        assert type(row)._base_manager.filter(pk=row.pk).exists()


def test_django_s_own_reads_through_the_base_manager_still_work(officer, alice):
    for row, _field in _rows(officer, alice):
        row.refresh_from_db()
    subject_row = AccessLogSubject.objects.get()
    assert subject_row.log == AccessLog.objects.get()
    event = ConsentEvent.objects.get()
    assert event.notices.count() == 0


def test_a_refused_delete_says_which_path_removes_the_rows(alice):
    event = consent_services.grant_consent(subject=alice, purpose="marketing", channel=ConsentChannel.WEB_FORM)
    with pytest.raises(AppendOnlyError, match="personal-data registry"):
        event.delete()
    with pytest.raises(AppendOnlyError, match="purge_cookie_consent_records"):
        CookieConsentRecord.objects.all().delete()
