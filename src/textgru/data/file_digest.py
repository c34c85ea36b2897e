"""The content digest of a data config's own files (`data=local`'s `data.path`, `data=local_csv`'s CSV). A checkpoint records it, so
that an evaluation that carves its split from those files again can tell when they changed since training: a carved
test split of an edited or re-sorted file can hold texts the model trained on."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError


def files_digest(cfg: Mapping[str, Any]) -> str | None:
    """A digest of the bytes of `cfg`'s `data.path` files, in order, or of a folder's .txt files with their paths in
    it (label folders: a review found a folder's edits unwarned), or of a forecaster's CSV (`data=local_csv`: a review
    of the forecaster found its edits unwarned); None for other sources or missing files."""
    from textgru.data.data_paths import expand_paths, text_files

    if cfg.get("source") == "local_csv":
        return _series_digest(cfg)
    if cfg.get("source") != "local" or not cfg.get("path"):
        return None
    try:
        files = expand_paths(cfg["path"], "data.path")
    except (TextgruError, TypeError):
        return None
    if len(files) == 1 and Path(files[0]).is_dir():  # the texts of its label folders, as they are read: not a loose
        root, left_out = Path(files[0]), {str(y).strip().casefold() for y in cfg.get("ignore_labels") or []}  # README
        texts = [
            str(f) for f in text_files(root)[0] if f.parent != root and f.parent.name.strip().casefold() not in left_out
        ]
        return bytes_digest(texts, names=[os.path.relpath(f, root) for f in texts])  # (a review: false warnings)
    if not files or not all(Path(f).is_file() for f in files):
        return None
    return bytes_digest(files)


def _series_digest(cfg: Mapping[str, Any]) -> str | None:
    """The digest of a `data=local_csv` config's file (`data.path`, or else `data.package_file`'s), or None."""
    from textgru.data.series import package_file

    path = cfg.get("path")
    try:
        if path in (None, "", "???") and cfg.get("package_file"):
            path = package_file(str(cfg["package_file"]))
    except TextgruError:
        return None
    if path in (None, "", "???") or not Path(str(path)).expanduser().is_file():
        return None
    return bytes_digest([str(Path(str(path)).expanduser())])


def bytes_digest(files: list[str], names: list[str] | None = None) -> str:
    """A digest of the files' bytes, in order (20 hex digits of SHA-256), each after its name in `names` where given
    (a text moved to another label folder changes it)."""
    digest = hashlib.sha256()
    for i, name in enumerate(files):
        if names is not None:
            digest.update(names[i].encode("utf-8", "surrogateescape") + b"\0")
        with open(name, "rb") as f:
            for block in iter(lambda f=f: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:20]
