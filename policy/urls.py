from __future__ import annotations

from django.urls import path

from . import views

app_name = "policy"

urlpatterns = [
    path("", views.policy_page, name="current"),
    path("versions/", views.version_list, name="versions"),
    path("versions/<str:label>/", views.version_detail, name="version"),
]
