from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from thirdparty import services
from thirdparty.models import JobStatus


def test_send_vendor_erasure_jobs_command_sends_due_jobs_and_prints_counts(alice, stibee_processor, only, vendors):
    only(stibee_processor)
    vendors.expect_oneshot_request("/v1/lists/4242/subscribers", method="DELETE").respond_with_json(
        {"Ok": True, "Value": {}}
    )
    [job] = services.create_erasure_jobs(subject=alice, reference="CMD-1")
    out = StringIO()
    call_command("send_vendor_erasure_jobs", stdout=out)
    assert "confirmed=1" in out.getvalue()
    job.refresh_from_db()
    assert job.status == JobStatus.CONFIRMED


def test_the_task_runs_the_same_service(alice, stibee_processor, only, vendors):
    from thirdparty.tasks import send_vendor_erasure_jobs

    only(stibee_processor)
    vendors.expect_oneshot_request("/v1/lists/4242/subscribers", method="DELETE").respond_with_json(
        {"Ok": True, "Value": {}}
    )
    services.create_erasure_jobs(subject=alice, reference="CMD-2")
    assert send_vendor_erasure_jobs.apply().get()["confirmed"] == 1


def test_creating_jobs_enqueues_the_sender_on_commit(alice, vendors, django_capture_on_commit_callbacks, settings):
    from thirdparty.models import Processor

    Processor.objects.exclude(name="Stibee").update(active=False)
    vendors.expect_oneshot_request("/v1/lists/4242/subscribers", method="DELETE").respond_with_json(
        {"Ok": True, "Value": {}}
    )
    from privacyops.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.create_erasure_jobs(subject=alice, reference="CMD-3")
    finally:
        app.conf.task_always_eager = False
    assert len(callbacks) == 1
    assert services.open_jobs("CMD-3").count() == 0
