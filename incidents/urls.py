from __future__ import annotations

from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.posting_list, name="postings"),
    path("<slug:slug>/", views.posting_detail, name="posting"),
]
