"""A run folder's saved `config.yaml` read as data, not as code: a file that is not a whole run config is one line,
and every `_target_` in it must be one that textgru's own configs (or yours, in `./conf` or `--config-dir`) name, with
no interpolation, so a shared or altered run folder cannot make `resume=` call anything else; and hand edits of it
that a resume could not honour."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf

from textgru.config import CONF_DIR, user_conf_dirs
from textgru.config_literals import interpolates
from textgru.errors import TextgruError
from textgru.hydra_files import started_in
from textgru.run_folder import RunFolder

SECTIONS = ("seed", "optimized_metric", "optimized_mode", "data", "tokenizer", "model", "optimizer", "scheduler")
SECTIONS += ("trainer", "callbacks", "logger", "paths", "task")  # what every run's config.yaml holds


RESTORE_CONFIG = (  # (not .hydra/config.yaml: Hydra's composition, unresolved, is not a run's config; a review)
    "restore it from a config.before-resume-*.yaml beside it, or from a copy of the run folder"
)


def read_saved_config(path: Path) -> DictConfig:
    """The run config saved at `path`; one line where it is not valid YAML, not a mapping, or lacks a section."""
    restore = RESTORE_CONFIG
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        where = getattr(e, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        why = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise TextgruError(f"{path} is not valid YAML{at}: {why}; {restore}") from None
    if not isinstance(data, dict):
        held = f"a {type(data).__name__}" if data is not None else "nothing"
        raise TextgruError(f"{path} holds {held}, not a run config; {restore}")
    task = data.get("task") if isinstance(data.get("task"), dict) else {}
    optional = ("tokenizer",) if task.get("name") == "forecast" else ()  # a series needs none: tokenizer=null
    missing = [k for k in SECTIONS if k not in data and k not in optional]
    if missing:
        raise TextgruError(f"{path} lacks {', '.join(missing)} (every run config has them); {restore}")
    return OmegaConf.create(data)


def known_targets(args: Sequence[str] = ()) -> set[str]:
    """Every `_target_` that textgru's config tree and the user's config folders name."""
    targets: set[str] = set()
    for folder in (CONF_DIR, *user_conf_dirs(args)):
        for path in folder.rglob("*.yaml"):
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                targets.update(_targets_in(doc))
    return targets


def _targets_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_" and isinstance(value, str):
                yield value
            else:
                yield from _targets_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _targets_in(value)


def check_config_targets(cfg: DictConfig, where: Path, args: Sequence[str] = ()) -> None:
    """Refuse a saved config that names a `_target_` textgru's configs do not, or holds an interpolation."""
    raw = OmegaConf.to_container(cfg, resolve=False)
    allowed = known_targets(args)
    for target in _targets_in(raw):
        if target not in allowed:
            raise TextgruError(
                f"{where}: refused _target_ {target[:100]!r}: a resumed run may only use the classes textgru's "
                "configs (or yours: ./conf, --config-dir) name; start a new run instead"
            )
    for value in _strings_in(raw):
        if interpolates(value):  # an escaped `\${` is a literal one: a data file named a${x}.csv
            raise TextgruError(f"{where}: refused interpolation {value[:100]!r}: a run's saved config is resolved")


def _strings_in(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings_in(value)
    elif isinstance(node, (list, ListConfig)):
        for value in node:
            yield from _strings_in(value)


FIXED_ON_RESUME = {  # what a resumed run restores from its checkpoint, so that a new value would be ignored
    "seed": "it goes on with the random states its checkpoint saved (and a few-label sample drawn with its seed)",
    "optimizer": "its optimizer's state (learning rate included) comes back from its checkpoint as it was",
    "tokenizer": "it goes on with the tokenizer it was trained with (tokenizer.json in its folder)",
    "model.pretrained_lm": "the language model's weights were taken in when it started; its checkpoint holds them now",
    "model.transfer": "its model was built for that transfer when it started, and its checkpoint's weights follow it",
    "task.finetune": "its layer groups' learning rates and unfreezing plan come back from its checkpoint as they were",
    **dict.fromkeys(  # (a review: a resume with data.split_seed=7 validated and tested on texts it had trained on)
        [f"data.{k}" for k in ("split_seed", "val_fraction", "test_fraction", "ignore_labels", "label_column")],
        "its validation and test splits were carved with it: others would hold texts it trained on",
    ),
    **dict.fromkeys(
        [f"data.{k}" for k in ("train_size", "train_fraction", "subset_seed")],
        "its few-label sample was drawn with it, and its epochs go on through that sample",
    ),
}


def fixed_on_resume(key: str) -> str | None:
    """Why `key` (or the section it is in: `optimizer.lr`, `task.finetune.lr_decay`) cannot change on resume."""
    parts = key.lstrip("+").split(".")
    return next(
        (FIXED_ON_RESUME[k] for i in range(len(parts)) if (k := ".".join(parts[: i + 1])) in FIXED_ON_RESUME), None
    )


def same_setting(key: str, given: Any, saved: Any, cwd: str | None = None) -> bool:
    """Whether `given` is the run's `saved` value of `key`: a path the same file however written (a review: a relative
    `model.pretrained_lm`, made absolute in config.yaml, was refused on every resume as a change); a relative `given`
    is relative to `cwd` (the folder it was typed in; the current one where None)."""
    if key.lstrip("+") != "model.pretrained_lm" or not (isinstance(given, str) and isinstance(saved, str)):
        return given == saved
    typed, held = Path(given).expanduser(), Path(saved).expanduser()
    relative_end = not typed.is_absolute() and held.as_posix().endswith("/" + typed.as_posix())  # typed elsewhere
    from_cwd = bool(cwd) and (Path(cwd or "") / typed).resolve() == held.resolve()  # (a review: `../bilm/` typed
    return typed == held or typed.resolve() == held.resolve() or relative_end or from_cwd  # elsewhere was refused)


def refuse_hand_edits(cfg: DictConfig, run: RunFolder, fixed: Mapping[str, str] = FIXED_ON_RESUME) -> None:
    """One line where config.yaml was edited by hand in what a resume cannot change (`fixed`: section -> why, as
    `FIXED_ON_RESUME`): a plain value that differs from the one the run started with (`.hydra/config.yaml`),
    which config.yaml would record while the run goes on with the other."""
    started = run.path / ".hydra" / "config.yaml"
    try:
        first = OmegaConf.to_container(OmegaConf.load(started), resolve=False) if started.is_file() else None
    except Exception:  # damaged or unreadable: nothing to compare with
        return
    now, cwd = OmegaConf.to_container(cfg, resolve=False), started_in(run)  # the run's relative paths are from cwd
    for section in fixed if isinstance(first, dict) else ():
        then = dict(_leaves(_at(first, section), section))
        for key, value in _leaves(_at(now, section), section):
            was = then.get(key)
            if isinstance(was, (int, float, str)) and "${" not in str(was) and not same_setting(key, was, value, cwd):
                raise TextgruError(
                    f"resume: {run.config} says {key}={value}, but the run started with {key}={was} ({started}) "
                    f"and goes on with it ({fixed[section]}); set it back"
                )


def _at(tree: Any, dotted: str) -> Any:
    """The value at `dotted` (`model.pretrained_lm`) in a plain nested mapping, or None."""
    for part in dotted.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def _leaves(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every value under `node`, a plain container (itself where it is not a mapping)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{key}.{k}")
    else:
        yield key, node
