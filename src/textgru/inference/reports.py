"""Where an evaluation's report goes: `<split>_metrics.json` (and its plot) in an output folder, never overwriting
an earlier report unless asked; and what it says it scored."""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textgru.atomic_files import write_text_atomic
from textgru.checkpoint_state import changed_since
from textgru.config_path_rules import Folder
from textgru.errors import TextgruError, a_kind, require_bool
from textgru.folder_probe import FILE_TEMP_SPARE, name_too_long
from textgru.local_paths import not_local

# what to do where a report appeared while an evaluation ran (`atomic_files.written_together`)
REPORT_FIX = "run again with another output_dir, or overwrite=true (in Python, overwrite=True) to replace it"


def report_path(
    output_dir: str | os.PathLike[str] | None, split: str, overwrite: bool, plot: str, checkpoint: str | None = None
) -> Path | None:
    """`<output_dir>/<split>_metrics.json`, or None without an `output_dir`; one line for a file given as the folder
    and a name too long for the file system, and, without `overwrite`, for an earlier report there (saying so where
    it scored another state of the file `checkpoint`) or any file of the plot's name `<split>_<plot>` (a review: a
    user's own file of that name was replaced)."""
    if output_dir is None:
        return None
    require_bool(overwrite, "overwrite")
    if not split or any(sep in split for sep in ("/", "\\", os.sep)) or split.startswith("."):
        raise TextgruError(f"split={split!r} cannot name a report file; use a split name without / or a leading .")
    if why := not_local(str(output_dir), new=True):  # before Path(), which makes s3://b of it s3:/b (a review)
        raise TextgruError(f"output_dir={output_dir} {why}")
    folder = Path(output_dir)
    report, plot_file = folder / f"{split}_metrics.json", folder / f"{split}_{plot}"
    if too_long := name_too_long(report, FILE_TEMP_SPARE) or name_too_long(plot_file, FILE_TEMP_SPARE):
        raise TextgruError(f"the report's path (output_dir, split) {too_long}")  # else an OSError (Path.exists too)
    if folder.exists() and not folder.is_dir():
        raise TextgruError(f"output_dir={str(output_dir)!r} is a file; give a folder for the report")
    if why := Folder().problem(str(folder)):  # a file above it: checked before scoring (a review: a traceback after)
        raise TextgruError(f"output_dir={str(output_dir)!r} {why}")
    for path in (report, plot_file):
        if path.exists() and not path.is_file() or path.is_symlink() and not path.exists():  # (lexists: a link too)
            raise TextgruError(
                f"{path} is in the way ({'a folder' if path.is_dir() else 'not a file'}); move it or "
                "choose another output_dir"
            )
        if path.exists() and not overwrite:
            changed = changed_since(path, checkpoint) if path == report else ""
            raise TextgruError(
                f"{path} exists{changed}; pass overwrite=true (in Python, overwrite=True) or another output_dir"
            )
    return report


def write_json(result: Mapping[str, Any], path: Path) -> None:
    """`result` as indented JSON at `path` (its folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, report_json(result))


def report_json(result: Mapping[str, Any]) -> str:
    """`result` as indented JSON, a confusion matrix's rows one line each (a review: 5,000 labels, a number a line
    with its indent, wrote 225 MB that no editor opened)."""
    matrix = result.get("confusion_matrix")
    if not (isinstance(matrix, list) and matrix and all(isinstance(row, list) for row in matrix)):
        return json.dumps(result, indent=2)
    mark = f"confusion-matrix-{uuid.uuid4().hex}"  # in no other value
    text = json.dumps({**result, "confusion_matrix": mark}, indent=2)
    rows = ",\n    ".join(json.dumps(row) for row in matrix)
    return text.replace(json.dumps(mark), "[\n    " + rows + "\n  ]", 1)


def _split_path(cfg: Mapping[str, Any], split: str) -> Any:
    """The file(s) a data config gives for `split` itself (`test_path`, `validation_path`), else None."""
    return {"test": cfg.get("test_path"), "validation": cfg.get("validation_path")}.get(split)


def report_folder(eval_dir: Path, data: Mapping[str, Any] | None, split: str = "test", taken: Any = ()) -> Path:
    """Where `textgru eval` reports by default: `eval_dir` for the checkpoint's own data, `eval_dir/<name>` for data
    given with `data=` (the stem of the local file the split is read from, a Hub dataset's or a source's name), so that
    a report on your file is not taken for the model's own test report, nor blocks it (a review); `<name>_data` where
    `taken` (the stems of the checkpoints beside it, whose own reports are `eval/<stem>/`) holds the name (a review:
    data=last.csv and last.ckpt's own report shared eval/last/)."""
    if data is None:
        return eval_dir
    own = _split_path(data, split)
    path = own or data.get("path")  # data=local's or data=local_csv's file (a Hub config has none)
    paths = [path] if isinstance(path, str) else list(path or [])
    hub = "_".join(str(data[k]) for k in ("hub_name", "hub_config") if data.get(k))
    name = Path(paths[0]).stem.replace("*", "all") if paths else hub or str(data.get("source") or "data")
    if len(paths) > 1:  # a review: a list was named after its first file, and then blocked that file's own report
        digest = hashlib.sha256("\n".join(str(Path(p).expanduser().absolute()) for p in paths).encode()).hexdigest()
        name += f"_and_{len(paths) - 1}_more_{digest[:6]}"  # (and another list with the same first file apart)
    name = re.sub(r"[^\w.-]+", "_", name).strip("._") or "data"
    return eval_dir / (f"{name}_data" if name in taken and eval_dir.name == "eval" else name)


def data_scored(data: Any, trained_on: Mapping[str, Any], split: str) -> str:
    """What an evaluation scored, for its report: a file (absolute), a data source (a Hub dataset's name; the local
    files the split came from, absolute), or in-memory rows."""
    if isinstance(data, (str, os.PathLike)) and Path(data).expanduser().exists():
        return str(Path(data).expanduser().absolute())
    if data is not None and not isinstance(data, (str, Mapping)):
        return f"{a_kind(data)} of rows"
    cfg = dict(trained_on) if data is None else dict(data) if isinstance(data, Mapping) else {"source": data}
    cfg.setdefault("source", "local")  # a dict without one is read as data=local (a review: "data=None")
    if cfg.get("source") == "local":
        own = _split_path(cfg, split)
        keys = ("path", "validation_path", "test_path") if split == "all" else () if own else ("path",)
        given = [own] if own else [cfg.get(k) for k in keys]
        paths = [p for g in given for p in ([g] if isinstance(g, str) else g or [])]
        where = [str(Path(p).expanduser().absolute()) for p in paths]
    else:
        where = [str(cfg[k]) for k in ("hub_name", "hub_config") if cfg.get(k)]
    return " ".join([f"data={cfg.get('source')}", *where]) + (" (the checkpoint's data)" if data is None else "")
