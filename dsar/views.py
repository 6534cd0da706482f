"""The public pages under /dsar/: the form, the verification link, the status page and the
download link. None of them looks up a data subject; bad input and bad links get a page that
says what to do, never a 500."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacyops.lib.http import client_ip
from subjects.models import normalise_email

from . import ratelimit, services, tokens
from .forms import RequestForm
from .models import DataSubjectRequest, RequestStatus, private_storage

logger = logging.getLogger(__name__)

# Multipart overhead on top of the largest allowed upload, before the body is even read.
BODY_OVERHEAD_BYTES = 64 * 1024
# A body up to this many times the upload limit is read so the form can be shown again with what
# the person typed (the oversized file itself is dropped as it streams in, never stored); a larger
# one is refused before it is read.
OVERSIZE_READ_FACTOR = 4


class DropOversizeFile(FileUploadHandler):
    """Stops storing an uploaded file once it passes DSAR_UPLOAD_MAX_BYTES (django's SkipFile: the
    rest of that part is read and discarded, the other fields are kept) and remembers which."""

    def __init__(self, request=None):
        super().__init__(request)
        self.dropped: set[str] = set()
        self.received = 0

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.DSAR_UPLOAD_MAX_BYTES:
            self.dropped.add(self.field_name)
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers build the file


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "dsar/rate_limited.html", status=429)
    response["Retry-After"] = str(ratelimit.WINDOW_SECONDS)
    return response


@csrf_exempt  # checked by _request_form, once the upload handler is in place (django's documented way)
@never_cache
@require_http_methods(["GET", "POST"])
def request_form(request: HttpRequest) -> HttpResponse:
    dropping = DropOversizeFile(request)
    request.upload_handlers.insert(0, dropping)
    return _request_form(request, dropping)


@csrf_protect
def _request_form(request: HttpRequest, dropping: DropOversizeFile) -> HttpResponse:
    if request.method == "GET":
        return render(
            request, "dsar/form.html", {"form": RequestForm(), "upload_limit": settings.DSAR_UPLOAD_MAX_BYTES}
        )

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.DSAR_UPLOAD_MAX_BYTES * OVERSIZE_READ_FACTOR + BODY_OVERHEAD_BYTES:
        # Refused before Django reads and stores the body.
        return render(
            request,
            "dsar/form.html",
            {"form": RequestForm(), "too_large": True, "upload_limit": settings.DSAR_UPLOAD_MAX_BYTES},
            status=413,
        )
    if not ratelimit.hit("ip", client_ip(request) or "unknown", limit=settings.DSAR_RATE_LIMIT_PER_IP_PER_HOUR):
        return _too_many(request)

    form = RequestForm(request.POST, request.FILES, dropped_files=frozenset(dropping.dropped))
    if not form.is_valid():
        return render(
            request, "dsar/form.html", {"form": form, "upload_limit": settings.DSAR_UPLOAD_MAX_BYTES}, status=400
        )
    data = form.cleaned_data
    # Counted per address whether or not anyone with that address is known: same answer for all.
    for address in {normalise_email(data["email"]), normalise_email(data.get("agent_email"))} - {None}:
        if not ratelimit.hit("email", address, limit=settings.DSAR_RATE_LIMIT_PER_EMAIL_PER_HOUR):
            return _too_many(request)
    try:
        services.submit_request(
            request_type=data["request_type"],
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            details=data["details"],
            language=(get_language() or settings.LANGUAGE_CODE)[:2],
            is_agent=data["is_agent"],
            agent_name=data["agent_name"],
            agent_email=data["agent_email"],
            agent_phone=data["agent_phone"],
            agent_relationship=data["agent_relationship"],
            power_of_attorney=data["power_of_attorney"] if data["is_agent"] else None,
            purposes=data.get("purposes") or [],
        )
    except services.RequestError as exc:
        form.add_error(None, str(exc))
        return render(
            request, "dsar/form.html", {"form": form, "upload_limit": settings.DSAR_UPLOAD_MAX_BYTES}, status=400
        )
    return redirect("dsar:submitted")


@never_cache
@require_GET
def submitted(request: HttpRequest) -> HttpResponse:
    return render(request, "dsar/submitted.html", {"ttl_hours": settings.DSAR_VERIFY_TTL_HOURS})


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; only the POST uses the link, so a mail scanner that opens links
    cannot spend it."""
    try:
        payload = tokens.read_verification(token, settings.DSAR_VERIFY_TTL_HOURS * 3600)
    except tokens.LinkExpired:
        return render(request, "dsar/link_problem.html", {"problem": "expired"}, status=410)
    except tokens.LinkInvalid:
        return render(request, "dsar/link_problem.html", {"problem": "invalid"}, status=404)
    if request.method == "GET":
        already = DataSubjectRequest.objects.filter(
            reference=payload.reference, email_confirmed_at__isnull=False
        ).exists()
        if already:
            return _link_used(request, payload.reference)
        return render(request, "dsar/verify_confirm.html", {"token": token})
    try:
        confirmed = services.confirm_email(token=token)
    except tokens.LinkExpired:
        return render(request, "dsar/link_problem.html", {"problem": "expired"}, status=410)
    except services.LinkAlreadyUsed:
        return _link_used(request, payload.reference)
    except tokens.LinkInvalid:
        return render(request, "dsar/link_problem.html", {"problem": "invalid"}, status=404)
    return render(
        request,
        "dsar/verified.html",
        {
            "dsar": confirmed,
            "awaiting_staff": confirmed.status == RequestStatus.SUBMITTED,
            "status_url": services.status_path(confirmed),
        },
    )


