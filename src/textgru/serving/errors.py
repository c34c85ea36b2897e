"""Every 4xx the server sends is a JSON object `{"error": "<one line naming the field and the rule>", ...}`; these
handlers turn FastAPI's validation errors and HTTP exceptions into that shape (never a traceback)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from textgru.serving.browser_guard import HEADERS
from textgru.serving.fast_lane import route_path
from textgru.serving.limits import Limits
from textgru.serving.schemas import REQUEST_MODELS

ERRORS_SHOWN = 5  # a request's validation errors named in its 422 (`error_count` says how many there were)


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def field_error(field: str, rule: str) -> JSONResponse:
    """A 422 for one field (`body`: the whole body, said as the rule alone), in the shape of FastAPI's validation
    errors below (a review: some 422s lacked `errors` and `error_count`)."""
    errors = [{"field": field, "rule": rule, "type": "value_error"}]
    return error_response(422, rule if field == "body" else f"{field}: {rule}", errors=errors, error_count=1)


def _field(loc: tuple[Any, ...]) -> str:
    """A field's name as the request wrote it, cut to FIELD_CHARS (a review: five unknown keys of 199k characters each
    came back twice each, a 2 MB answer)."""
    parts = [p for p in loc if p != "body"]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out if len(out) <= FIELD_CHARS else out[: FIELD_CHARS - 1] + "…"


FIELD_CHARS = 100


def _rule(error: dict[str, Any], path: str) -> str:
    kind, msg = error.get("type", ""), str(error.get("msg", ""))
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        allowed = f"; the fields are {', '.join(_fields(path))}" if _fields(path) else ""
        return f"is not a field of this endpoint{allowed}"
    return msg.removeprefix("Value error, ")


def _compressed(request: Request) -> JSONResponse | None:
    """A 415 for a body sent compressed (a review: gzip was "not UTF-8 (byte 0x8b ...)", advice that did not help),
    asked where the body does not read as JSON: a header over a plain JSON body is ignored, as where it validates."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return None
    return error_response(415, f"Content-Encoding: {encoding} is not read here; send the JSON body uncompressed")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A body FastAPI could not parse or validate: 400 (not JSON), 415 (not sent as JSON) or 422 (a field)."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    path = route_path(request.scope)  # behind root_path, url.path has the prefix (a review: no fields, no example)
    content_type = request.headers.get("content-type", "")
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        if (compressed := _compressed(request)) is not None:  # only a body that does not read: a plain one marked
            return compressed  # gzip was served, but with a wrong field told to send it uncompressed (a review)
        detail = (first.get("ctx") or {}).get("error", "")
        return error_response(
            400, f"the body is not valid JSON ({detail} at character {first['loc'][-1]}); send a JSON object"
        )
    whole_body = [e for e in errors if tuple(e.get("loc", ())) == ("body",)]
    if whole_body and not _is_json(content_type):
        return error_response(
            415,
            f"send the body as JSON with Content-Type: application/json (got {content_type or 'no Content-Type'!r})",
        )
    if whole_body and whole_body[0].get("type") == "missing":  # not JSON: 400, as the README says (a review: 422)
        return error_response(400, "the body is empty; send a JSON object")
    if whole_body and whole_body[0].get("type") == "string_unicode":  # pydantic's "unable to parse raw data" (a review)
        return field_error(
            "body",
            "a key of the body holds a lone UTF-16 surrogate (an escape such as \\ud800 alone), which is not Unicode "
            "text; send valid text",
        )
    if whole_body and whole_body[0].get("type") in ("model_attributes_type", "dict_type", "model_type"):
        example = '{"prompt": "ROMEO:"}' if path == "/generate" else '{"text": "what a lovely day"}'
        return field_error("body", f"the body must be a JSON object, e.g. {example}")
    read = ERRORS_SHOWN * 8  # the first errors only, merged (a review: 100,000 wrong items kept the server busy)
    merged = _unions_merged(errors[:read], path)
    items, count = merged[:ERRORS_SHOWN], len(merged) + max(len(errors) - read, 0)
    message = "; ".join(f"{i['field']}: {i['rule']}" for i in items)
    more = count - len(items)  # a review: 100,000 wrong items made a 13 MB answer, the server busy 1.7 s
    return error_response(422, message + (f"; and {more} more" if more else ""), errors=items, error_count=count)


