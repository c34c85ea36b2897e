"""`textgru.export(ckpt_path, output)` (`textgru export ... format=onnx output=<folder>`): a checkpoint to a folder that
runs without PyTorch: `model.onnx`, `tokenizer.json` and `config.json` (`textgru.onnx_format`).

The GRUs are lowered to ONNX `GRU` operators (`textgru.onnx_lowering`), the graph captured with `torch.export` with
dynamic batch and time axes (`textgru.onnx_graphs`), translated by the dynamo ONNX exporter, then run on onnxruntime
against PyTorch on random inputs: a difference over 1e-4 stops the export with nothing written. The folder is built
next to `output` and renamed into place at the end; nothing is pickled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from textgru import __version__
from textgru.errors import TextgruError, a_kind
from textgru.local_paths import not_local, os_absolute
from textgru.onnx_format import (
    FORMAT,
    FORMAT_VERSION,
    INSTALL_HINT,
    PARITY_TOLERANCE,
    ExportFolder,
    check_export_output,
    sha256,
    staging_folder,
)
from textgru.onnx_marks import annotate, seal
from textgru.onnx_parity import parity
from textgru.run_folder import RunFolder
from textgru.tasks import task_use

log = logging.getLogger(__name__)
OPSET = 18  # the GRU translation writes opset-18 operators


def require_export_packages() -> None:
    """One line naming what to install when onnx, onnxscript or onnxruntime is missing (or onnxscript is too old)."""
    missing = []
    for name in ("onnx", "onnxscript", "onnxruntime"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise TextgruError(f"exporting to ONNX needs {', '.join(missing)}: {INSTALL_HINT}")
    import onnxscript

    version = tuple(int(p) for p in onnxscript.__version__.split(".")[:3] if p.isdigit())
    if version < (0, 7, 1):  # older versions lowered nn.GRU with silently wrong outputs (linear_before_reset)
        raise TextgruError(f"onnxscript {onnxscript.__version__} is too old; {INSTALL_HINT}")


def _capture(graph: nn.Module, example: tuple[torch.Tensor, ...], dynamic: dict[str, dict[int, Any]]) -> Any:
    """torch.export with every named axis dynamic. A guard on a size being 1 or 2 (the bidirectional forecaster
    slices its window) gets a second try with size-oblivious reasoning, as torch.onnx's own capture does; the
    self-check then runs sizes 1 and 2. Whatever stays specialised is an error, never a silently fixed axis."""
    try:
        return torch.export.export(graph, example, dynamic_shapes=dynamic, strict=False)
    except Exception as first:  # torch.export raises several types
        try:
            with torch.fx.experimental._config.patch(backed_size_oblivious=True):  # type: ignore[attr-defined]
                return torch.export.export(graph, example, dynamic_shapes=dynamic, strict=False)
        except Exception:
            raise TextgruError(
                f"torch.export could not capture the model with dynamic batch and time axes "
                f"({str(first).splitlines()[0][:200]})"
            ) from first


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter's per-pass INFO logs and its deprecation warnings stay out of the user's console."""
    loggers = [logging.getLogger(n) for n in ("onnxscript", "onnx_ir", "torch.onnx", "torch.export", "torch._export")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            for category in (FutureWarning, UserWarning, DeprecationWarning):
                warnings.simplefilter("ignore", category)
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _write_onnx(graph: nn.Module, plan: dict[str, Any], path: Path) -> None:
    from textgru.onnx_lowering import CUSTOM_TRANSLATIONS

    with _quiet_exporter():
        program = _capture(graph, plan["example"], plan["dynamic"])
        onnx_program = torch.onnx.export(
            program,
            dynamo=True,
            input_names=[i["name"] for i in plan["inputs"]],
            output_names=[o["name"] for o in plan["outputs"]],
            opset_version=OPSET,
            custom_translation_table=CUSTOM_TRANSLATIONS,
            optimize=True,
            verbose=False,
        )
        assert onnx_program is not None
        onnx_program.save(str(path))


def _training_metrics(checkpoint: str | None) -> dict[str, float | str] | None:
    """The metrics of the run whose best checkpoint this is (finite numbers and words such as `stopped_by`: strict
    JSON), or None."""
    metrics = RunFolder.metrics_of_checkpoint(checkpoint) if checkpoint else None
    if metrics is None:
        return None
    return {
        k: v
        for k, v in metrics.items()
        if isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
    }


def _config(task: str, meta: dict[str, Any], plan: dict[str, Any], worst: float, tmp: ExportFolder) -> dict[str, Any]:
    import onnx
    import onnxruntime
    import onnxscript

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "task": task,
        "textgru_version": __version__,  # that exported; the checkpoint's own is trained_with_textgru
        "trained_with_textgru": meta.get("textgru_version"),
        "model_sha256": None,  # `seal` sets it, once the graph holds this config's digest
        "tokenizer_sha256": sha256(tmp.tokenizer) if tmp.tokenizer.is_file() else None,  # text tasks
        "opset": OPSET,
        "inputs": plan["inputs"],
        "outputs": plan["outputs"],
        **plan["config"],
        "model": {"class": meta["model_class"], **meta["model_args"]},
        "data_config": meta.get("data_config"),  # what evaluate() reads by default, as in the checkpoint
        "split_rule": meta.get("split_rule"),  # and how its splits were carved
        "source_checkpoint": meta.get("path"),
        "source_checkpoint_step": (meta.get("file_state") or {}).get("step"),  # an eval report's `checkpoint_step`
        "training_metrics": _training_metrics(meta.get("path")),
        "parity_with_pytorch": {"max_abs_diff": worst, "tolerance": PARITY_TOLERANCE, **plan.get("parity_units", {})},
        "exporter": {
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxscript": onnxscript.__version__,
            "onnxruntime": onnxruntime.__version__,
            "gru": "one ONNX GRU per layer (linear_before_reset=1; sequence_lens for the BiGRU)",
        },
    }


