"""The exported-model folder (`textgru export format=onnx`): its file names, its marks, and `config.json` read back
as plain values, each checked. Shared by the exporter (`textgru.onnx_export`) and the onnxruntime backend
(`textgru.inference.onnx_loading`), so that loading never imports the exporter.

    <folder>/model.onnx       the graph (metadata textgru.format=textgru-onnx, textgru.task)
    <folder>/tokenizer.json   the Hugging Face tokenizer (text tasks)
    <folder>/config.json      what a runtime needs: task, inputs/outputs, labels, max length, special ids, sizes

Nothing in `config.json` is ever turned into code: it is JSON, and only the keys below are read, each checked to be a
plain value of the right type (a class, path to import or pickle cannot be expressed, and is never looked for)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgru.console import command_arg
from textgru.errors import TextgruError, require_bool
from textgru.forecast_fields import forecast_field_problem

FORMAT = "textgru-onnx"
FORMAT_VERSION = 1
INSTALL_HINT = "pip install 'textgru[onnx]' (onnx, onnxscript>=0.7.1, onnxruntime)"
PARITY_TOLERANCE = 1e-4  # the export's self-check: max abs difference to PyTorch on random inputs
QUANTIZE_CHOICES = ("int8",)


@dataclass(frozen=True)
class ExportFolder:
    """An exported model's folder and the files in it."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser())

    model = property(lambda self: self.path / "model.onnx")
    tokenizer = property(lambda self: self.path / "tokenizer.json")
    config = property(lambda self: self.path / "config.json")

    def commands(self, task: str) -> str:
        """The commands that run this export of a `task` model."""
        ckpt = command_arg("ckpt_path", self.path)
        return {
            "sentiment": f"textgru predict {ckpt} (or eval), textgru serve {command_arg('classifier', self.path)}",
            "lm": f"textgru generate {ckpt}, textgru serve {command_arg('lm', self.path)}",
        }.get(task, f"textgru eval {ckpt}")


def is_export(path: str | os.PathLike[str]) -> bool:
    """Whether `path` names an exported model: a `.onnx` file, or a folder with `model.onnx` or `config.json` and
    no checkpoint (a run folder has `checkpoints/`)."""
    p = Path(str(path)).expanduser()
    if p.suffix.lower() == ".onnx":
        return True
    if not p.is_dir() or (p / "checkpoints").is_dir() or (p / "best.ckpt").is_file():
        return False
    folder = ExportFolder(p)
    return folder.model.is_file() or folder.config.is_file()


