"""Where an evaluation's report goes: `<split>_metrics.json` (and its plot) in an output folder, never overwriting
an earlier report unless asked."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textgru.atomic_files import write_text_atomic
from textgru.errors import TextgruError


def report_path(output_dir: str | os.PathLike[str] | None, split: str, overwrite: bool) -> Path | None:
    """`<output_dir>/<split>_metrics.json`, or None without an `output_dir`; one line for a file given as the folder
    and for an earlier report there without `overwrite`."""
    if output_dir is None:
        return None
    if not split or any(sep in split for sep in ("/", "\\", os.sep)) or split.startswith("."):
        raise TextgruError(f"split={split!r} cannot name a report file; use a split name without / or a leading .")
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise TextgruError(f"output_dir={str(output_dir)!r} is a file; give a folder for the report")
    report = folder / f"{split}_metrics.json"
    if report.exists() and not overwrite:
        raise TextgruError(f"{report} exists; pass overwrite=True or another output_dir")
    return report


def write_json(result: Mapping[str, Any], path: Path) -> None:
    """`result` as indented JSON at `path` (its folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(result, indent=2))
