"""Text OmegaConf must read as written: a `${` in a file name is no interpolation. OmegaConf reads `\\${` as a
literal `${`, and `\\\\${` as a backslash before an interpolation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_DOLLAR = re.compile(r"(\\*)\$\{")


def literal(text: str) -> str:
    """`text` escaped so that OmegaConf reads it as written: `text='the price is ${price}'` is that text (a backslash
    before a `${` kept too)."""
    return _DOLLAR.sub(lambda m: m.group(1) * 2 + "\\${", text)


def interpolates(text: str) -> bool:
    """Whether OmegaConf reads an interpolation in `text` (a `${` after an even number of backslashes)."""
    return any(len(m.group(1)) % 2 == 0 for m in _DOLLAR.finditer(text))


def holds_literal(text: str) -> bool:
    """Whether OmegaConf reads a literal `${` in `text` (an escaped one: an odd number of backslashes before it)."""
    return any(len(m.group(1)) % 2 == 1 for m in _DOLLAR.finditer(text))


def resolved_yaml(cfg: Any) -> str:
    """`cfg` resolved, as YAML that OmegaConf reads back as the same values: a `${` in a value (a data file named
    `a${x}.csv`) escaped, where resolving had made it an interpolation again (a review: resume and eval failed)."""
    from omegaconf import OmegaConf

    tree = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    if not any("${" in s for s in _strings(tree)):
        return OmegaConf.to_yaml(cfg, resolve=True)
    return OmegaConf.to_yaml(_escaped(tree))


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, (dict, list)):
        for value in node.values() if isinstance(node, dict) else node:
            yield from _strings(value)


def _escaped(node: Any) -> Any:
    if isinstance(node, str):
        return literal(node)
    if isinstance(node, dict):
        return {k: _escaped(v) for k, v in node.items()}
    return [_escaped(v) for v in node] if isinstance(node, list) else node


def check_literal_folders(values: dict[str, str], config_name: str, sweep: bool) -> None:
    """One line where the run or sweep folder would hold a literal `${` (reviews: Hydra's traceback, and empty dated
    folders made): named so (`values`: the command line's), via paths.output_dir, or via the current folder where
    the run folder is relative (Hydra makes it absolute, then reads its `${` as an interpolation)."""
    import os

    from textgru.errors import TextgruError

    runs = config_name in ("train", "gradient_flow")
    for key in ("hydra.run.dir", "hydra.sweep.dir", *(("paths.output_dir",) if runs else ())):
        if holds_literal(values.get(key, "")):
            raise TextgruError(f"{key}={values[key]}: a run folder's name cannot hold '${{' (Hydra reads it as an "
                               "interpolation, even escaped); choose a name without it")  # fmt: skip
    output_dir = values.get("paths.output_dir", "outputs")
    folder = values.get("hydra.sweep.dir" if sweep else "hydra.run.dir", output_dir)
    folder = folder.replace("${paths.output_dir}", output_dir)  # tune's default study folder
    if runs and "${" in os.getcwd() and not os.path.isabs(os.path.expanduser(folder)):
        key = "hydra.sweep.dir" if sweep else "hydra.run.dir"
        raise TextgruError(f"the current folder {os.getcwd()} holds '${{', which Hydra reads as an interpolation in "
                           f"the run folder under it: run from another folder, or give {key}=<absolute path>")  # fmt: skip


def check_literal_run_folder(path: Any) -> None:
    """One line where a run folder to resume holds a `${` (renamed so, or under a folder so named): Hydra would read
    it as an interpolation in the paths built from it (a review: a traceback)."""
    from textgru.errors import TextgruError

    if "${" in str(path):
        raise TextgruError(f"{path}: a run folder's path cannot hold '${{' (Hydra reads it as an interpolation, even "
                           "escaped); rename the folder (or link to it from a path without it) and resume that")  # fmt: skip
