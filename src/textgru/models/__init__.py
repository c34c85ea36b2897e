"""Plain `nn.Module`s: the BiGRU encoder, pooling, the classifier, the language model, the forecaster, and the GRU
written from its equations. `MODEL_CLASSES` is the allowlist a checkpoint's model is rebuilt from, by name."""

from __future__ import annotations

import importlib

from torch import nn

from textgru.errors import TextgruError

# name stored in a checkpoint -> (module, class): fixed here, never taken from a file
MODEL_CLASSES = {
    "GRUClassifier": ("textgru.models.gru_classifier", "GRUClassifier"),
    "GRULanguageModel": ("textgru.models.gru_lm", "GRULanguageModel"),
    "GRUForecaster": ("textgru.models.gru_forecaster", "GRUForecaster"),
    "BiGRULanguageModel": ("textgru.models.bilm", "BiGRULanguageModel"),
}


def model_class(name: str) -> type[nn.Module]:
    """The textgru model class called `name` (a key of `MODEL_CLASSES`); anything else is refused."""
    if name not in MODEL_CLASSES:
        raise TextgruError(f"model class {name!r} is not one of textgru's models ({', '.join(MODEL_CLASSES)})")
    module, attr = MODEL_CLASSES[name]
    return getattr(importlib.import_module(module), attr)
