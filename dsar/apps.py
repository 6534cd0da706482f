from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DsarConfig(AppConfig):
    name = "dsar"
    verbose_name = _("Data subject requests")

    def ready(self) -> None:
        from audit.services import set_download_reason_matcher
        from subjects.models import CollectionSource
        from subjects.registry import DataCategory, Erase, Retention, registry

        from .models import DataSubjectRequest, RequestEvent

        # Rule "dsar_requests": a request (the requester's identity data) and its timeline are kept
        # 3 years from closing, then deleted. They are the evidence PIPC or the Dispute Mediation
        # Committee may ask for (PIPA art. 45); 3 years matches the limitation period of a damages
        # claim (Civil Act art. 766(1)) and the policy's period for complaint records (4.1.1).
        # For the same reason an erasure request keeps them (kept_after_erasure) and the person is
        # told so. Open requests have no closed_at and are never due; unverified ones are destroyed
        # after DSAR_UNVERIFIED_TTL_HOURS by dsar's own job (expire_dsar_requests).
        #
        # The timeline is registered first so that anything walking the registry in order removes
        # the children before their request; every event precedes the closing, so under the same
        # rule run from its own time it is due no later than its request.
        registry.register(
            RequestEvent,
            subject_path="request__subject",
            category=DataCategory.REQUEST_RECORDS,
            sources=[CollectionSource.DATA_SUBJECT_REQUEST],
            export_fields=["kind", "at", "note"],
            erase=Erase.delete(),
            retention=[Retention(rule="dsar_requests", runs_from="at", kept_after_erasure=True)],
        )
        registry.register(
            DataSubjectRequest,
            subject_path="subject",
            category=DataCategory.REQUEST_RECORDS,
            sources=[CollectionSource.DATA_SUBJECT_REQUEST],
            export_fields=[
                "reference",
                "request_type",
                "status",
                "channel",
                "name",
                "email",
                "phone",
                "details",
                "is_agent",
                "agent_name",
                "received_at",
                "due_on",
                "verified_at",
                "closed_at",
            ],
            erase=Erase.delete(),
            retention=[Retention(rule="dsar_requests", runs_from="closed_at", kept_after_erasure=True)],
        )
        # The monthly access-log review accepts a download whose reason names a real request.
        from .services import download_reason_names_a_request

        set_download_reason_matcher(download_reason_names_a_request)
        # The rate limits (here and in consent's cookie API) count in the default cache: the check
        # warns under `check --deploy` when that cache is per process.
        from privacyops.lib import cache  # noqa: F401
