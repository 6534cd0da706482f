"""`manage.py check` fails when personal data could escape the registry."""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.core import checks
from django.db import models

from .registry import registry


def unregistered_personal_data_models(candidates: Iterable[type[models.Model]]) -> list[type[models.Model]]:
    """Models holding a foreign key to DataSubject, or to a registered model, that are not registered."""
    from .models import DataSubject

    personal = {DataSubject, *registry.models()}
    missing = []
    for model in candidates:
        if registry.is_registered(model) or model._meta.proxy or not model._meta.managed:
            continue
        if any(
            f.is_relation and f.concrete and (f.many_to_one or f.one_to_one) and f.related_model in personal
            for f in model._meta.get_fields()
        ):
            missing.append(model)
    return missing


@checks.register(checks.Tags.models)
def check_personal_data_registered(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"{model._meta.label} holds personal data (it points at a data subject) but is not in the "
            "personal-data registry.",
            hint="Register it in its app's personal_data.py with subjects.registry.register(...), "
            "naming its retention rule and how to export and erase it.",
            obj=model,
            id="subjects.E001",
        )
        for model in unregistered_personal_data_models(apps.get_models())
    ]
