from __future__ import annotations

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class SubjectsConfig(AppConfig):
    name = "subjects"
    verbose_name = _("Personal data (policy 1)")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system check)

        # Each app declares its personal data in <app>/personal_data.py, the way admin.py declares
        # its admin: imported here, once, in INSTALLED_APPS order (the registry's order). Every
        # model is loaded by now (ready() runs after all models), and the other apps' ready() may
        # rely on a full registry, since this app comes before them in INSTALLED_APPS.
        autodiscover_modules("personal_data")
