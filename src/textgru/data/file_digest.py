"""The content digest of a labelled data config's own files (`data=local`'s `data.path`). A checkpoint records it, so
that an evaluation that carves its split from those files again can tell when they changed since training: a carved
test split of an edited or re-sorted file can hold texts the model trained on."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError


def files_digest(cfg: Mapping[str, Any]) -> str | None:
    """A digest of the bytes of `cfg`'s `data.path` files, in order; None for other sources, folders or missing files."""
    from textgru.data.local import expand_paths

    if cfg.get("source") != "local" or not cfg.get("path"):
        return None
    try:
        files = expand_paths(cfg["path"], "data.path")
    except (TextgruError, TypeError):
        return None
    if not files or not all(Path(f).is_file() for f in files):  # a folder of label folders: not digested
        return None
    return bytes_digest(files)


def bytes_digest(files: list[str]) -> str:
    """A digest of the files' bytes, in order (20 hex digits of SHA-256)."""
    digest = hashlib.sha256()
    for name in files:
        with open(name, "rb") as f:
            for block in iter(lambda f=f: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:20]
