"""An exported folder (`textgru export format=onnx`) back as the object for its task, running on onnxruntime:
`textgru.load(folder)` and `Classifier.load(folder)` come here. The folder's files are checked to belong together
(config.json's task and checksum, the model's textgru marks) before anything runs; every failure is one line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError
from textgru.onnx_format import ExportFolder, read_config, sha256


def _folder(path: str | os.PathLike[str]) -> tuple[ExportFolder, Path]:
    """(folder, model file) named by an exported folder or its `.onnx` file."""
    p = Path(str(path)).expanduser()
    if p.suffix.lower() == ".onnx":
        if not p.is_file():
            raise TextgruError(f"{str(p)!r} does not exist; pass an exported folder")
        return ExportFolder(p.parent), p
    folder = ExportFolder(p)
    if not folder.model.is_file():
        raise TextgruError(f"folder {str(p)!r} has no model.onnx; export again with textgru export format=onnx")
    return folder, folder.model


def open_export(path: str | os.PathLike[str], threads: int | None = None) -> tuple[Any, dict[str, Any]]:
    """(runner, config) of an exported model after checking its files; threads: None follows PyTorch's."""
    from textgru.inference.onnx_runtime import RUNNERS, open_session, textgru_marks

    folder, model_file = _folder(path)
    if not folder.config.is_file():
        textgru_marks(model_file, open_session(model_file, 1))  # someone else's .onnx gets that line first
    config = read_config(folder)
    if config.get("model_sha256") != sha256(model_file):
        raise TextgruError(
            f"{str(model_file)!r} does not match its config.json (checksum differs): truncated or replaced; "
            "export again"
        )
    session = open_session(model_file, threads)
    marks = textgru_marks(model_file, session)
    if marks.get("textgru.task") != config["task"]:
        raise TextgruError(f"{str(model_file)!r} is not the {config['task']} graph config.json names; export again")
    return RUNNERS[config["task"]](session, config), dict(config, path=str(folder.path))


def load_export(
    path: str | os.PathLike[str], expect_task: str | None = None, device: str = "cpu", threads: int | None = None
) -> Any:
    """The `Classifier`, `LanguageModel` or `Forecaster` of an exported folder, on onnxruntime (CPU)."""
    from tokenizers import Tokenizer

    from textgru.inference.classifier import Classifier
    from textgru.inference.forecaster import Forecaster
    from textgru.inference.language_model import LanguageModel
    from textgru.tasks import task_title

    if str(device) != "cpu":
        raise TextgruError(f"device={device}: an exported model runs on CPU with onnxruntime; use device=cpu")
    runner, config = open_export(path, threads)
    task = config["task"]
    if expect_task and task != expect_task:
        raise TextgruError(
            f"{config['path']!r} is an exported {task_title(task)} model, but this needs a {task_title(expect_task)} one"
        )
    meta: dict[str, Any] = {
        "path": config["path"],
        "backend": "onnxruntime",
        "data_config": config.get("data_config"),
        "max_length": config.get("max_length"),
        "label_names": config.get("labels"),
        "export_config": config,
    }
    if task == "forecast":
        norm = {k: config[k] for k in ("columns", "mean", "std")}
        return Forecaster(runner, dict(meta, normalisation=norm, window=config["window"], horizon=config["horizon"]))
    tokenizer_file = ExportFolder(config["path"]).tokenizer
    if not tokenizer_file.is_file():
        raise TextgruError(f"{config['path']!r} has no tokenizer.json; export again with textgru export format=onnx")
    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
    except Exception as e:  # tokenizers raises a plain Exception for a file it cannot parse
        raise TextgruError(
            f"{str(tokenizer_file)!r} is not a readable tokenizer ({str(e)[:80]}); export again"
        ) from None
    if task == "sentiment":
        return Classifier(runner, tokenizer, config["labels"], config["max_length"], meta)
    return LanguageModel(runner, tokenizer, meta)
