from __future__ import annotations

from django.urls import path

from . import views

app_name = "dsar"

urlpatterns = [
    path("", views.request_form, name="form"),
    path("submitted/", views.submitted, name="submitted"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("status/<str:token>/", views.status, name="status"),
    path("status/<str:token>/download/", views.status_download, name="status_download"),
    path("download/<str:token>/", views.download, name="download"),
]
