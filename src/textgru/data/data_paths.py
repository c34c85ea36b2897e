"""The files a `data.path` names: a path as written, a glob, or a list of them."""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path

from textgru.errors import TextgruError

log = logging.getLogger(__name__)


def is_pattern(path: str) -> bool:
    """True where `path` holds glob characters and nothing of that name exists: a file named `reviews[1].csv` is that
    file (a review: read as a pattern, it trained on `reviews1.csv` beside it, or "matched no file" alone)."""
    return any(ch in path for ch in "*?[") and not Path(path).expanduser().exists()


def _from_its_folder(pattern: str) -> str:
    """`pattern` with the folder it starts from taken as written, so `set[1]/*.csv` is the CSV files of `set[1]/`, not
    of `set1/` (a review: another folder's files were trained on, unsaid)."""
    parts = Path(pattern).parts
    end = os.sep if pattern.endswith(("/", os.sep)) else ""  # `*/`: folders only (a review: a sweep's files too)
    for i in range(len(parts) - 1, 0, -1):
        if Path(*parts[:i]).is_dir():
            return os.path.join(glob.escape(os.path.join(*parts[:i])), *parts[i:]) + end
    return pattern


def glob_paths(pattern: str) -> list[str]:
    """A pattern's matches, sorted (`**` recurses), from its folder as written (`_from_its_folder`)."""
    return sorted(glob.glob(_from_its_folder(pattern), recursive=True))


def _data_matches(pattern: str) -> list[str]:
    """`glob_paths` less the matches in a run folder below the pattern's folder, with a warning, as `text_files`
    leaves them out (the review of that change: `corpus/**/*.txt` still read an earlier run's samples.txt)."""
    found = glob_paths(pattern)
    parts = Path(pattern).parts
    base = Path(*parts[: next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))])
    run_of = {f: _run_folder_of(Path(f), base) for f in found}
    runs = sorted({str(r) for r in run_of.values() if r is not None})
    if runs:
        log.warning("%s: matches in %d run folder(s) not read (%s): their files are outputs, not data", pattern,
                    len(runs), runs[0] + (", ..." if len(runs) > 1 else ""))  # fmt: skip
    return [f for f in found if run_of[f] is None]


def _run_folder_of(path: Path, base: Path) -> Path | None:
    """The run folder (one holding Hydra's .hydra) that `path` is in, below `base`, or None."""
    for folder in path.parents:
        if folder == base or base not in folder.parents:
            return None
        if (folder / ".hydra").is_dir():
            return folder
    return None


def glob_matches(pattern: str) -> bool:
    """Whether a pattern matches anything, read as `glob_paths` reads it: the first match ends the search (a `**`
    over a large tree, for a command-line check)."""
    return next(glob.iglob(_from_its_folder(pattern), recursive=True), None) is not None


def expand_paths(path: str | list[str], what: str) -> list[str]:
    """Files and folders named by a path, a glob (`**` recurses) or a list of them; a missing one is an error."""
    paths = [path] if isinstance(path, str) else list(path)
    files: list[str] = []
    for p in paths:
        p = str(Path(p).expanduser())
        found = _data_matches(p) if is_pattern(p) else ([p] if Path(p).exists() else [])
        if not found and is_pattern(p) and glob_matches(p):  # a review: "does not exist" for matches left out
            raise TextgruError(
                f"{what} {p!r} matches only files in run folders (those holding .hydra), which are a run's outputs, "
                "not data; name the data files themselves, or move them out of the run folder"
            )
        if not found:
            raise TextgruError(
                f"{what} {p!r} does not exist; check data.path (relative paths are from where you ran the command; "
                "a run's file moved since: textgru eval ... data=local data.path=<file>, and its columns)."
            )
        files += found
    return files


def refuse_folders_among(files: list[str]) -> None:
    """A glob or list for data.path names data files only; a folder in it was refused as the unsupported data file
    type '' (a review), in words that named neither the folder nor the fix."""
    folder = next((f for f in files if Path(f).is_dir()), None)
    if folder is None or len(files) == 1:  # one folder alone: a folder of label folders
        return
    parent = Path(folder).parent
    ext = next((Path(f).suffix for f in files if Path(f).is_file() and Path(f).suffix), "")
    fix = f"e.g. data.path='{parent / ('*' + ext)}'" if ext else f"data.path={parent} if its sub-folders are labels"
    raise TextgruError(
        f"data.path takes in {folder}, which is a folder; a glob or list for data.path names data files only: give "
        f"{fix} (a folder of label sub-folders goes alone in data.path)"
    )


def text_files(folder: Path) -> tuple[list[Path], int]:
    """The .txt files anywhere under `folder` (.TXT too), sorted, through linked folders too (each real folder once, so
    a link loop ends; a review: `rglob` skipped a linked sub-folder, half a corpus left out without a word), and how
    many other files they leave out (hidden ones not counted; hidden folders, .git, not read). A run folder (one that
    holds Hydra's .hydra) is not read, with a warning: a language model trained from inside its corpus folder read its
    own earlier run's samples.txt as a document (a review)."""
    files, others, seen, runs = [], 0, set(), []
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        if ".hydra" in dirs and Path(root) != Path(folder):
            runs.append(root)
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # .git, .ipynb_checkpoints: not documents (a review)
        for name in names:
            path = Path(root) / name
            if name.lower().endswith(".txt") and path.is_file():
                files.append(path)
            elif not name.startswith("."):
                others += 1
    if runs:
        log.warning("%s: %d run folder(s) under it not read (%s): their files are outputs, not data", folder, len(runs),
                    os.path.relpath(runs[0], folder) + (", ..." if len(runs) > 1 else ""))  # fmt: skip
    return sorted(files), others
