"""Where `textgru ensemble` may write the joined checkpoint: a new `.ckpt` file, not a folder, not one of the
checkpoints it joins, nor a file in a run's `checkpoints/` folder (a run's resume and best checkpoints)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError, a_kind, require_bool
from textgru.folder_probe import FILE_TEMP_SPARE, name_too_long, shortened
from textgru.local_paths import not_local
from textgru.run_folder import RunFolder


def checked_output(given: Any, overwrite: Any, sources: list[Path]) -> Path:
    """The file `given` (output=) names, expanded; one line where writing it is refused."""
    if not isinstance(given, (str, os.PathLike)):
        raise TextgruError(f"output= takes a file name (a str or Path), not {a_kind(given)}")
    require_bool(overwrite, "overwrite")
    if why := not_local(str(given), new=True):  # a review: s3://b/x.ckpt was written as ./s3:/b/x.ckpt
        raise TextgruError(f"output={shortened(given)} {why}")
    output = Path(given).expanduser()
    if too_long := name_too_long(output, FILE_TEMP_SPARE):
        raise TextgruError(f"output={shortened(output)} {too_long}")
    if output.is_dir():
        raise TextgruError(f"output={output} is a folder; give a file name, e.g. {output / 'ensemble.ckpt'}")
    if str(given).endswith(("/", os.sep)):  # Path() drops the slash (a review: output=new.ckpt/ wrote new.ckpt)
        raise TextgruError(f"output={given} names a folder; give a file name, e.g. {output / 'ensemble.ckpt'}")
    if output.suffix.lower() != ".ckpt":  # x.onnx held a torch checkpoint that eval then read as a broken ONNX file
        raise TextgruError(f"output={output}: give a .ckpt file name (for ONNX, textgru export the joined .ckpt)")
    if output.resolve() in sources:  # even with overwrite: a trained model would be lost (a review)
        raise TextgruError(f"output={output} is one of the checkpoints joined; write the joined one elsewhere")
    if (run := _run_of(output)) is not None:  # a review: overwrite=true replaced a run's last.ckpt (no resume then)
        raise TextgruError(
            f"output={output} is in the checkpoints folder of the run {run.path} (its resume and best checkpoints); "
            f"write the joined one elsewhere, e.g. {run.path / 'ensemble.ckpt'}"
        )
    if output.exists() and not overwrite:
        raise TextgruError(
            f"output={output} exists; pass overwrite=true (in Python, overwrite=True) to replace it, or choose another output="
        )
    if (wall := next((p for p in output.parents if p.exists()), None)) is not None and not wall.is_dir():
        raise TextgruError(f"output={output} cannot be written: {wall} is a file; choose another output=")
    return output


def _run_of(output: Path) -> RunFolder | None:
    """The run whose `checkpoints/` folder `output` is in (as RunFolder.of_checkpoint reads it), else None."""
    folder = output.resolve().parent
    run = RunFolder(folder.parent)
    # a run: its checkpoints or metrics, or a started one's config.yaml with Hydra's (a review: a project's own
    # config.yaml beside a checkpoints/ folder was taken for a run)
    if folder.name != "checkpoints" or not (run.finished_marker or run.config.exists() and run.hydra_config.exists()):
        return None
    return run
