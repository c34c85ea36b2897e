"""What a hostile review of `textgru serve` found in how it holds connections and its port: stalled requests timed
out (408) and concurrent connections capped, a body over the cap refused from its Content-Length, a stalled upload
at shutdown dropped in one line, the port held from the check on, and one operationId per operation."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install -e '.[serve]')")
httpx = pytest.importorskip("httpx")


def test_get_and_head_health_are_one_operation_each_in_the_schema(tiny_run: Path) -> None:
    """A review of serving: GET and HEAD /health had one operationId, and FastAPI warned "Duplicate Operation ID"
    at the first /docs request."""
    from starlette.testclient import TestClient

    from textgru.serving import build_server

    with TestClient(build_server(classifier=tiny_run)) as c, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schema = c.get("/openapi.json").json()
        assert c.head("/health").status_code == 200 and c.get("/health").text == "ok"
    assert not [w for w in caught if "Duplicate Operation ID" in str(w.message)], [str(w.message) for w in caught]
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)), ids
    assert list(schema["paths"]["/health"]) == ["get"] and schema["paths"]["/health"]["get"]["operationId"] == "health"
