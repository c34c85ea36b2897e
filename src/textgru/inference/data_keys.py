"""The keys a data dict given to `Classifier.evaluate` may hold: those of a data config of its source (or of the
model's own data config); any other is one line, with the closest key."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from textgru.errors import TextgruError

SOURCE_CONFIGS = {"tweets": "tweets", "hub": "imdb"}  # a data dict's source -> the config that fills in the rest


def check_data_keys(data: Mapping[str, Any], trained_on: Mapping[str, Any]) -> None:
    """One line for a data dict's key that no data config of its source has (nor the model's own): a review found
    `ignore_label` left every row in, unsaid, where the command line refuses `data.ignore_label`."""
    from textgru.config import data_config

    known = {*data_config(SOURCE_CONFIGS.get(str(data.get("source")), "local")), *trained_on, "label_names"}
    unknown = [str(k) for k in data if k not in known]
    if unknown:
        close = {k: difflib.get_close_matches(k, sorted(known), n=1, cutoff=0.6) for k in unknown}
        shown = ", ".join(k + (f" (did you mean {close[k][0]}?)" if close[k] else "") for k in unknown)
        raise TextgruError(f"data: unknown key(s) {shown}; a data config here takes {', '.join(sorted(known))}")
