"""LitServe APIs for the endpoints LitServe batches itself: /predict (a `Classifier`) and /score (a
`LanguageModel`). Each runs in LitServe's inference worker processes (`setup()` loads the checkpoint once per
worker); concurrent requests are collected into one batch (`max_batch_size`, `batch_timeout`), their texts are
predicted together (length-bucketed by `Classifier.predict`), and each request gets its own answer back.

Requests arrive already validated (FastAPI checks the pydantic body before LitServe queues it): one bad request
must never reach a batch, because LitServe 0.2.19 answers every request of a batch with the error of any one.

No `from __future__ import annotations` here: LitServe reads `decode_request`'s annotation as the request model, and a
postponed (string) annotation makes FastAPI treat the body as a missing query parameter."""

import math
from typing import Any

import litserve as ls
import torch

from textgru.serving.schemas import PredictRequest, ScoreRequest


class _TextsAPI(ls.LitAPI):
    """Shared batching: a batch of requests becomes one list of texts and is split back per request."""

    def __init__(self, checkpoint: str, inner_batch_size: int, threads: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checkpoint, self.inner_batch_size, self.threads = checkpoint, inner_batch_size, threads

    def setup(self, device: str) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)
        self.load(device)

    def load(self, device: str) -> None:
        raise NotImplementedError

    def run(self, texts: list[str]) -> list[Any]:
        raise NotImplementedError

    def predict(self, x: Any) -> Any:
        requests = x if self.max_batch_size > 1 else [x]  # LitServe passes one request when max_batch_size is 1
        results = self.run([t for texts, _ in requests for t in texts])
        out, start = [], 0
        for texts, single in requests:
            mine = results[start : start + len(texts)]
            start += len(texts)
            out.append(mine[0] if single else mine)
        return out if self.max_batch_size > 1 else out[0]


class PredictAPI(_TextsAPI):
    """POST /predict: `{"text": ...}` answers one prediction object, `{"texts": [...]}` answers
    `{"predictions": [...]}`;
    each prediction is `Classifier.predict`'s (`text`, `label`, `score`, `probs`)."""

    def load(self, device: str) -> None:
        from textgru.inference.classifier import Classifier

        self.model = Classifier.load(self.checkpoint, device="cpu" if device.startswith("cpu") else device)

    def decode_request(self, request: PredictRequest) -> tuple[list[str], bool]:
        return request.all_texts(), request.text is not None

    def run(self, texts: list[str]) -> list[Any]:
        return [p.to_dict() for p in self.model.predict(texts, self.inner_batch_size)]

    def encode_response(self, output: Any) -> dict[str, Any]:
        return output if isinstance(output, dict) else {"predictions": output}


class ScoreAPI(_TextsAPI):
    """POST /score: `{"text": ...}` answers `{"text", "nats_per_token"}`; `{"texts": [...]}` answers `{"scores": [...]}`
    (`LanguageModel.score`; an empty text scores null)."""

    def load(self, device: str) -> None:
        from textgru.inference.language_model import LanguageModel

        self.model = LanguageModel.load(self.checkpoint, device="cpu" if device.startswith("cpu") else device)

    def decode_request(self, request: ScoreRequest) -> tuple[list[str], bool]:
        return request.all_texts(), request.text is not None

    def run(self, texts: list[str]) -> list[Any]:
        scores = self.model.score(texts, batch_size=self.inner_batch_size)
        return [{"text": t, "nats_per_token": None if math.isnan(s) else s} for t, s in zip(texts, scores, strict=True)]

    def encode_response(self, output: Any) -> dict[str, Any]:
        return output if isinstance(output, dict) else {"scores": output}
