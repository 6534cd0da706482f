from __future__ import annotations

from django.urls import path

from . import views

app_name = "thirdparty"

urlpatterns = [
    path("meta/deletion/<str:code>/", views.meta_deletion_status, name="meta_deletion_status"),
    path("youtube/connect/", views.youtube_connect, name="youtube_connect"),
    path("youtube/callback/", views.youtube_callback, name="youtube_callback"),
]
