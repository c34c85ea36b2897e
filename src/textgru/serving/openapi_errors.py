"""`/openapi.json` (and `/docs`) describe the errors as the server sends them: `{"error": ...}`, a 422 with its
`errors` and `error_count` too (a review: FastAPI's own `HTTPValidationError`, `{"detail": [{"loc", "msg",
"type"}]}`, was described, which no answer holds, and 400, 413 and 415 not at all). A route of a model not served
is described by its 404 alone, and an integer's bounds are written exactly (FastAPI's schema model holds them as
floats: the seed's maximum 2**64 - 1 read 1.8446744073709552e+19)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from textgru.serving.schemas import GenerateRequest, PredictRequest, ScoreRequest

ERROR = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "one line naming the field and the rule"}},
}
FIELD_ERROR = {
    "title": "FieldError",
    "type": "object",
    "required": ["field", "rule", "type"],
    "properties": {"field": {"type": "string"}, "rule": {"type": "string"}, "type": {"type": "string"}},
}
VALIDATION_ERROR = {
    "title": "ValidationErrors",
    "type": "object",
    "required": ["error", "errors", "error_count"],
    "properties": {
        **ERROR["properties"],
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}, "description": "the first 5"},
        "error_count": {"type": "integer"},
    },
}
POSTED = {  # what any POST can be answered besides its own responses
    "400": "the body is not JSON, empty, or not UTF-8; or the Host header names no host this server answers",
    "413": "the body is over limits.max_body_bytes",
    "415": "the body is not sent as JSON (Content-Type), or compressed",
    "422": "a field breaks a rule or a cap",
    "503": "the server is shutting down, or holds limit_concurrency connections",
}
BODIES: tuple[type[BaseModel], ...] = (PredictRequest, ScoreRequest, GenerateRequest)
HOST = "the Host header names no host this server answers (allowed_hosts)"  # browser_guard, before any route
TIMED = {"/predict", "/score"}  # answered 504 past `timeout` (a review: neither 503 nor 504 was described)


def describe_errors(app: FastAPI) -> None:
    """Replace the app's OpenAPI document with one whose error responses have the shapes of `errors.py`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            schemas.update(Error=ERROR, FieldError=FIELD_ERROR, ValidationErrors=VALIDATION_ERROR)
            for model in BODIES:
                if model.__name__ in schemas:
                    _exact_bounds(schemas[model.__name__], model.model_json_schema())
            for path, item in doc.get("paths", {}).items():
                for method, operation in item.items():
                    if "absent" in operation.get("tags", ()):  # add_missing's: 404, or what comes before any route
                        said = {"404": operation.get("summary", "not served"), "400": HOST, "503": POSTED["503"]}
                        operation["responses"] = {
                            k: {"description": v, "content": _json("Error")} for k, v in said.items()
                        }
                        continue
                    responses = operation.setdefault("responses", {})
                    posted = {**POSTED, "504": "the answer took longer than timeout"} if path in TIMED else POSTED
                    if path == "/health" and "200" in responses:  # a review: described as JSON
                        responses["200"]["content"] = {"text/plain": {"schema": {"type": "string", "example": "ok"}}}
                    if path == "/generate" and "200" in responses:  # with "stream": true, server-sent events
                        events = {"schema": {"type": "string", "description": "piece events, then one done event"}}
                        responses["200"].setdefault("content", {})["text/event-stream"] = events
                    for code, said in posted.items() if method == "post" else ():
                        shape = "ValidationErrors" if code == "422" else "Error"
                        responses[code] = {
                            "description": responses.get(code, {}).get("description", said),
                            "content": _json(shape),
                        }
                    for code, answer in responses.items():  # the route's own 4xx/5xx (429, 404 ...): {"error"}
                        if code[0] in "45" and "content" not in answer:
                            answer["content"] = _json("Error")
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _json(shape: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{shape}"}}}


def _exact_bounds(described: Any, own: Any) -> None:
    """Put `own`'s (pydantic's) integer bounds in place of `described`'s float copies of them, walking both alike."""
    if isinstance(described, dict) and isinstance(own, dict):
        for key, value in described.items():
            mine = own.get(key)
            if key in BOUNDS and isinstance(value, float) and type(mine) is int and float(mine) == value:
                described[key] = mine
            else:
                _exact_bounds(value, mine)
    elif isinstance(described, list) and isinstance(own, list) and len(described) == len(own):
        for value, mine in zip(described, own, strict=True):
            _exact_bounds(value, mine)


BOUNDS = ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum")
