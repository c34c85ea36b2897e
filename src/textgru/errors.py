"""The exception types that scripts turn into a single clear line and a non-zero exit (also when a spawned rank
raised one), the check of a flag, and of keywords passed on."""

from __future__ import annotations

import contextlib
import difflib
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any


class TextgruError(Exception):
    """A problem with the user's input or config; the message names the problem and the fix."""

    def _render_traceback_(self) -> list[str]:
        """What IPython (a notebook) shows for it: the line alone, as the scripts print it, not 30-40 lines of
        textgru's frames above it (a review); `%debug` still walks them. Subclasses (internal) as the public name."""
        return [f"TextgruError: {self}"]


class EveryRankError(TextgruError):
    """A problem every process of a data-parallel run meets at once (its check agreed across them): rank zero says
    it, the others exit without a word (a review: a diverged DDP run said it once per process)."""


class TrainingStopped(KeyboardInterrupt):
    """Training stopped by Ctrl+C or SIGTERM: the command exits 130, and a `-m` sweep stops with it (it went on to
    its next job). A KeyboardInterrupt, its message naming what to resume, so that a notebook's loop of
    `textgru.train` calls stops too (a review: as a TextgruError, `except TextgruError` caught the Ctrl+C and the loop
    went on with its next run)."""

    def _render_traceback_(self) -> list[str]:
        """In IPython, the line that names how to continue, without the frames of the training it stopped."""
        return [f"TrainingStopped: {self}"]


@contextlib.contextmanager
def spawned_rank_errors() -> Iterator[None]:
    """A `TextgruError` that a rank `ddp_spawn` started raised comes out of the block as itself, the torch error that
    brought it chained (a review: a sweep trial's "the training loss is nan" was ProcessRaisedException, a 90-line
    traceback, exit 1, and `except TextgruError` missed it)."""
    try:
        yield
    except Exception as e:
        from torch.multiprocessing.spawn import ProcessRaisedException  # here: this module is read before torch is

        if not isinstance(e, ProcessRaisedException) or (error := raised_in_rank(e.msg)) is None:
            raise
        raise error from e


def raised_in_rank(trace: str) -> TextgruError | None:
    """The `TextgruError` (its class and message) that a rank's traceback, all torch sends back of it, ends with;
    None for any other error. The last exception printed is the one raised: the first line of the last traceback
    that is not a frame's (those are indented) is its `module.Class: message`."""
    lines = trace.rpartition("Traceback (most recent call last):\n")[2].splitlines()
    said = "\n".join(lines[next((i for i, line in enumerate(lines) if line[:1].strip()), len(lines)) :])
    name, _, message = said.partition(": ")
    cls = _kinds().get(name)  # our own classes by name, nothing imported on the text's word
    return cls(message) if cls is not None else None


def _kinds() -> dict[str, type[TextgruError]]:
    """Every `TextgruError` class loaded, by its `module.Class` name."""
    found, todo = {}, [TextgruError]
    while todo:
        cls = todo.pop()
        found[f"{cls.__module__}.{cls.__qualname__}"] = cls
        todo.extend(cls.__subclasses__())
    return found


def a_kind(value: object) -> str:
    """What `value` is, for a refusal: "an int", "a list", "None" (not "a int", "a NoneType")."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def cut_at_word(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters cut at a word with "..." (a review: a refusal's reason cut at 300
    characters ended "...inside the worker functio")."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "..."


def require_bool(value: object, name: str) -> None:
    """One line for a flag that is not True or False: `bool("false")` is True, and an `overwrite="false"` from a
    config file replaced the user's report (a review)."""
    if not isinstance(value, bool):
        raise TextgruError(f"{name}={value!r} must be true or false")


def require_split(split: object) -> None:
    """One line for a split that is not a name: `split=0` was taken as no split, the default (a review)."""
    if split is not None and not isinstance(split, str):
        raise TextgruError(f"split={split!r} must be a split's name (e.g. 'test', 'validation', 'all') or None")


def check_keywords(options: Mapping[str, Any], *functions: Callable[..., Any]) -> None:
    """One line for keywords that none of `functions` takes (`serve` hands its other keywords to `build_server`: a
    review found a typo, max_batch=8, was Python's TypeError naming that internal function), each with the closest
    known keyword, as `generate` names a sampling option's typo."""
    params = [p for f in functions for p in inspect.signature(f).parameters.values()]
    known = sorted({p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)})
    unknown = [k for k in options if k not in known]
    if unknown:
        close = {k: difflib.get_close_matches(k, known, n=1, cutoff=0.5) for k in unknown}
        shown = ", ".join(f"{k}" + (f" (did you mean {close[k][0]}?)" if close[k] else "") for k in unknown)
        raise TextgruError(f"unknown keyword(s) {shown}; {functions[-1].__name__}() takes {', '.join(known)}")
