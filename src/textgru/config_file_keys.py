"""Keys that config files of your own (`./conf`, `--config-dir`) add where textgru reads keys by name: the top
level, and `data`, `task`, `tokenizer` and `paths` (a training's other sections are a class's arguments, which
takes or refuses a key itself). The command line's `+data.foo=1` is refused as read by nothing (`added_keys.py`); a
file's `batch_sise: 8` under `data:` trained with the default, and an experiment file without
`# @package _global_` put its every setting under `experiment:`, exit 0 (a review). Known keys are those of
textgru's own configs; a task or data source of yours that textgru does not ship is not checked."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from textgru.conf import CONF_DIR
from textgru.errors import TextgruError

SECTIONS = ("data", "task", "tokenizer", "paths")  # read by name (added_keys.FIXED less logger's tags)
OWNED = {"data": "source", "task": "name"}  # checked only where this names one of textgru's own
GLOBAL = "# @package _global_"
UNSET_KEYS = ("n_trials", "data.label_names")  # read, though no config of textgru's sets them (config_rules_train)


@functools.cache
def known_keys() -> frozenset[str]:
    """Every key path (`data.batch_size`, `seed`) textgru's own config files set, at any depth."""
    keys: set[str] = set()
    for path in CONF_DIR.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        group = path.parent.relative_to(CONF_DIR).parts
        content = yaml.safe_load(text) or {}
        prefix = () if is_global(text) else group
        if isinstance(content, Mapping):
            _walk({k: v for k, v in content.items() if k != "defaults"}, prefix, keys)
    return frozenset(keys | set(UNSET_KEYS))


def is_global(text: str) -> bool:
    """Whether a config file's header (its first comment lines, where Hydra reads it) says `@package _global_`."""
    header = [line.strip() for line in text.splitlines()[:10]]
    return any(
        line == GLOBAL for line in header[: next((i for i, x in enumerate(header) if not x.startswith("#")), 10)]
    )


def _walk(node: Mapping[str, Any], prefix: tuple[str, ...], keys: set[str]) -> None:
    for key, value in node.items():
        path = (*prefix, *str(key).split("."))
        keys.update(".".join(path[: i + 1]) for i in range(len(path)))
        if isinstance(value, Mapping):
            _walk(value, path, keys)


@functools.cache
def _owned_values(section: str) -> frozenset[Any]:
    """The `data.source`s or `task.name`s textgru's own configs give."""
    field = OWNED[section]
    values: set[Any] = set()
    for path in (CONF_DIR / section).glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        content = yaml.safe_load(text) or {}
        node = content.get(section, content) if is_global(text) else content
        if isinstance(node, Mapping) and field in node:
            values.add(node[field])
    return frozenset(values)


def check_file_keys(cfg: DictConfig) -> None:
    """One line for a key of the composed training config that no config of textgru's has, where textgru reads keys
    by name: a typo in a file of yours, or an experiment file without `# @package _global_`. A key another value
    interpolates (`name` of `paths.run_dir: ${paths.output_dir}/${name}`, a `paths.data_dir`) is read by that."""
    known = known_keys() | _interpolated(cfg)
    if "experiment" in cfg:
        raise TextgruError(
            "your experiment file's settings landed under experiment: (its first line is not "
            f"'{GLOBAL}'), where nothing reads them; make that its first line"
        )
    for key in cfg:
        if key != "hydra" and str(key) not in known:
            raise TextgruError(_unread(str(key), known))
    for section in SECTIONS:
        node = cfg.get(section)
        if not isinstance(node, DictConfig):
            continue
        if section in OWNED and OmegaConf.select(cfg, f"{section}.{OWNED[section]}") not in _owned_values(section):
            continue  # a task or data source of yours: its keys are yours to read
        for key in node:
            if f"{section}.{key}" not in known:
                raise TextgruError(_unread(f"{section}.{key}", known))


def _interpolated(cfg: DictConfig) -> set[str]:
    """Every key (and its parents) a value holding `${` may name: each dotted name in it, nested and resolvers'
    arguments too (`${oc.select:my.uri,"http://x:5000"}`, `${roots.${which}}`), a relative one (`${.root}`) below its
    own node (a review of the change: those three were refused). A word that names no key costs nothing."""
    names: set[str] = set()

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, (*path, str(key)))
        elif isinstance(node, list):
            for value in node:
                walk(value, path)
        elif isinstance(node, str) and "${" in node:
            for dots, name in re.findall(r"(\.*)([A-Za-z_][\w.]*)", node):
                base = path[: max(0, len(path) - len(dots))] if dots else ()  # ${.x}: beside, ${..x}: one up
                parts = (*base, *name.strip(".").split("."))
                names.update(".".join(parts[: i + 1]) for i in range(len(parts)))

    walk(OmegaConf.to_container(cfg, resolve=False), ())
    return names


def _unread(key: str, known: frozenset[str]) -> str:
    near = difflib.get_close_matches(key, sorted(k for k in known if k.count(".") == key.count(".")), n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    return f"{key} is set by a config file of yours, but textgru reads no such key; {hint}fix or remove it there"