def _unions_merged(errors: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """Pydantic's errors as `{field, rule, type}`, one for each field (a review: `"stop": 5` was two errors, for fields
    `stop.str` and `stop.list[str]`, pydantic's names of the union's members); a body-wide rule that names its field
    (`texts[1] is empty ...`) is that field's, not the body's."""
    out: list[dict[str, Any]] = []
    unions: dict[str, dict[str, Any]] = {}
    for e in errors:
        loc = [p for p in e.get("loc", ()) if p != "body"]
        rule = _rule(e, path)
        if len(loc) > 1 and isinstance(loc[1], str):  # (field, member of its union type, ...)
            name, member, deeper = str(loc[0]), loc[1], _field((loc[0], *loc[2:]))
            if name not in unions:
                unions[name] = {"field": name, "rule": "", "type": e.get("type"), "members": [], "inner": []}
                out.append(unions[name])
            unions[name]["members"].append(member)
            unions[name]["inner"] += [f"{deeper}: {rule}"] if deeper != name else []
            continue
        field = _field(tuple(loc))
        named = None if field else re.match(r"(?:the )?([a-z_]+(?:\[\d+\])?) ", rule)
        if named and named.group(1).split("[")[0] in _fields(path):  # "texts[1] is empty ...": texts[1]'s
            field, rule = named.group(1), rule[named.end() :]
        out.append({"field": field or "body", "rule": rule, "type": e.get("type")})
    for union in unions.values():
        members, inner = union.pop("members"), union.pop("inner")
        union["rule"] = f"must be {' or '.join(dict.fromkeys(members))}" + (f" ({'; '.join(inner)})" if inner else "")
    return out


def _fields(path: str) -> list[str]:
    model = REQUEST_MODELS.get(path)
    return list(model.model_fields) if model else []


def http_error(limits: Limits):
    """HTTP errors (404, 405, 413 from the body-size cap, 429, 5xx) as `{"error": ...}`."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail)
        if exc.status_code == 413:
            message = f"the request body is over {limits.max_body_bytes} bytes (limits.max_body_bytes)"
        elif exc.status_code == 404 and message == "Not Found":
            message = f"no endpoint {route_path(request.scope)}; see /docs for the API"
        elif exc.status_code == 400 and (compressed := _compressed(request)) is not None:
            return compressed
        elif exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI: "an error parsing"
            bad = exc.__cause__  # JSON's reader takes the encoding from the first bytes (a review: \xff\xfe{ named '{')
            utf8 = bad.encoding.lower().replace("-", "").replace("_", "") == "utf8"
            where = (
                f"byte 0x{bad.object[bad.start]:02x} at"
                if utf8
                else f"its first bytes read as {bad.encoding}, failing at"
            )
            message = f"the body is not UTF-8 ({where} position {bad.start}); send JSON encoded as UTF-8"
        elif exc.status_code == 400 and "integer string conversion" in str(exc.__cause__):  # Python's 4,300 digits
            message = "the body's JSON holds an integer of over 4,300 digits, too long to read; send a shorter number"
        elif exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            message = 'the body\'s JSON is nested too deeply to read; send a JSON object, e.g. {"text": "..."}'
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    return handler


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Anything else a route raised (a bug): a JSON 500 naming the error; the traceback goes to the server's log.
    Starlette sends it from outside every middleware, so it carries `BrowserGuard`'s headers itself."""
    response = error_response(500, f"the server failed on this request ({type(exc).__name__}: {exc}); see its log")
    response.raw_headers += HEADERS
    return response


def install_error_handlers(app: FastAPI, limits: Limits) -> None:
    from textgru.serving.openapi_errors import describe_errors

    describe_errors(app)  # /openapi.json says these shapes
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error(limits))
    app.add_exception_handler(Exception, internal_error)
