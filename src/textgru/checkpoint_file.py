"""A checkpoint file read as torch data with `weights_only=True`, every way it can fail one line: not a checkpoint
(a file of a run or an export), truncated, damaged (a member failing its checksum), or needing pickle."""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from textgru.atomic_files import damaged_member
from textgru.checkpoint_path import EXPORT_FILE_HINT
from textgru.errors import TextgruError


def read_checkpoint_file(p: Path) -> Any:
    """What `torch.load(p, weights_only=True)` reads from the file `p`; one line naming the problem where it fails,
    with the checkpoint beside it (or an earlier copy) to use instead."""
    beside = [n for n in ("best.ckpt", "best-unfinished.ckpt", "last.ckpt") if n != p.name and (p.parent / n).is_file()]
    other = f"use another checkpoint, e.g. {beside[0]}, or an earlier copy" if beside else "use an earlier copy of it"
    if not zipfile.is_zipfile(p):
        with open(p, "rb") as f:
            head = f.read(2)
        if not head.startswith(b"\x80"):  # neither torch's zip format nor its legacy pickle format
            if (p.parent / "config.json").is_file() and (p.parent / "model.onnx").is_file():
                raise TextgruError(f"{str(p)!r} is a file of the ONNX export {str(p.parent)!r}; {EXPORT_FILE_HINT}")
            if p.suffix not in (".ckpt", ".pt", ".pth") and head != b"PK":  # a review: "corrupt; use an earlier copy"
                run = (p.parent / "checkpoints").is_dir() or (p.parent / "config.yaml").is_file()  # of a healthy file
                where = f"a file of the run folder {str(p.parent)!r}, " if run else ""
                raise TextgruError(
                    f"{str(p)!r} is {where}not a checkpoint; give a run folder or a .ckpt file in its checkpoints/"
                )
            kind = "truncated (its end is missing)" if head == b"PK" else "not a torch checkpoint file"
            raise TextgruError(f"checkpoint {str(p)!r} is corrupt or {kind}; {other}")
    elif (bad := damaged_member(p)) is not None:
        raise TextgruError(f"checkpoint {str(p)!r} is corrupt ({bad}: a damaged copy); {other}")
    try:
        with warnings.catch_warnings(action="ignore", category=UserWarning):  # "Detected pickle protocol 4", 2 lines
            ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:  # torch's message: advice in terminal colours, then what it refused
        found = re.search(r"Unsupported [^\n]*?(?=\. |\.?$)", re.sub(r"\x1b\[[0-9;]*m", "", str(e)), re.MULTILINE)
        why = found.group(0) if found else "objects other than tensors"  # not torch's advice, cut (a review)
        why = f"needs pickle to load, which textgru refuses for safety (torch: {why[:160]}); re-save it with textgru"
        raise TextgruError(f"checkpoint {str(p)!r} {why}") from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        why = (str(e).splitlines() or [type(e).__name__])[0][:120]
        raise TextgruError(f"checkpoint {str(p)!r} is corrupt or truncated ({why}); {other}") from e
    return ckpt