def _link_used(request: HttpRequest, reference: str) -> HttpResponse:
    """The confirmation link was used already: the way on is the request's status page (the link
    proves the same mailbox the status link is sent to)."""
    dsar = DataSubjectRequest.objects.filter(reference=reference).first()
    status_url = services.status_path(dsar) if dsar is not None else None
    return render(request, "dsar/link_problem.html", {"problem": "used", "status_url": status_url}, status=410)


@never_cache
@require_GET
def status(request: HttpRequest, token: str) -> HttpResponse:
    """Reference, type, status and due date only: the page shows no personal data."""
    try:
        reference = tokens.read_status(token)
    except tokens.LinkInvalid:
        return render(request, "dsar/link_problem.html", {"problem": "invalid"}, status=404)
    dsar = DataSubjectRequest.objects.filter(reference=reference).first()
    if dsar is None:
        return render(request, "dsar/link_problem.html", {"problem": "gone"}, status=404)
    released = dsar.package_released_at is not None and bool(dsar.package_file)
    now = timezone.now()
    context = {
        "dsar": dsar,
        "today": timezone.localdate(),
        "released": released,
        "download_open": released
        and dsar.download_expires_at is not None
        and dsar.download_expires_at > now
        and dsar.download_count < settings.DSAR_DOWNLOADS_MAX,
        "download_here": released and services.package_offered_on_status_page(dsar),
        "downloads_left": max(settings.DSAR_DOWNLOADS_MAX - dsar.download_count, 0),
        "token": token,
    }
    return render(request, "dsar/status.html", context)


@never_cache
@require_POST
def status_download(request: HttpRequest, token: str) -> HttpResponse:
    """The status page's download button (a POST: a mail scanner opening the status link spends
    no download)."""
    try:
        reference = tokens.read_status(token)
    except tokens.LinkInvalid:
        return render(request, "dsar/link_problem.html", {"problem": "invalid"}, status=404)
    return _package_response(
        request,
        lambda: services.open_package_from_status(reference=reference, ip=client_ip(request), path=request.path),
    )


@never_cache
@require_GET
def download(request: HttpRequest, token: str) -> HttpResponse:
    return _package_response(
        request, lambda: services.open_package_for_download(token=token, ip=client_ip(request), path=request.path)
    )


def _package_response(request: HttpRequest, open_package) -> HttpResponse:
    try:
        result = open_package()
    except tokens.DownloadsUsedUp:
        return render(
            request,
            "dsar/link_problem.html",
            {"problem": "downloads_used_up", "downloads_max": settings.DSAR_DOWNLOADS_MAX},
            status=410,
        )
    except tokens.LinkExpired:
        return render(request, "dsar/link_problem.html", {"problem": "download_expired"}, status=410)
    except tokens.LinkInvalid:
        return render(request, "dsar/link_problem.html", {"problem": "invalid"}, status=404)
    try:
        handle = private_storage().open(result.request.package_file.name, "rb")
    except FileNotFoundError:
        logger.warning("dsar package file missing request=%s", result.request.pk)
        return render(request, "dsar/link_problem.html", {"problem": "download_expired"}, status=410)
    response = FileResponse(handle, as_attachment=True, filename=result.filename, content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response
