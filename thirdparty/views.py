"""Public pages of policy section 3: the status page a Meta data-deletion callback points to."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import services


@never_cache
@require_GET
def meta_deletion_status(request, code: str):
    deletion = services.meta_deletion_status(confirmation_code=code)
    context = {"deletion": deletion, "contact": settings.DEFAULT_FROM_EMAIL}
    return render(request, "thirdparty/meta_deletion_status.html", context, status=200 if deletion else 404)
