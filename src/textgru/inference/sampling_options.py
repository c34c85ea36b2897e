"""The knobs of sampling from a GRU language model (`generate`, `stream`, `textgru generate`, the server's
/generate): `SamplingOptions`, whose `check()` turns a bad value or a value of the wrong type into one line."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

from textgru.errors import TextgruError

# temperature, top_p and repetition_penalty stay where float32 arithmetic holds (1e-300 is 0 in float32, 1e308 inf)
SMALLEST_KNOB, LARGEST_KNOB = 1e-6, 1e6


MOST_SAMPLES = 10_000  # one batch: 100,000,000 samples asked for a MemoryError (logits: samples x vocabulary)
MOST_TOKENS = 100_000_000  # samples x new tokens, all held until the end (their ids as Python lists: ~0.8 GB here)


@dataclass
class SamplingOptions:
    """The knobs of `generate`; `check()` turns a bad value into one clear error."""

    max_new_tokens: int = 500  # the defaults are those of conf/generate.yaml (scripts/generate.py)
    temperature: float = 0.8
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1.0: off
    repetition_penalty: float = 1.0  # 1.0: off; >1 makes tokens already in the text less likely (CTRL's rule)
    greedy: bool = False
    num_samples: int = 1
    seed: int | None = None
    stop: Sequence[str] = field(default_factory=tuple)  # a sample ends before the first of these strings

    def check(self) -> SamplingOptions:
        self._check_types()
        if isinstance(self.stop, str):
            self.stop = (self.stop,)
        self.stop = tuple(str(s) for s in (self.stop or ()))
        if "" in self.stop:  # a review: dropped without a word here, refused by the command line
            raise TextgruError("stop: an empty string would end every sample before it starts; leave it out")
        if self.max_new_tokens < 0:
            raise TextgruError(f"max_new_tokens={self.max_new_tokens} must be 0 or more")
        if not self.greedy and not SMALLEST_KNOB <= self.temperature <= LARGEST_KNOB:
            raise TextgruError(
                f"temperature={self.temperature} must be from {SMALLEST_KNOB:g} to {LARGEST_KNOB:g}; for the most "
                "likely token every time use greedy=true"
            )
        if not SMALLEST_KNOB <= self.top_p <= 1:
            raise TextgruError(f"top_p={self.top_p} must be from {SMALLEST_KNOB:g} to 1; 1 turns it off")
        if self.top_k < 0:
            raise TextgruError(f"top_k={self.top_k} must be 0 (off) or more")
        if not SMALLEST_KNOB <= self.repetition_penalty <= LARGEST_KNOB:
            raise TextgruError(
                f"repetition_penalty={self.repetition_penalty} must be from {SMALLEST_KNOB:g} to {LARGEST_KNOB:g}; "
                "1 turns it off"
            )
        if not 1 <= self.num_samples <= MOST_SAMPLES:
            raise TextgruError(
                f"num_samples={self.num_samples} must be from 1 to {MOST_SAMPLES:,} (they run as one batch); "
                "for more, call again with other seeds"
            )
        if self.num_samples * self.max_new_tokens > MOST_TOKENS:  # a review: memory grew until the machine gave out
            raise TextgruError(
                f"num_samples={self.num_samples} x max_new_tokens={self.max_new_tokens} is more than {MOST_TOKENS:,} "
                "tokens, which are held in memory until the end; draw fewer or shorter samples (call again for more)"
            )
        return self

    def _check_types(self) -> None:
        """One line for a value of the wrong type (greedy="false" is a true string: it would decode greedily)."""
        kinds = {
            "max_new_tokens": "an integer", "top_k": "an integer", "num_samples": "an integer",
            "temperature": "a finite number", "top_p": "a finite number", "repetition_penalty": "a finite number",
            "greedy": "true or false", "seed": "an integer or None",
        }  # fmt: skip
        for name, kind in kinds.items():
            value = getattr(self, name)
            if kind == "true or false":
                if type(value).__name__ == "bool" and type(value).__module__ == "numpy":  # np.True_ from an array
                    setattr(self, name, value := bool(value))
                fits = isinstance(value, bool)
            elif isinstance(value, bool):
                fits = False
            elif kind == "a finite number":
                fits = isinstance(value, numbers.Real) and math.isfinite(value)
            else:
                fits = isinstance(value, numbers.Integral) or (value is None and name == "seed")
            if not fits:
                raise TextgruError(f"{name}={value!r} must be {kind}")
        if self.seed is not None and not -(2**63) <= self.seed < 2**64:
            raise TextgruError(f"seed={self.seed} must be from -2**63 to 2**64-1")
        stop = self.stop
        if not (
            stop is None
            or isinstance(stop, str)
            or (isinstance(stop, Sequence) and all(isinstance(s, str) for s in stop))
        ):
            raise TextgruError(f"stop={self.stop!r} must be a string or a list of strings")
