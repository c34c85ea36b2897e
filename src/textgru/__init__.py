"""textgru: GRU text models (sentiment classification, language modelling, forecasting) with Lightning, Hydra and HF.

    import textgru
    clf = textgru.load("outputs/sentiment/<date>/<time>")      # a Classifier, LanguageModel or Forecaster
    clf.predict(["what a lovely day", "the train is late again"])
    textgru.export("outputs/sentiment/<date>/<time>", "exported/sentiment")   # then textgru.load("exported/...")
    run = textgru.train(["task=sentiment", "trainer.max_epochs=1"])
    textgru.serve(classifier="outputs/sentiment/<date>/<time>", port=8000)   # HTTP API and web page

The public names are those in `__all__`; every other module is internal. Names are imported on first use, so
`import textgru` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from textgru.ensembling import ensemble
    from textgru.errors import TextgruError, TrainingStopped
    from textgru.inference.classifier import Classifier
    from textgru.inference.forecaster import Forecaster
    from textgru.inference.generation import SamplingOptions
    from textgru.inference.language_model import LanguageModel
    from textgru.inference.loading import load
    from textgru.inference.prediction import Prediction
    from textgru.onnx_export import export
    from textgru.runs import TrainResult, sweep, train
    from textgru.serving.server import serve

_EXPORTS = {
    "load": "textgru.inference.loading",
    "Classifier": "textgru.inference.classifier",
    "Prediction": "textgru.inference.prediction",
    "LanguageModel": "textgru.inference.language_model",
    "Forecaster": "textgru.inference.forecaster",
    "SamplingOptions": "textgru.inference.generation",
    "train": "textgru.runs",
    "sweep": "textgru.runs",
    "TrainResult": "textgru.runs",
    "TextgruError": "textgru.errors",
    "TrainingStopped": "textgru.errors",
    "export": "textgru.onnx_export",
    "ensemble": "textgru.ensembling",
    "serve": "textgru.serving.server",
}
__all__ = [
    "Classifier",
    "Forecaster",
    "LanguageModel",
    "Prediction",
    "SamplingOptions",
    "TextgruError",
    "TrainResult",
    "TrainingStopped",
    "__version__",
    "ensemble",
    "export",
    "load",
    "serve",
    "sweep",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        from textgru.first_imports import imported  # most of them import torch: Ctrl+C then broke it (first_imports)

        imported(_EXPORTS[name])
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'textgru' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
