"""onnxruntime as a backend of the inference API: runners with the model modules' call signatures, so that
`Classifier`, `LanguageModel`, `Forecaster` and `textgru.inference.generation` run an exported graph unchanged.

    OnnxClassifierModel(input_ids, lengths) -> logits                        like GRUClassifier
    OnnxLanguageModel(ids, hidden=None) -> (logits, hidden)                  like GRULanguageModel
    OnnxForecasterModel.rollout(normalised window, horizon) -> normalised    like GRUForecaster

They take and return torch tensors on CPU; `eval()` is accepted, `train(True)` refused (a graph does not train).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textgru.errors import TextgruError
from textgru.onnx_format import FORMAT, INSTALL_HINT


def session_options(threads: int | None = None) -> Any:
    """All graph optimisations, sequential execution, `threads` intra-op threads (None: as many as PyTorch uses,
    `torch.get_num_threads()`, so `torch.set_num_threads` sets both backends)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = int(threads or torch.get_num_threads())
    options.log_severity_level = 4  # fatal only: every error reaches the user as our one line, not twice
    return options


def open_session(model_file: Path, threads: int | None = None, graph: bytes | None = None) -> Any:
    """An onnxruntime session on CPU for `model_file` (or its bytes `graph`, read before); one line when onnxruntime
    is missing or the file is not a readable model."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise TextgruError(f"running an exported model needs onnxruntime: {INSTALL_HINT}") from None
    try:
        source = str(model_file) if graph is None else graph
        return ort.InferenceSession(source, session_options(threads), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types for unreadable models
        first = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise TextgruError(
            f"{str(model_file)!r} is not a readable ONNX model: corrupt or truncated ({first}); export again"
        ) from None


def textgru_marks(model_file: Path, session: Any) -> dict[str, str]:
    """The model's `textgru.*` metadata; one line for an ONNX model textgru did not export."""
    marks = dict(session.get_modelmeta().custom_metadata_map)
    if marks.get("textgru.format") != FORMAT:
        raise TextgruError(
            f"{str(model_file)!r} is an ONNX model, but not one textgru exported (no textgru metadata); export a "
            "textgru checkpoint with textgru export format=onnx"
        )
    return marks


class OnnxRunner:
    """What the inference classes and `textgru.inference.generation` ask of a model besides calling it. It pickles
    (multiprocessing, `datasets.map(num_proc=...)`) as its graph's bytes; the copy opens its own session."""

    training = False
    device = torch.device("cpu")

    def __init__(self, session: Any, config: dict[str, Any], graph: bytes, threads: int | None = None) -> None:
        self.session, self.config, self.graph, self.threads = session, config, graph, threads
        self.input_names = [i.name for i in session.get_inputs()]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "session"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.session = open_session(Path("model.onnx"), self.threads, self.graph)

    def eval(self) -> OnnxRunner:
        return self

    def train(self, mode: bool = True) -> OnnxRunner:
        if mode:
            raise TextgruError("an exported ONNX model cannot be trained; train the checkpoint instead")
        return self

    def parameters(self) -> Iterator[torch.Tensor]:
        return iter(())  # its weights live in the graph

    def run(self, *arrays: np.ndarray) -> list[np.ndarray]:
        if any(a.size == 0 for a in arrays):  # a review: onnxruntime aborts the whole process on an empty axis
            return self._empty_outputs(arrays)
        return self.session.run(None, dict(zip(self.input_names, arrays, strict=True)))

    def _empty_outputs(self, arrays: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        """The graph's outputs for inputs with an empty axis, made without running it, as PyTorch gives them (a batch
        of 0: each output empty, its shape from the inputs' named axes); one line where an output would not be empty
        (a time axis of 0: a GRU has no state to give) or its shape cannot be told."""
        sizes: dict[str, int] = {}
        for spec, array in zip(self.session.get_inputs(), arrays, strict=True):
            for axis, size in zip(spec.shape, array.shape, strict=True):
                if isinstance(axis, str) and sizes.setdefault(axis, size) != size:
                    sizes[axis] = -1  # the inputs disagree
        outputs = []
        for spec in self.session.get_outputs():
            shape = [sizes.get(a, -1) if isinstance(a, str) else a if isinstance(a, int) else -1 for a in spec.shape]
            if 0 not in shape or -1 in shape or spec.type not in _NUMPY_TYPES:
                shapes = ", ".join(str(a.shape) for a in arrays)
                raise TextgruError(
                    f"an exported model cannot run inputs of shapes {shapes}: onnxruntime stops the process on an "
                    "empty axis; give at least one row and one step"
                )
            outputs.append(np.zeros(shape, _NUMPY_TYPES[spec.type]))
        return outputs

    def __repr__(self) -> str:
        return f"{type(self).__name__}(onnxruntime, task={self.config['task']!r}, inputs={self.input_names})"


_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64}


def _numpy(x: torch.Tensor, dtype: Any) -> np.ndarray:
    return np.ascontiguousarray(x.detach().cpu().numpy(), dtype=dtype)


class OnnxClassifierModel(OnnxRunner):
    """`(input_ids (batch, time), lengths (batch,)) -> logits (batch, classes)`."""

    def __call__(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        logits, _ = self.run(_numpy(input_ids, np.int64), _numpy(lengths, np.int64))
        return torch.from_numpy(logits)


class OnnxLanguageModel(OnnxRunner):
    """`(ids (batch, time), hidden (layers, batch, hidden) or None) -> (logits (batch, time, vocab), hidden)`;
    None starts from the zero state."""

    def __call__(self, ids: torch.Tensor, hidden: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if hidden is None:
            hidden = torch.zeros(self.config["num_layers"], ids.shape[0], self.config["hidden_size"])
        logits, hidden_out = self.run(_numpy(ids, np.int64), _numpy(hidden, np.float32))
        return torch.from_numpy(logits), torch.from_numpy(hidden_out)


class OnnxForecasterModel(OnnxRunner):
    """`window (batch, time, features) -> forecast (batch, horizon, features)` in the series' units (the graph
    normalises); `rollout` speaks normalised values, as `GRUForecaster.rollout` does for `Forecaster`."""

    def __call__(self, window: torch.Tensor) -> torch.Tensor:
        (forecast,) = self.run(_numpy(window, self.units))
        return torch.from_numpy(forecast)

    @property
    def units(self) -> type[np.floating]:
        """The graph's type for values in the series' units: float64 (float32 in exports made before it was)."""
        return np.float64 if self.config["inputs"][0]["dtype"] == "float64" else np.float32

    def rollout(self, normed: torch.Tensor, horizon: int) -> torch.Tensor:
        trained = self.config["horizon"]
        if horizon > trained:  # a roll-out's step k depends only on the steps before it: shorter ones are exact
            raise TextgruError(
                f"horizon={horizon}: an exported forecaster forecasts at most the horizon it was exported with "
                f"({trained}); ask for {trained} or fewer, or use the checkpoint"
            )
        mean, std = (torch.tensor(self.config[k], dtype=torch.float64) for k in ("mean", "std"))  # (features,)
        forecast = self(normed.double() * std + mean)[:, :horizon].double()  # (batch, horizon, features)
        return ((forecast - mean) / std).float()  # normalised


RUNNERS: dict[str, type[OnnxRunner]] = {
    "sentiment": OnnxClassifierModel,
    "lm": OnnxLanguageModel,
    "forecast": OnnxForecasterModel,
}
