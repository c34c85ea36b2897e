"""Self-contained checkpoints: what they hold besides weights, loading with `weights_only=True`, models rebuilt
from them (no Lightning import, so predict/generate start fast; the atomic writer is `checkpoint_io.py`)."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from textgru import __version__
from textgru.errors import TextgruError

FORMAT_VERSION = 1
TASK_NAMES = {
    "sentiment": "classifier (task=sentiment)",
    "lm": "language-model (task=lm)",
    "forecast": "forecaster (task=forecast)",
}


def checkpoint_extras(
    task: str,
    model_config: dict,
    tokenizer_json: str,
    label_names: list[str] | None,
    data_config: dict,
    max_length: int,
) -> dict[str, Any]:
    """What eval/predict/generate need besides the weights; plain types only, so `weights_only` loads it."""
    return {
        "format_version": FORMAT_VERSION,
        "textgru_version": __version__,
        "task": task,
        "model_config": model_config,
        "tokenizer": tokenizer_json,
        "label_names": label_names,
        "data_config": data_config,
        "max_length": max_length,
    }


def load_checkpoint(path: str | os.PathLike, expect_task: str | None = None) -> dict[str, Any]:
    """Load with `weights_only=True`; every failure becomes one line naming the problem."""
    p = Path(str(path)).expanduser()
    if str(path) in ("", "None", "???"):
        raise TextgruError("no checkpoint given: pass ckpt_path=<run folder>/checkpoints/best.ckpt")
    if p.is_dir():
        candidates = [p / "checkpoints" / "best.ckpt", p / "best.ckpt"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise TextgruError(f"no best.ckpt in folder {str(p)!r}; pass ckpt_path=<run folder>/checkpoints/best.ckpt")
        p = found
    if not p.is_file():
        raise TextgruError(f"checkpoint {str(p)!r} does not exist; pass ckpt_path=<run folder>/checkpoints/best.ckpt")
    if not zipfile.is_zipfile(p):
        with open(p, "rb") as f:
            head = f.read(2)
        if not head.startswith(b"\x80"):  # neither torch's zip format nor its legacy pickle format
            kind = "truncated (its end is missing)" if head == b"PK" else "not a torch checkpoint file"
            raise TextgruError(f"checkpoint {str(p)!r} is corrupt or {kind}; use another checkpoint, e.g. last.ckpt")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise TextgruError(
            f"checkpoint {str(p)!r} needs pickle to load, which textgru refuses for safety "
            f"({str(e).splitlines()[0][:120]}); re-save it with textgru"
        ) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise TextgruError(
            f"checkpoint {str(p)!r} is corrupt or truncated ({str(e).splitlines()[0][:120]}); "
            "use another checkpoint, e.g. last.ckpt"
        ) from e
    meta = ckpt.get("textgru") if isinstance(ckpt, dict) else None
    if not isinstance(meta, dict) or "task" not in meta:
        raise TextgruError(f"{str(p)!r} is not a textgru checkpoint (no 'textgru' metadata)")
    if int(meta.get("format_version", -1)) != FORMAT_VERSION:
        raise TextgruError(
            f"{str(p)!r} has checkpoint format {meta.get('format_version')} (textgru "
            f"{meta.get('textgru_version')}); this textgru {__version__} reads format {FORMAT_VERSION}"
        )
    if expect_task and meta["task"] != expect_task:
        raise TextgruError(
            f"{str(p)!r} is a {TASK_NAMES.get(meta['task'], meta['task'])} checkpoint, but this command "
            f"needs a {TASK_NAMES.get(expect_task, expect_task)} one"
        )
    ckpt["path"] = str(p)
    return ckpt


def model_state_dict(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The plain model's weights out of a Lightning state dict: the weight average (`ema.module.`) where the
    run kept one, else the trained weights (`model.`)."""
    state = ckpt["state_dict"]
    prefix = "ema.module." if any(k.startswith("ema.module.") for k in state) else "model."
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def rebuild_model(ckpt: dict[str, Any], device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model a loaded checkpoint (`load_checkpoint`) holds, in eval mode on `device`, and its `textgru`
    metadata (tokenizer JSON, label names, configs) with the file's path."""
    from hydra.utils import instantiate

    meta = dict(ckpt["textgru"], path=ckpt["path"])
    with torch.random.fork_rng(devices=[]):  # the throw-away initial weights leave the caller's random state alone
        model = instantiate(meta["model_config"])
    model.load_state_dict(model_state_dict(ckpt))
    model.to(device).eval()
    return model, meta
