from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import models
from django.test.utils import isolate_apps

from subjects.checks import unregistered_personal_data_models
from subjects.models import AdPerformanceRecord, DataSubject, Inquiry, SocialAccount, VisitLog
from subjects.registry import Erase, Retention, registry


def test_every_record_model_of_policy_section_1_is_registered():
    for model in (DataSubject, VisitLog, Inquiry, SocialAccount, AdPerformanceRecord):
        assert registry.is_registered(model)


def test_records_for_returns_only_that_subjects_rows(alice, bob):
    records = registry.records_for(alice)
    assert records[VisitLog].count() == 3
    assert records[Inquiry].count() == 2
    assert set(records[VisitLog].values_list("subject_id", flat=True)) == {alice.pk}
    assert list(records[DataSubject]) == [alice]
    assert registry.records_for(bob)[VisitLog].count() == 1


def test_records_for_follows_a_path_through_a_parent(alice, bob):
    account = SocialAccount.objects.create(subject=alice, platform="youtube", handle="@alice")
    AdPerformanceRecord.objects.create(account=account, campaign="spring", impressions=10)
    assert registry.records_for(alice)[AdPerformanceRecord].count() == 1
    assert registry.records_for(bob)[AdPerformanceRecord].count() == 0


def test_complaints_are_kept_after_erasure_but_plain_questions_are_not(alice):
    kept = registry.entry(Inquiry).kept_after_erasure_q()
    assert list(Inquiry.objects.filter(subject=alice).filter(kept).values_list("kind", flat=True)) == ["complaint"]


def test_rules_name_the_models_they_govern():
    models_under_complaints = [entry.model for entry, _ in registry.bindings_for_rule("complaint_records")]
    assert models_under_complaints == [Inquiry]
    assert {"visit_logs", "complaint_records", "inquiries"} <= registry.rule_keys()


def test_registering_a_field_that_does_not_exist_is_refused():
    with isolate_apps("tests"):

        class Note(models.Model):
            subject = models.ForeignKey(DataSubject, on_delete=models.PROTECT)

            class Meta:
                app_label = "tests"

        with pytest.raises(ValueError, match="no field 'text'"):
            registry.register(
                Note,
                subject_path="subject",
                category="events",
                sources=["automatic"],
                export_fields=["text"],
                erase=Erase.delete(),
                retention=[Retention(rule="x", runs_from="id")],
            )


def test_the_check_finds_a_model_pointing_at_a_subject_that_is_not_registered():
    with isolate_apps("tests"):

        class Note(models.Model):
            subject = models.ForeignKey(DataSubject, on_delete=models.PROTECT)

            class Meta:
                app_label = "tests"

        class Unrelated(models.Model):
            label = models.CharField(max_length=10)

            class Meta:
                app_label = "tests"

        assert unregistered_personal_data_models([Note, Unrelated, VisitLog]) == [Note]


def test_manage_py_check_fails_when_a_personal_data_model_leaves_the_registry(registry_as_it_was):
    call_command("check")  # the project as it is passes
    registry.unregister(VisitLog)
    with pytest.raises(SystemCheckError, match="subjects.VisitLog holds personal data"):
        call_command("check")
