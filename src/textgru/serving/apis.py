"""POST /predict (a `Classifier`) and POST /score (a `LanguageModel`): routes whose requests are batched together by
`batcher.py`. Concurrent requests' texts go to the model in one call (length-bucketed by `Classifier.predict` /
`LanguageModel.score`, `inner_batch_size` texts per model call) and each request gets its own answers.

Requests arrive validated (FastAPI checks the pydantic body first, or the fast lane does: `fast_lane.py`), so a bad
request never reaches a batch. Each `add_*` puts its route's request model and answer in `lanes` for the fast lane."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from textgru.inference.prediction import likeliest
from textgru.serving.batcher import BatcherClosed, TextBatcher
from textgru.serving.errors import error_response
from textgru.serving.fast_lane import Lanes
from textgru.serving.schemas import PredictRequest, ScoreRequest, TextsRequest


def predictions(classifier: Any, inner_batch_size: int):
    """`Classifier.predict` as the batcher's `run`: one JSON object per text (`text`, `label`, `score`, `probs`)."""

    def run(texts: list[str]) -> list[dict[str, Any]]:
        return [p.to_dict() for p in classifier.predict(texts, inner_batch_size)]

    return run


def top_k_only(prediction: dict[str, Any], k: int) -> dict[str, Any]:
    """A /predict answer with only its `k` likeliest labels' probabilities (`PredictRequest.top_k`)."""
    return {**prediction, "probs": likeliest(prediction["probs"], k)}


def scores(lm: Any, inner_batch_size: int):
    """`LanguageModel.score` as the batcher's `run`: `{"text", "nats_per_token", "unknown_tokens"}` per text (an empty
    text: null; `unknown_tokens`: those read as [UNK], which a score alone does not show)."""

    def run(texts: list[str]) -> list[dict[str, Any]]:
        values, unknown = lm.score(texts, batch_size=inner_batch_size), lm.unknown_tokens(texts)
        return [
            {"text": t, "nats_per_token": None if math.isnan(s) else s, "unknown_tokens": u}
            for t, s, u in zip(texts, values, unknown, strict=True)
        ]

    return run


async def _answer(
    batcher: TextBatcher, body: TextsRequest, many: str, each: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> JSONResponse:
    try:
        results = await batcher.submit(body.all_texts())
    except TimeoutError:  # asyncio.TimeoutError is this class from Python 3.11 on
        return error_response(  # it cannot tell a busy server from a request too big for the timeout (a review)
            504,
            f"no answer within timeout={batcher.timeout} s: the server is busy, or this request is too big to answer "
            "in that time; try again later, or send fewer or shorter texts",
        )
    except BatcherClosed as e:
        return error_response(503, str(e))
    except asyncio.CancelledError:
        raise
    except Exception as e:  # logged by the batcher; the client gets one line
        return error_response(500, f"the model failed on this batch: {type(e).__name__}: {e}")
    results = results if each is None else [each(r) for r in results]
    return JSONResponse(results[0] if body.text is not None else {many: results})


def add_predict(app: FastAPI, batcher: TextBatcher, lanes: Lanes) -> None:
    async def answer(body: PredictRequest) -> JSONResponse:
        k = body.top_k
        return await _answer(batcher, body, "predictions", None if k is None else lambda r: top_k_only(r, k))

    lanes["/predict"] = (PredictRequest, answer)

    @app.post(
        "/predict",
        tags=["classifier"],
        summary="Label, score and per-class probabilities per text",
        response_description='one text: `{"text", "label", "score", "probs"}`; several: `{"predictions": [...]}`',
    )
    async def predict(body: PredictRequest) -> JSONResponse:
        return await answer(body)


def add_score(app: FastAPI, batcher: TextBatcher, lanes: Lanes) -> None:
    async def answer(body: ScoreRequest) -> JSONResponse:
        return await _answer(batcher, body, "scores")

    lanes["/score"] = (ScoreRequest, answer)

    @app.post(
        "/score",
        tags=["language model"],
        summary="Nats per token per text under the language model",
        response_description='one text: `{"text", "nats_per_token", "unknown_tokens"}`; several: `{"scores": [...]}`',
    )
    async def score(body: ScoreRequest) -> JSONResponse:
        return await answer(body)
