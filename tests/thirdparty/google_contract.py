"""Google's request contract, taken from the discovery documents bundled in the installed
google-api-python-client (the same files the connectors build their clients from), so a request
our fake servers accept is a request Google's published schema accepts.

`validate_request(werkzeug_request, api, version)` answers a list of violations: unknown method
or path, HTTP method, unknown or missing query parameters, values outside an enum, request body
fields the schema does not have (unknown fields rejected), read-only fields sent, wrong JSON types.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import googleapiclient

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


@functools.cache
def document(api: str, version: str) -> dict:
    return json.loads((DOCUMENTS / f"{api}.{version}.json").read_text())


def _methods(resources: dict):
    for resource in resources.values():
        yield from resource.get("methods", {}).values()
        yield from _methods(resource.get("resources", {}))


def method(api: str, version: str, method_id: str) -> dict:
    return next(m for m in _methods(document(api, version)["resources"]) if m["id"] == method_id)


def _path_regex(template: str) -> re.Pattern:
    pattern = ""
    for part in re.split(r"(\{\+?[^}]+\})", template):
        if part.startswith("{+"):
            pattern += f"(?P<{part[2:-1]}>.+)"
        elif part.startswith("{"):
            pattern += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern + "$")


def _check_value(name: str, spec: dict, value, doc: dict, errors: list[str], *, top: bool = False) -> None:
    if "$ref" in spec:
        spec = doc["schemas"][spec["$ref"]]
    if spec.get("readOnly") and not top:
        errors.append(f"{name}: read-only field sent")
    kind = spec.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            errors.append(f"{name}: expected an object")
            return
        properties = spec.get("properties", {})
        for key, item in value.items():
            if key in properties:
                _check_value(f"{name}.{key}", properties[key], item, doc, errors)
            elif "additionalProperties" in spec:
                _check_value(f"{name}.{key}", spec["additionalProperties"], item, doc, errors)
            else:
                errors.append(f"{name}.{key}: unknown field")
    elif kind == "array":
        if not isinstance(value, list):
            errors.append(f"{name}: expected an array")
            return
        for index, item in enumerate(value):
            _check_value(f"{name}[{index}]", spec.get("items", {}), item, doc, errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(f"{name}: expected a string")
        elif "enum" in spec and value not in spec["enum"]:
            errors.append(f"{name}: {value!r} not in the enum")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{name}: expected an integer")
    elif kind == "boolean" and not isinstance(value, bool):
        errors.append(f"{name}: expected a boolean")


def _check_param(name: str, spec: dict, raw: str, errors: list[str]) -> None:
    if "enum" in spec and raw not in spec["enum"]:
        errors.append(f"parameter {name}: {raw!r} not in the enum")
    if spec.get("type") == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            errors.append(f"parameter {name}: not an integer")
        else:
            if "minimum" in spec and int(raw) < int(spec["minimum"]):
                errors.append(f"parameter {name}: below the minimum")
            if "maximum" in spec and int(raw) > int(spec["maximum"]):
                errors.append(f"parameter {name}: above the maximum")
    if spec.get("type") == "boolean" and raw not in ("true", "false"):
        errors.append(f"parameter {name}: not a boolean")


# Rules the documents state in prose only. youtube.videos.list, maxResults: "This parameter is
# supported for use in conjunction with the myRating and chart parameters, but it is not
# supported for use in conjunction with the id parameter."
EXCLUSIVE = {"youtube.videos.list": [("maxResults", "id")]}


def match(request, api: str, version: str) -> tuple[dict | None, list[str]]:
    """The discovery method the request is for, and its violations."""
    doc = document(api, version)
    path = request.path.lstrip("/")
    prefix = doc["servicePath"]
    if not path.startswith(prefix):
        return None, [f"{request.path}: not under {prefix!r}"]
    rest = path[len(prefix) :]
    candidates = [m for m in _methods(doc["resources"]) if _path_regex(m["path"]).match(rest)]
    found = next((m for m in candidates if m["httpMethod"] == request.method), None)
    if found is None:
        return None, [f"{request.method} {request.path}: no such method in {api} {version} (rev {doc['revision']})"]
    errors: list[str] = []
    path_values = _path_regex(found["path"]).match(rest).groupdict()
    params = {**doc.get("parameters", {}), **found.get("parameters", {})}
    sent = request.args.to_dict(flat=False)
    for name, values in sent.items():
        spec = params.get(name)
        if spec is None or spec.get("location") == "path":
            errors.append(f"parameter {name}: unknown")
            continue
        if len(values) > 1 and not spec.get("repeated"):
            errors.append(f"parameter {name}: sent {len(values)} times, not repeated")
        for raw in values:
            _check_param(name, spec, raw, errors)
    for name, spec in found.get("parameters", {}).items():
        if spec.get("required") and name not in sent and name not in path_values:
            errors.append(f"parameter {name}: required, missing")
    for first, second in EXCLUSIVE.get(found["id"], []):
        if first in sent and second in sent:
            errors.append(f"parameter {first}: not supported together with {second}")
    if "request" in found:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            errors.append("body: not JSON")
        else:
            if body is None:
                errors.append("body: missing")
            else:
                _check_value("body", found["request"], body, doc, errors, top=True)
    elif request.get_data():
        errors.append("body: this method takes none")
    return found, errors


def validate_request(request, api: str, version: str) -> list[str]:
    return match(request, api, version)[1]


GOOGLE_APIS = {"analytics/v3/": ("analytics", "v3"), "youtube/v3/": ("youtube", "v3")}


def google_api_for(request) -> tuple[str, str] | None:
    path = request.path.lstrip("/")
    return next((api for prefix, api in GOOGLE_APIS.items() if path.startswith(prefix)), None)
