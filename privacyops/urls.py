from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from consent import views as consent_views
from privacyops.api import api
from privacyops.lib.health import healthz, live

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/live", live, name="healthz-live"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("privacy/", include("policy.urls")),
    path("consent/", include("consent.urls")),
    path(".well-known/gpc.json", consent_views.gpc_json, name="gpc_json"),
    path("thirdparty/", include("thirdparty.urls")),
    path("dsar/", include("dsar.urls")),
]
