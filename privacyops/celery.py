"""The Celery application. Tasks subclass Celery's Django task, so `delay_on_commit` works."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacyops.settings")

app = Celery("privacyops", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
