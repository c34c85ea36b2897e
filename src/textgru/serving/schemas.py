"""Request bodies of the HTTP API as pydantic models: FastAPI validates them before any model work, so a bad request
is a 4xx naming the field and the rule. The caps come from the serving app's `Limits` (set per request by
`LimitsContext`; the body size by `BodySizeCap`); the rules mirror `SamplingOptions.check` and `scripts/generate.py`."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textgru.inference.sampling import LARGEST_KNOB, SMALLEST_KNOB
from textgru.serving.limits import MAX_STOP_CHARS, MAX_STOP_STRINGS, Limits

current_limits: ContextVar[Limits] = ContextVar("textgru_serving_limits", default=Limits())  # noqa: B039 (frozen)
DEFAULT_NEW_TOKENS = 500  # scripts/generate.py's default, capped by limits.max_new_tokens


class LimitsContext:
    """ASGI middleware: makes the app's `Limits` the ones request validation sees."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = current_limits.set(self.limits)
        try:
            await self.app(scope, receive, send)
        finally:
            current_limits.reset(token)


def content_length(scope: Scope) -> int:
    """The body size a request's Content-Length header declares (0 without one; the parser refused a bad one)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.strip().isdigit() else 0
    return 0


class BodySizeCap:
    """ASGI middleware: a request body over `max_bytes` (limits.max_body_bytes) is a 413, at once where its
    Content-Length says so (a review: the server waited for a body it would refuse), else counted as it arrives (a
    lying or missing Content-Length does not get past it)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        total, declared = 0, content_length(scope)

        async def capped() -> Message:
            nonlocal total
            if declared > self.max_bytes:  # not a byte of it awaited; closed after the 413, the rest never read
                raise HTTPException(413, headers={"connection": "close"})
            message = await receive()
            total += len(message.get("body", b""))
            if total > self.max_bytes:
                raise HTTPException(413)  # answered by errors.http_error as one line naming the cap
            return message

        await self.app(scope, capped, send)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)  # NaN failed every range as "<= 1"


