"""`textgru eval`'s data config as its command line typed it: a `data=` group's defaults cannot be told from a user's
values, the command line's overrides can; so the keys that carve the model's splits are the model's own where not
typed (the classifier's labelling, the forecaster's split fractions), and a forecaster's window, horizon or batch size
typed otherwise is one line, not ignored."""

from __future__ import annotations

from typing import Any

from textgru.command_line_checks import command_line_overrides
from textgru.errors import TextgruError

FRACTIONS = ("val_fraction", "test_fraction")  # what carves a forecaster's spans (its series in time order: no seed)


def check_forecast_sizes(forecaster: Any, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """`textgru eval`: `data.window=`/`data.horizon=` given for a forecaster trained with others, or `batch_size=`,
    is one line, not ignored. Returns the data config without them (its defaults are no one's), nor its split
    fractions unless typed: the model's carve the spans, as `Forecaster.evaluate(path)` carves them (a review:
    local_csv.yaml's 15% test span, for a model trained with 5%, held rows it trained on), as `evaluate` takes it."""
    typed: set[str] = set()
    for override in command_line_overrides():
        key, _, value = override.lstrip("+~").partition("=")
        typed.add(key)
        if key == "batch_size":  # a review of the forecaster: taken, and ignored
            raise TextgruError(
                f"{override}: a forecaster scores its windows in batches of its own; batch_size is for classifiers: "
                "drop it"
            )
        own = {"data.window": forecaster.window, "data.horizon": forecaster.horizon}.get(key)
        if own is not None and value.strip() != str(own):
            raise TextgruError(
                f"{override}: this forecaster's {key[5:]} is {own}, fixed by its checkpoint; drop {key}="
            )
    dropped = {"window", "horizon", *(k for k in FRACTIONS if f"data.{k}" not in typed)}
    return data and {k: v for k, v in data.items() if k not in dropped}


def labelling_as_named(data: dict[str, Any] | None, split: str) -> dict[str, Any] | None:
    """`textgru eval`: the data config without its `ignore_labels`/`label_names` where they hold the defaults and the
    command line did not name them, so that the model's own are taken for its data; one named is kept, even the default
    (a review: [unsup] given was replaced by the model's []). split=all: as given (the default [unsup] left out)."""
    from textgru.inference.trained_split import LABELLING

    if split == "all":
        return data
    named = {o.lstrip("+~").partition("=")[0] for o in command_line_overrides()}
    default = {k: v for k, v in LABELLING.items() if f"data.{k}" not in named}  # (a review: every other key was
    return data and {k: v for k, v in data.items() if k not in default or default[k] != v}  # dropped: data=tweets)