def _move_into_place(staged: Path, out: Path, overwrite: bool) -> None:
    """The staged export renamed to `out`. An `out` there now is checked again (one made during the export, by the user
    or another command, is refused, never deleted) and set aside until the new one is in place."""
    if not (out.exists() or out.is_symlink()):
        os.rename(staged, out)  # fails if a folder appeared in between: nothing is replaced
        return
    check_export_output(out, overwrite)
    aside = staged.with_suffix(".old")  # as long as the staging name, which the output's check allows for (a review:
    # .<name>.replaced-<pid> was 4 bytes longer: "File name too long" after the whole export)
    os.rename(out, aside)
    try:
        os.rename(staged, out)
    except OSError:
        os.rename(aside, out)  # the earlier export back where it was
        raise
    shutil.rmtree(aside, ignore_errors=True)


def export(
    ckpt_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    format: str = "onnx",
    overwrite: bool = False,
) -> Path:
    """Export the checkpoint (a `.ckpt` file or a run folder) to the folder `output` for onnxruntime; returns its
    path. `textgru.load(output)` then gives the same Classifier / LanguageModel / Forecaster on onnxruntime.

    An existing `output` is replaced only with `overwrite` and only when it holds an earlier export; a failed export
    leaves nothing behind."""
    from textgru.checkpoint import load_checkpoint, rebuild_model
    from textgru.onnx_graphs import PLANS
    from textgru.onnx_lowering import lowered_copy

    if format != "onnx":
        raise TextgruError(f"format={format!r} is not supported; use format=onnx")
    if output is None or (isinstance(output, str) and not output.strip()):  # not "None": a folder of that name
        raise TextgruError("no output folder given: pass output=<folder>")
    if not isinstance(output, (str, os.PathLike)):  # a review: export(ckpt, 123) was a TypeError
        raise TextgruError(f"output= takes a folder name (a str or Path), not {a_kind(output)}")
    if why := not_local(str(output), new=True):  # a review: s3://b/e was written as ./s3:/b/e
        raise TextgruError(f"output={output} {why}")
    out = Path(os_absolute(str(output)))  # '.', 'x/..' named: the staging folder goes beside it, as the OS resolves it
    check_export_output(out, overwrite)
    require_export_packages()
    ckpt = load_checkpoint(ckpt_path)
    task = ckpt["textgru"]["task"]
    if task not in PLANS:
        raise TextgruError(f"{ckpt['path']!r} holds task {task!r}, which textgru cannot export{task_use(task)}")
    model, meta = rebuild_model(ckpt, "cpu")
    plan = PLANS[task](model, meta)
    tmp, made = staging_folder(out)
    try:
        with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
            _write_onnx(plan["graph"](lowered_copy(model)), plan, tmp.model)
        annotate(tmp.model, task, plan["inputs"])
        worst = parity(plan["graph"](model), tmp.model, plan)
        if worst > PARITY_TOLERANCE:
            raise TextgruError(
                f"the exported graph differs from PyTorch by {worst:.2e} (> {PARITY_TOLERANCE}) on random inputs; "
                "nothing was written. A model whose weights grew very large can be numerically unstable, its outputs "
                "moved by rounding alone (PyTorch's own move with the batch then): check its weights (retrain with "
                "weight decay or gradient clipping); otherwise please report this with your versions"
            )
        if meta.get("tokenizer"):
            tmp.tokenizer.write_bytes(meta["tokenizer"].encode("utf-8"))  # bytes as hashed, on any platform
        config = _config(task, meta, plan, worst, tmp)
        seal(tmp.model, config)
        tmp.config.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp.path, 0o777 & ~umask)  # mkdtemp's folder is private; the export is an ordinary folder
        _move_into_place(tmp.path, out, overwrite)
    finally:
        if tmp.path.exists():
            shutil.rmtree(tmp.path, ignore_errors=True)
        for folder in made:  # empty where the export failed; holding it where it succeeded
            with contextlib.suppress(OSError):
                folder.rmdir()
    unit = " std" if "scale" in plan else ""
    log.info("exported %s (%s) to %s: max abs difference to PyTorch %.1e%s", ckpt["path"], task, out, worst, unit)
    return out