def _check_chars(text: str, where: str) -> str:
    cap = current_limits.get().max_chars
    if len(text) > cap:
        raise ValueError(f"{where} has {len(text)} characters; at most {cap} are allowed (limits.max_chars)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # JSON's "\ud800" escape: a lone UTF-16 surrogate, not a character
        raise ValueError(
            f"{where} holds a lone UTF-16 surrogate ({text[e.start]!r} at character {e.start}), which is not "
            "Unicode text; send valid text (a surrogate pair, or the character itself)"
        ) from None
    return text


class TextsRequest(_Body):
    """`{"text": "..."}` for one text, or `{"texts": [...]}` for several (answered in order)."""

    text: str | None = Field(default=None, description="one text")
    texts: list[str] | None = Field(default=None, description="several texts (at most limits.max_texts)")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else _check_chars(value, "the text")

    @field_validator("texts", mode="before")
    @classmethod
    def _not_too_many(cls, value: Any) -> Any:  # before the items are: 100,000 of a wrong type were 100,000 errors
        cap = current_limits.get().max_texts
        if isinstance(value, list) and len(value) > cap:
            raise ValueError(
                f"has {len(value)} texts; at most {cap} per request are allowed (limits.max_texts); "
                "send them in several requests"
            )
        return value

    @field_validator("texts")
    @classmethod
    def _texts(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must hold at least one text")
        for i, text in enumerate(value):
            _check_chars(text, f"texts[{i}]")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> TextsRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError('give exactly one of "text" (a string) or "texts" (a list of strings)')
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class PredictRequest(TextsRequest):
    """POST /predict: label, score and per-class probabilities per text (`top_k`: only the k likeliest, likeliest
    first)."""

    top_k: int | None = Field(default=None, ge=1, description="only the k likeliest labels in probs; null: every label")

    @model_validator(mode="after")
    def _not_empty(self) -> PredictRequest:  # a label was answered, for one [UNK] token (a review); the CLI skips them
        empty = [i for i, text in enumerate(self.all_texts()) if not text.strip()]
        if empty:
            where = "the text is" if self.text is not None else f"texts[{empty[0]}] is"
            more = f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""
            raise ValueError(f"{where} empty or spaces only{more}: its label would say nothing; leave it out")
        return self


class ScoreRequest(TextsRequest):
    """POST /score: nats per token per text (its mean negative log-likelihood under the language model)."""


class GenerateRequest(_Body):
    """POST /generate: the knobs of `textgru generate` (scripts/generate.py); `stream: true` for Server-Sent Events."""

    prompt: str = Field(default="", description="taken verbatim; empty: start a new document")
    stream: bool = Field(default=False, description="Server-Sent Events: `piece` events, then one `done` event")
    greedy: bool = Field(default=False, description="the most likely token every time (temperature is ignored)")
    temperature: float = Field(default=0.8, description=f"from {SMALLEST_KNOB:g} to {LARGEST_KNOB:g}")
    max_new_tokens: int | None = Field(
        default=None, ge=0, validate_default=True, description="default min(500, limits.max_new_tokens)"
    )
    top_k: int = Field(default=0, ge=0, description="keep the k most likely tokens; 0: off")
    top_p: float = Field(
        default=1.0, ge=SMALLEST_KNOB, le=1, description="nucleus: the smallest set reaching p; 1: off"
    )
    repetition_penalty: float = Field(
        default=1.0, ge=SMALLEST_KNOB, le=LARGEST_KNOB, description="> 1 discourages tokens already in the text"
    )
    num_samples: int = Field(default=1, ge=1, description="drawn together as one batch; 1 when streaming")
    seed: int | None = Field(default=None, ge=-(2**63), le=2**64 - 1, description="the same seed gives the same text")
    stop: str | list[str] | None = Field(default_factory=list, description="each sample ends before the first of these")
    allow_unknown: bool = Field(default=False, description="read characters the tokenizer has no token for as [UNK]")

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        return _check_chars(value, "the prompt")

    @field_validator("temperature")
    @classmethod
    def _temperature(cls, value: float, info: ValidationInfo) -> float:
        if not info.data.get("greedy") and not value > 0:
            raise ValueError(
                f'temperature {value} must be > 0; for the most likely token every time send "greedy": true'
            )
        if not info.data.get("greedy") and not SMALLEST_KNOB <= value <= LARGEST_KNOB:
            raise ValueError(f"temperature {value} must be from {SMALLEST_KNOB:g} to {LARGEST_KNOB:g}")
        return value

    @field_validator("max_new_tokens")
    @classmethod
    def _max_new_tokens(cls, value: int | None) -> int:
        cap = current_limits.get().max_new_tokens
        if value is None:
            return min(DEFAULT_NEW_TOKENS, cap)
        if value > cap:
            raise ValueError(f"{value} is over the cap of {cap} new tokens per request (limits.max_new_tokens)")
        return value

    @field_validator("num_samples")
    @classmethod
    def _num_samples(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("stream") and value != 1:
            raise ValueError(f'streaming draws one sample, not {value}; send "stream": false for several')
        cap = current_limits.get().max_num_samples
        if value > cap:
            raise ValueError(f"{value} is over the cap of {cap} samples per request (limits.max_num_samples)")
        return value

    @field_validator("stop", mode="before")
    @classmethod
    def _few_stops(cls, value: Any) -> Any:  # before the items are (as texts above)
        if isinstance(value, list) and len(value) > MAX_STOP_STRINGS:
            raise ValueError(f"at most {MAX_STOP_STRINGS} stop strings are allowed, not {len(value)}")
        return value

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: str | list[str] | None) -> list[str]:
        stops = [value] if isinstance(value, str) else list(value or [])  # null: none, as textgru generate takes it
        if any(len(s) > MAX_STOP_CHARS for s in stops):
            raise ValueError(f"a stop string may have at most {MAX_STOP_CHARS} characters")
        for stop in stops:
            _check_chars(stop, "a stop string")
        if "" in stops:  # as the Python API and the command line refuse it (a review: dropped without a word)
            raise ValueError("an empty stop string would end every sample before it starts; leave it out")
        return stops

    def sampling(self) -> dict[str, Any]:
        """The keywords of `LanguageModel.generate` / `SamplingOptions`."""
        return self.model_dump(exclude={"prompt", "stream", "allow_unknown"})


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "/predict": PredictRequest,
    "/score": ScoreRequest,
    "/generate": GenerateRequest,
}
