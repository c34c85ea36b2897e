"""Where a checkpoint argument leads: a `.ckpt` file as given, or a run folder's `checkpoints/best.ckpt`; an ONNX
export, an unfinished run or a missing file named in one line; a run still training or stopped, a warning."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from textgru.console import command_arg
from textgru.errors import TextgruError
from textgru.run_lock import lock_holder

# predict, eval and serve take an export's folder, other commands a checkpoint (a review: "give the folder itself"
# led an export of model.onnx to "... is an ONNX export, not a checkpoint")
EXPORT_FILE_HINT = "give the folder, or its run folder where a checkpoint is needed"

log = logging.getLogger(__name__)


def resolve_checkpoint_path(path: str | os.PathLike[str]) -> Path:
    """A `.ckpt` file, or a run folder's `checkpoints/best.ckpt` (or a folder's `best.ckpt`)."""
    if path is None or str(path) in ("", "???"):  # a folder named None is a folder (a review)
        raise TextgruError("no checkpoint given: give a run folder (outputs/<task>/<date>/<time>) or a .ckpt file")
    try:  # any os.PathLike, not only pathlib's (a review: its str() was taken for the path)
        p = Path(os.fsdecode(os.fspath(path))).expanduser()
    except TypeError:
        raise TextgruError(f"{path!r} is not a path; give a run folder or a .ckpt file") from None
    if p.is_dir():
        found = next((c for c in (p / "checkpoints" / "best.ckpt", p / "best.ckpt") if c.is_file()), None)
        if found is None:
            if (p / "model.onnx").is_file():  # it said "no best.ckpt in folder"
                raise TextgruError(f"{str(p)!r} is an ONNX export, not a checkpoint; give the run folder it came from")
            last, done = p / "checkpoints" / "last.ckpt", (p / "metrics.json").is_file()  # done: model_checkpoint off
            if (p / "checkpoints" / "best-unfinished.ckpt").is_file():  # a review: last.ckpt was named instead
                last = p / "checkpoints" / "best-unfinished.ckpt"  # (the best on validation so far)
            hint = (
                f"use {last}"
                + ("" if done else f", or continue the unfinished run: textgru train {command_arg('resume', p)}")
                if last.is_file()
                else "give a run folder that holds checkpoints/best.ckpt, or a .ckpt file"
            )
            raise TextgruError(f"no best.ckpt in folder {str(p)!r}; {hint}")
        return found
    if not p.is_file():
        raise TextgruError(f"checkpoint {str(p)!r} does not exist; give a run folder or a .ckpt file")
    return p


def warn_if_unfinished(checkpoint: Path, verb: str) -> bool:
    """A warning where `checkpoint` (resolved) is of a run folder that has not finished: still training (a command
    holds its lock) or stopped (a config.yaml and no metrics.json), so that what is `verb` is its best so far, not the
    model it ends with (a review: eval, predict, export and textgru.load of a run still training said nothing).
    Whether it warned."""
    checkpoint = Path(os.path.realpath(checkpoint))  # through links (to the file, its folder): of that run (a review)
    folder = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
    kinds = {
        "best": "best checkpoint so far",
        "last.ckpt": "latest checkpoint",
        "last.": "last checkpoint before a resume",
    }
    kind = next((k for name, k in kinds.items() if checkpoint.name.startswith(name)), "checkpoint")  # last.before-...
    if (holder := lock_holder(folder)) is not None:
        log.warning(
            "%s is still training (process %s): its %s (%s) is %s, not the model it ends with",
            *(folder, holder, kind, checkpoint.name, verb),
        )
        return True
    ran = (folder / ".hydra").is_dir() or (folder / "train.log").is_file()  # a review: a config.yaml of one's own
    if ran and not (folder / "metrics.json").is_file() and (folder / "config.yaml").is_file():
        log.warning("%s has not finished (no metrics.json): its %s (%s) is %s", folder, kind, checkpoint.name, verb)
        return True
    return False
