"""The content digest of a data config's own files (`data=local`'s `data.path`, `data.validation_path` and
`data.test_path`; `data=local_csv`'s CSV). A checkpoint records it, so that an evaluation that carves its split from
those files again can tell when they changed since training (a carved test split of an edited or re-sorted file can
hold texts the model trained on), and a resumed run, that its validation or test file changed.

Its format: the 20 hex digits of `data.path`'s files, then ` validation_path=<hex>` and ` test_path=<hex>` where those
files are given. A checkpoint saved before the other files were digested holds the first part alone: each file's part
is compared only where both digests hold it (`changed_files`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError

OTHER_FILES = ("validation_path", "test_path")  # beside `path`, the files `data=local` reads (conf/data/local.yaml)


def files_digest(cfg: Mapping[str, Any]) -> str | None:
    """The digest of every file `cfg` reads (the module's docstring: its format), or None for other sources or a
    missing `data.path`. A review: an edited validation file went on unwarned on resume, its scores and the best
    checkpoint chosen by them from two validation sets."""
    first = path_digest(cfg)
    if first is None or cfg.get("source") != "local":
        return first
    parts = [first]
    for key in OTHER_FILES:
        if cfg.get(key) and (part := path_digest({**cfg, "path": cfg[key]})) is not None:
            parts.append(f"{key}={part}")
    return " ".join(parts)


def digest_parts(digest: str | None) -> dict[str, str]:
    """A `files_digest` by the key of the files it covers: `path`, and those of OTHER_FILES it holds."""
    if not digest:
        return {}
    first, *others = str(digest).split(" ")
    return {"path": first, **dict(part.partition("=")[::2] for part in others)}


def changed_files(then: str | None, now: str | None) -> list[str]:
    """The keys (`path`, `validation_path`, `test_path`) of the files whose part differs between two digests; a file
    one of them does not cover (a checkpoint saved before it was digested) is not compared."""
    old, new = digest_parts(then), digest_parts(now)
    return [key for key in old if key in new and old[key] != new[key]]


def path_digest(cfg: Mapping[str, Any]) -> str | None:
    """A digest of the bytes of `cfg`'s `data.path` files, in order, or of a folder's .txt files with their paths in
    it (label folders: a review found a folder's edits unwarned), or of a forecaster's CSV (`data=local_csv`: a review
    of the forecaster found its edits unwarned); None for other sources or missing files."""
    from textgru.data.data_paths import expand_paths, text_files
    from textgru.data.ignored_labels import IgnoredLabels

    if cfg.get("source") == "local_csv":
        return _series_digest(cfg)
    if cfg.get("source") != "local" or not cfg.get("path"):
        return None
    try:
        files = expand_paths(cfg["path"], "data.path")
    except (TextgruError, TypeError):
        return None
    if len(files) == 1 and Path(files[0]).is_dir():  # the texts of its label folders, as they are read: not a loose
        root, left_out = Path(files[0]), IgnoredLabels(cfg.get("ignore_labels"))  # as the reader matches them
        texts = [
            str(f)
            for f in text_files(root)[0]  # (hidden folders skipped; hidden files too, as the reader skips them)
            if f.parent != root and not left_out.matches(f.parent.name) and not f.name.startswith(".")
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


def edited_between(first: str | None, other: str | None) -> str | None:
    """The key (`path`, ...) of a file both digests cover whose contents differ (edited between two runs), or None."""
    a, b = digest_parts(first), digest_parts(other)
    return next((key for key in a if key in b and a[key] != b[key]), None)
