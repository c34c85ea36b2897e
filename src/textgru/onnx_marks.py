"""textgru's marks in an exported graph's metadata: whose it is (`textgru.format`), for which task and format
version, and the digest of the config.json written beside it, so that neither file can be edited or swapped alone
(`textgru.inference.onnx_runtime.textgru_marks` reads them back)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textgru import __version__
from textgru.onnx_format import FORMAT, FORMAT_VERSION, sha256

CONFIG_MARK = "textgru.config_sha256"  # model.onnx's metadata: the digest of the config.json written beside it


def config_digest(config: dict[str, Any]) -> str:
    """The SHA-256 of config.json's values (keys sorted) but `model_sha256`, which is the graph's own checksum: the
    graph carries it (`CONFIG_MARK`), so an edited config.json (labels reordered, another max_length) is refused."""
    values = {k: v for k, v in config.items() if k != "model_sha256"}
    return sha256(json.dumps(values, sort_keys=True, allow_nan=False).encode("utf-8"))


def annotate(path: Path, task: str, inputs: list[dict[str, Any]]) -> None:
    """Our marks in the model's own metadata (a .onnx file found alone says whose it is and for which task), and
    the dynamic axes named as in config.json (`batch`, `time`) instead of torch.export's symbols (`s2`, `s70`)."""
    import onnx

    model = onnx.load(str(path))
    names: dict[str, str] = {}
    graph_inputs = {v.name: v for v in model.graph.input}
    for spec in inputs:
        for dim, want in zip(graph_inputs[spec["name"]].type.tensor_type.shape.dim, spec["shape"], strict=True):
            if isinstance(want, str) and dim.dim_param:
                names[dim.dim_param] = want
    for value in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in names:
                dim.dim_param = names[dim.dim_param]
    add_marks(model, {"textgru.format": FORMAT, "textgru.task": task, "textgru.format_version": str(FORMAT_VERSION)})
    model.producer_name, model.producer_version = "textgru", __version__
    onnx.save(model, str(path))


def add_marks(model: Any, marks: dict[str, str]) -> None:
    """Set `marks` in an `onnx.ModelProto`'s metadata (replacing entries of the same keys)."""
    kept = [(e.key, e.value) for e in model.metadata_props if e.key not in marks]
    del model.metadata_props[:]
    for key, value in [*kept, *marks.items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def seal(path: Path, config: dict[str, Any]) -> None:
    """The config's digest into the graph's metadata, then the graph's checksum into the config: each file vouches
    for the other (`config_digest`)."""
    import onnx

    model = onnx.load(str(path))
    add_marks(model, {CONFIG_MARK: config_digest(config)})
    onnx.save(model, str(path))
    config["model_sha256"] = sha256(path)
