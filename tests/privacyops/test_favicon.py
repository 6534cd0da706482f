"""The site has a favicon: a static SVG and .ico, linked from every public page, and /favicon.ico
for pages that link none."""

from __future__ import annotations

from django.contrib.staticfiles import finders


def test_the_favicon_files_are_static_files_and_browsers_asking_the_root_are_sent_there(client, db):
    svg, ico = finders.find("favicon.svg"), finders.find("favicon.ico")
    assert svg and ico
    assert open(svg).read().startswith("<svg") and open(ico, "rb").read(4) == b"\x00\x00\x01\x00"
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.ico")


def test_public_pages_link_the_favicon(client, db):
    for path in ("/privacy/", "/dsar/"):
        html = client.get(path).content.decode()
        assert 'rel="icon"' in html and "favicon.svg" in html and "favicon.ico" in html
