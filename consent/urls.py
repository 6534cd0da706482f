from __future__ import annotations

from django.urls import path

from . import views

app_name = "consent"

urlpatterns = [
    path("banner.js", views.banner_js, name="banner_js"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path(
        "preferences/<str:token>/accounts/<int:account_id>/disconnect/",
        views.disconnect_account,
        name="disconnect_account",
    ),
    path("opt-out/<str:token>/", views.opt_out, name="opt_out"),
]
