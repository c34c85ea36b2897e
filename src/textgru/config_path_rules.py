"""Kinds of rules for paths in a config: a file to read, a file or folder (or glob) to read, a folder to write into,
a file to write. Each says in words what is wrong with a path (missing, a folder, a device, a file in the way) and
what to give instead; `textgru.config_rules` has the kinds for other values."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgru.config_literals import literal
from textgru.config_rules import Rule
from textgru.data.data_paths import glob_matches, is_pattern
from textgru.folder_probe import FILE_TEMP_SPARE, FOLDER_TEMP_SPARE, name_too_long, takes_folders
from textgru.local_paths import not_local, os_absolute
from textgru.mlflow_uri import artifact_location_problem, from_environment, resolve_uri, uri_problem

STDIN = "leave the option out and pipe into the command (stdin)"  # a CLI review: input=- was "does not exist"


def _kind(p: Path) -> str:
    """What a path that exists but is not a regular file or folder is, in words (a link is followed)."""
    kinds = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a pipe"}
    return kinds.get(stat.S_IFMT(p.stat().st_mode), "a socket")


def _creatable(p: Path) -> str | None:
    """None when folder `p` exists or could be made here, else why not."""
    for parent in (p, *p.parents):
        if parent.is_symlink() and not parent.exists():
            return f"{parent} is a broken link to {os.readlink(parent)} (remove it)"
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is a file" + ("" if parent == p else ", so no folder can be made under it")
            if not os.access(parent, os.W_OK | os.X_OK) or not takes_folders(parent):
                return f"{parent} is not writable"
            return None
    return None


def outside_output_dir(run_dir: Any, cfg: Any) -> bool:
    """Whether the run's folder `run_dir` lies outside the config's `paths.output_dir`, which then takes nothing of
    this run: a read-only current folder's outputs/ is no reason to refuse it (MLflow's default store there has its
    own rule). False when either is unknown."""
    from omegaconf import OmegaConf

    try:
        base = OmegaConf.select(cfg, "paths.output_dir", default=None, throw_on_missing=True)
    except Exception:
        return False
    if not isinstance(run_dir, (str, os.PathLike)) or not str(run_dir).strip() or not isinstance(base, str):
        return False
    run, out = Path(os_absolute(str(run_dir))), Path(os_absolute(base))  # as the OS resolves them
    return out != run and out not in run.parents


def unread_paths(run_dir: Any, cfg: Any) -> set[str]:
    """The path keys of `cfg` that a run in `run_dir` will not read, so they need not exist: `paths.output_dir` when
    the run's folder lies outside it, `model.pretrained_lm` when the folder already holds the run's tokenizer (a
    resume: it reads that copy of the LM's tokenizer, and every weight from its checkpoint)."""
    unread = {"paths.output_dir"} if outside_output_dir(run_dir, cfg) else set()
    if isinstance(run_dir, (str, os.PathLike)) and str(run_dir).strip():
        from textgru.run_folder import RunFolder

        if RunFolder(run_dir).tokenizer.is_file():
            unread.add("model.pretrained_lm")
    return unread


def static_folder(value: Any) -> str | None:
    """The folder a run-folder value names before Hydra fills in its interpolations: the value itself without any,
    or the absolute path before the first `${` (`/scratch/runs/${now:%H-%M-%S}` lies in /scratch/runs); else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    if "${" not in value:
        return value
    prefix = os.path.expanduser(value.split("${", 1)[0])
    return prefix if os.path.isabs(prefix) else None


@dataclass(frozen=True)
class File(Rule):
    """An existing regular file (not a folder, device or pipe)."""

    shape: str = "a file"
    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return f"is not a path; give {self.shape}"
        p = Path(value).expanduser()
        if too_long := name_too_long(p):
            return too_long
        if not p.exists():
            return _missing(self.shape, value)
        if p.is_dir():
            return f"is a folder; give {self.shape}"
        if not p.is_file():
            stdin = f"{STDIN}, or " if p.is_fifo() else ""  # input=/dev/stdin, input=<(zcat x.gz)
            return f"is {_kind(p)}, not a regular file; {stdin}give {self.shape}"
        if not os.access(p, os.R_OK):
            return f"is not readable; give {self.shape} you can read"
        return None


@dataclass(frozen=True)
class Existing(Rule):
    """An existing file or folder, a glob matching at least one, or (with `many`) a list of these."""

    shape: str = "a file or folder"
    many: bool = False
    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        many = self.many and isinstance(value, Sequence) and not isinstance(value, str)
        paths = list(value) if many else [value]
        if not paths or not all(isinstance(v, str) and v.strip() for v in paths):
            return f"is not a path; give {self.shape}" + (" (or a list of them)" if self.many else "")
        for v in paths:
            p = Path(v).expanduser()
            which = f"holds {v}, which " if many else ""
            if too_long := name_too_long(p):
                return f"{which}{too_long}"
            if is_pattern(v):  # a file named reviews[1].csv is that file (a review)
                if not glob_matches(str(p)):
                    return (
                        f"{which}matches no file; give {self.shape} (relative paths are from where you ran the command)"
                    )
            elif not p.exists():
                return which + _missing(self.shape, v)
            elif not (p.is_dir() or p.is_file()):
                return f"{which}is {_kind(p)}; give {self.shape}"
        return None


@dataclass(frozen=True)
class Folder(Rule):
    """A folder to write into: it exists or can be made (no file stands in the way, the parent is writable)."""

    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "is not a path; give a folder"
        if why := not_local(value, new=True):
            return why
        if too_long := name_too_long(Path(value).expanduser(), FOLDER_TEMP_SPARE):
            return too_long
        why = _creatable(Path(value).expanduser())
        return None if why is None else f"cannot be used as a folder: {why}; choose another folder"


@dataclass(frozen=True)
class NewFile(Rule):
    """A file to write: not a folder or a device, in a folder that exists or can be made (`example`: a file name to
    suggest in a folder given instead)."""

    null: bool = False
    what: str = ""
    example: str = "out.jsonl"

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "is not a path; give the name of a file to write"
        if why := not_local(value, new=True):
            return why
        p = Path(value).expanduser()
        if too_long := name_too_long(p, FILE_TEMP_SPARE):
            return too_long
        if p.is_dir():
            return f"is a folder; give a file name, e.g. {p / self.example}"
        if p.exists() and not p.is_file():
            return f"is {_kind(p)}, not a regular file; give the name of a file to write"
        why = _creatable(p.parent)
        return None if why is None else f"cannot be written: {why}; choose another path"


@dataclass(frozen=True)
class StoreUri(Rule):
    """An MLflow tracking URI (`logger.mlflow.tracking_uri`): what `textgru.mlflow_uri.uri_problem` sees without
    MLflow, the network or writing anything (whether a server answers is checked when the run opens the store)."""

    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "is not a URI; give sqlite:///<folder>/mlflow.db or http(s)://<host>:<port>"
        why = uri_problem(resolve_uri(value))
        return None if why is None else f"{why}{from_environment(value)}"


@dataclass(frozen=True)
class ArtifactLocation(Rule):
    """`logger.mlflow.artifact_location`: a folder or a URI of a scheme an MLflow artifact store takes."""

    null: bool = False
    what: str = ""

    def problem(self, value: Any) -> str | None:
        if value is None and self.null:
            return None
        if not isinstance(value, str) or not value.strip():
            return "is not a folder or a URI; give one, or null"  # a path rule: "key=value <problem>"
        return artifact_location_problem(value)


def absolute_data_paths(cfg: Any) -> None:
    """The data config's paths (and `model.pretrained_lm`) made absolute, in place, so that a run's config.yaml (and
    its checkpoint's data config) names the same files from any folder: `textgru eval`, `resume=` and
    `textgru.load(run).evaluate()` run elsewhere read them. A glob keeps its pattern; a URL is left as it is."""
    from omegaconf import DictConfig, ListConfig

    model = cfg.get("model")
    if isinstance(model, DictConfig) and isinstance(model.get("pretrained_lm"), str) and model.pretrained_lm.strip():
        # recorded, not needed: a resume reads the run's copy
        model.pretrained_lm = literal(_absolute(model.pretrained_lm))
    data = cfg.get("data")
    if not isinstance(data, DictConfig):
        return
    for key in ("path", "validation_path", "test_path"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            data[key] = literal(_absolute(value))  # a file named a${x}.csv: no interpolation (a review)
        elif isinstance(value, ListConfig):
            data[key] = [literal(_absolute(v)) if isinstance(v, str) and v.strip() else v for v in value]


def _absolute(path: str) -> str:
    return path if "://" in path else os_absolute(path)


def _missing(shape: str, value: str) -> str:
    """Why a path to read is not there: a URI is no local path; a Windows path is named as one (reviews)."""
    if uri := not_local(value, new=False):
        return uri
    if value.strip() == "-":
        return f"is no stdin here: {STDIN}, or give {shape}"
    windows = "; to separate folders use /" if not_local(value, new=True) else ""
    return f"does not exist; give {shape} (relative paths are from where you ran the command{windows})"