def sha256(path: Path | bytes) -> str:
    """The file's (or these bytes') SHA-256 (config.json's `model_sha256`: a truncated or swapped model.onnx is
    refused)."""
    if isinstance(path, bytes):
        return hashlib.sha256(path).hexdigest()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_our_config(path: Path) -> bool:
    """Whether `path` is the config.json of a textgru export (what `overwrite=true` may replace)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


EXPORT_FILES = ("model.onnx", "tokenizer.json", "config.json")  # all an export writes


def check_export_output(output: Path, overwrite: bool) -> None:
    """An existing output is replaced only with `overwrite` and only when it holds an export's files and nothing
    else (or nothing): what a user added there (an eval/ report, notes) is never deleted. Its folder must be
    writable."""
    require_bool(overwrite, "overwrite")
    if output.suffix.lower() == ".onnx":  # loaders take a path ending in .onnx for the graph file itself
        raise TextgruError(
            f"output={output} ends in .onnx; an export is a folder (model.onnx and its files): name it, e.g. output={output.with_suffix('')}"
        )
    if output == Path.cwd() or output in Path.cwd().parents:
        raise TextgruError(
            f"output={output} is the folder you are in (or holds it); give the export a folder of its own"
        )
    if output.is_symlink():
        raise TextgruError(f"output={output} is a symbolic link; give the folder it points to, or another output=")
    if output.exists():
        if not output.is_dir():
            raise TextgruError(f"output={output} is a file; give a folder name for the export")
        if not overwrite:
            raise TextgruError(
                f"output={output} exists; pass overwrite=true (in Python, overwrite=True) to replace it, or choose another output="
            )
        if any(output.iterdir()) and not is_our_config(ExportFolder(output).config):
            raise TextgruError(
                f"output={output} holds files that are not a textgru export; overwrite=true only replaces an earlier "
                "export: choose another output="
            )
        other = sorted(p.name for p in output.iterdir() if p.name not in EXPORT_FILES)
        if other:
            raise TextgruError(
                f"output={output} holds more than an export ({', '.join(other[:5])}); overwrite=true would delete "
                "them: move them out of it, or choose another output="
            )
    parent = output.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():  # a review: the command line said so, the Python API blamed permissions
        raise TextgruError(f"output={output}: {parent} is a file, so no folder can be made under it; choose another")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise TextgruError(f"output={output}: cannot write in {parent}; choose an output= in a folder you can write")


def staging_folder(output: Path) -> tuple[ExportFolder, list[Path]]:
    """A new hidden folder next to `output` to build the export in (renamed into place once it passed its checks), and
    the folders above it made for it, deepest first (a failed export removes them: a review found them left empty)."""
    made = [p for p in output.parents if not p.exists()]
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        return ExportFolder(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")), made
    except OSError as e:
        raise TextgruError(f"output={output}: cannot write there ({e.strerror}); choose another output=") from None


# key -> (kinds, what) per task; "int" excludes bool; lists are checked element by element
_COMMON = {"format": ("str", "the text 'textgru-onnx'"), "format_version": ("int", "an integer"), "task": ("str", "")}
_TEXT = {
    "max_length": ("posint", "a positive integer"),
    "pad_id": ("int", "an integer"),
    "unk_id": ("int", "an integer"),
}
KEYS: dict[str, dict[str, tuple[str, str]]] = {
    "sentiment": {**_TEXT, "labels": ("list[str]", "a list of label names")},
    "lm": {
        **_TEXT,
        "num_layers": ("posint", "a positive integer"),
        "hidden_size": ("posint", "a positive integer"),
        "vocab_size": ("posint", "a positive integer"),
    },
    "forecast": {
        "window": ("posint", "a positive integer"),
        "horizon": ("posint", "a positive integer"),
        "features": ("posint", "a positive integer"),
        "columns": ("list[str]", "a list of column names"),
        "mean": ("list[num]", "a list of numbers"),
        "std": ("list[num]", "a list of numbers"),
    },
}


def _fits(value: Any, kind: str) -> bool:
    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return is_int(value)
    if kind == "posint":
        return is_int(value) and value > 0
    if kind == "list[str]":
        return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    if kind == "list[num]":
        return isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    raise ValueError(kind)


def _no_constant(name: str) -> float:
    """Python's json reads NaN and Infinity, which JSON has not (a review: a NaN metric was a traceback); the
    exporter writes finite numbers only (its digest is strict JSON)."""
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    """A JSON number, which must be finite (1e999 reads as inf)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is not a finite number")
    return value


def read_config(folder: ExportFolder) -> dict[str, Any]:
    """config.json's values that textgru reads, checked: one line for a missing file, bad JSON, a foreign or newer
    format, an unknown task, or a key missing or of the wrong type."""
    where = str(folder.config)
    if not folder.config.is_file():
        raise TextgruError(
            f"{str(folder.path)!r} has no config.json, which says how to run its model; export again with "
            "textgru export format=onnx"
        )
    try:
        config = json.loads(folder.config.read_text(encoding="utf-8"), parse_constant=_no_constant, parse_float=_finite)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:  # RecursionError: nested too deep
        raise TextgruError(f"{where!r} is not readable JSON ({str(e)[:80]}); export again") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise TextgruError(f"{where!r} is not a textgru export's config (no format {FORMAT!r})")
    if config.get("format_version") != FORMAT_VERSION:
        raise TextgruError(
            f"{str(folder.path)!r} has export format {str(config.get('format_version'))[:20]}; this textgru reads "
            f"format {FORMAT_VERSION}: export the checkpoint again"
        )
    task = config.get("task")
    if task not in KEYS:
        raise TextgruError(f"{where!r} names an unknown task {str(task)[:40]!r}; use one of {', '.join(KEYS)}")
    for key, (kind, what) in {**_COMMON, **KEYS[task]}.items():
        if not _fits(value := config.get(key), kind):  # null or left out: missing, not "='None'" (a review)
            found = f" is missing, where {what or kind} belongs"
            found = found if value is None else f"={str(value)[:60]!r} is not {what or kind}"
            raise TextgruError(f"{where!r}: {key}{found}; export the checkpoint again")
    for key in ("data_config", "model", "training_metrics"):  # optional; read by evaluate() and /info
        if not isinstance(config.get(key), (dict, type(None))):
            raise TextgruError(f"{where!r}: {key} is not a mapping; export the checkpoint again")
    problem = forecast_field_problem(config, config["features"], "features") if task == "forecast" else None
    if problem:  # the rule a forecaster checkpoint's fields are held to
        raise TextgruError(f"{where!r}: {problem}; export the checkpoint again")
    return config
