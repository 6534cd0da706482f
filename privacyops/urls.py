from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.cache import cache_control

from consent import views as consent_views
from privacyops.api import api
from privacyops.lib.health import healthz, live

# The admin index is the privacy officer's desk (privacyops/desk.py).
admin.site.index_template = "admin/officer_desk.html"
admin.site.site_header = admin.site.site_title = "privacyops"


@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask /favicon.ico of pages that name none (the admin): the static file answers."""
    return HttpResponseRedirect(static("favicon.ico"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("healthz/live", live, name="healthz-live"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("consent/", include("consent.urls")),
    path(".well-known/gpc.json", consent_views.gpc_json, name="gpc_json"),
    path("privacy/incidents/", include("incidents.urls")),
    path("privacy/", include("policy.urls")),
    path("dsar/", include("dsar.urls")),
    path("thirdparty/", include("thirdparty.urls")),
]
