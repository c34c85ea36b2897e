"""Which state of a checkpoint file an evaluation scored (its SHA-256 and training step, in the report), and whether
the file has changed since: a run evaluated while it trained is refused its final report otherwise without a word on
why `overwrite=true` is what is wanted (a review)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of the file at `path`, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def file_state(ckpt: Mapping[str, Any], path: Path, changing: bool) -> dict[str, Any]:
    """What identifies the loaded checkpoint `ckpt` read from `path`: its training step, and the file's stat, for its
    SHA-256 to be taken when a report is written (hashing at every load cost predict and serve ~60 ms for 34 MB);
    taken now where the file is `changing` (its run still trains: it may be replaced before the report)."""
    step = ckpt.get("global_step")
    state = {"path": str(path), "stat": _stat(path), "step": step if type(step) is int else None}
    return {**state, "sha256": file_sha256(path)} if changing else state


def _stat(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def scored_state(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The report's record of the checkpoint state scored (`checkpoint_sha256`, `checkpoint_step`): the SHA-256 of
    the file as it is, where it is still the file that was loaded (same size, time and inode), else None."""
    state = meta.get("file_state") or {}
    if "sha256" not in state and state.get("stat") is not None:
        same = _stat(state["path"]) == state["stat"]
        state["sha256"] = file_sha256(state["path"]) if same else None  # (once: kept in the metadata)
    return {"checkpoint_sha256": state.get("sha256"), "checkpoint_step": state.get("step")}


def changed_since(report: Path, checkpoint: str | os.PathLike[str] | None) -> str:
    """'' or, where the report at `report` recorded a checkpoint digest other than the file `checkpoint` has now, a
    clause saying so, for the line that refuses to replace it ("<report> exists<clause>; pass overwrite=true ..."):
    an earlier state of this file, or another checkpoint where it recorded another path (a review: a report of
    last.ckpt was called an earlier state of best.ckpt). The same digest (a run moved or copied) says nothing. An
    export's is its `model.onnx`'s (a review: one replaced with overwrite=true was never said to have changed)."""
    try:
        scored = json.loads(report.read_text(encoding="utf-8"))
        recorded, path, step = (scored.get(k) for k in ("checkpoint_sha256", "checkpoint", "checkpoint_step"))
        if checkpoint is None or not isinstance(recorded, str) or file_sha256(_graph(checkpoint)) == recorded:
            return ""
        elsewhere = isinstance(path, str) and path != "" and _graph(path) != _graph(checkpoint)
    except (OSError, ValueError, AttributeError):  # unreadable, not JSON, no mapping, a NUL in a path: nothing to say
        return ""
    if elsewhere:
        return f" and scored another checkpoint ({path if len(path) <= 200 else '...' + path[-197:]})"  # its end
    at = f" (step {step})" if type(step) is int else ""  # (not a hand-edited true)
    return f" and scored an earlier state of {checkpoint}{at}, which has changed since"


def _graph(path: str | os.PathLike[str]) -> str:
    """The real path of the file scored: an export folder's `model.onnx` (its report records the folder and the
    graph's digest), else `path`'s."""
    return os.path.realpath(os.path.join(path, "model.onnx") if os.path.isdir(path) else path)
