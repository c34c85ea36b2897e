"""`/openapi.json` (and `/docs`) describe the errors as the server sends them: `{"error": ...}`, a 422 with its
`errors` and `error_count` too (a review: FastAPI's own `HTTPValidationError`, `{"detail": [{"loc", "msg",
"type"}]}`, was described, which no answer holds, and 400, 413 and 415 not at all)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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
    "400": "the body is not JSON, empty, or not UTF-8",
    "413": "the body is over limits.max_body_bytes",
    "415": "the body is not sent as JSON (Content-Type), or compressed",
    "422": "a field breaks a rule or a cap",
    "503": "the server is shutting down, or holds limit_concurrency connections",
}
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
            for path, item in doc.get("paths", {}).items():
                for method, operation in item.items():
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
                            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{shape}"}}},
                        }
                    for code, answer in responses.items():  # the route's own 4xx/5xx (429, 404 ...): {"error"}
                        if code[0] in "45" and "content" not in answer:
                            answer["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
