"""The Celery application.

Tasks use `Task` below, so `task.delay_on_commit(...)` enqueues only after the transaction
commits, and a broker that is down never turns a saved request into an error page: the failure
is logged (ids only) and the periodic sweep of each app re-sends what was never enqueued.
"""

from __future__ import annotations

import functools
import logging
import os

from celery import Celery
from celery.contrib.django.task import DjangoTask
from celery.signals import after_setup_logger, after_setup_task_logger
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacyops.settings")

logger = logging.getLogger(__name__)


class Task(DjangoTask):
    def __call__(self, *args, **kwargs):
        # The run history (audit/jobruns.py): every run of a job in the beat schedule, however
        # started (beat, the admin's "run now", a test running it eagerly), is kept with its outcome.
        from audit.jobruns import periodic_task_names, record_run

        if self.name not in periodic_task_names():
            return super().__call__(*args, **kwargs)
        return record_run(self.name, lambda: super(Task, self).__call__(*args, **kwargs))

    def delay_on_commit(self, *args, **kwargs) -> None:
        transaction.on_commit(functools.partial(self._enqueue, args, kwargs, {}), robust=True)

    def apply_async_on_commit(self, args=None, kwargs=None, **options) -> None:
        transaction.on_commit(functools.partial(self._enqueue, args or (), kwargs or {}, options), robust=True)

    def _enqueue(self, args, kwargs, options) -> None:
        try:
            self.apply_async(args, kwargs, **options)
        except Exception:
            # Arguments may hold ids only, but log none of them: the task name is enough to act on.
            logger.exception("could not enqueue %s; its periodic sweep will pick the work up", self.name)


app = Celery("privacyops", task_cls=f"{__name__}:Task")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def redact_worker_logs(logger: logging.Logger, **kwargs) -> None:
    """A worker and beat replace the root logger's handlers with Celery's own, so settings.LOGGING's
    filter is not on them: put it on every handler Celery sets up (a task's error may quote a link)."""
    from privacyops.lib.logs import RedactSecrets  # Django's settings are loaded by now

    for handler in logger.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
