"""`textgru train --help` (and tune's) with the YAML's comments: Hydra's help shows the composed config without them
(`pooling: meanmax`, not a word of the other choices); each key's comment is taken from the file that sets it. Its
config groups list `./conf`'s options too, as Hydra lists a `--config-dir`'s."""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w-]*):(?P<rest>.*)$")
COMMENT_COLUMN = 28  # where the shipped YAML's comments mostly start
SECTION = "== The composed config"
GROUPS = "== Config groups"
GROUP_DEPTH = 3  # folders below ./conf read for groups: mine/deeper/most (textgru's deepest, hydra/job_logging: 2)


def key_comments(text: str) -> dict[str, list[str]]:
    """Each key's comment in one YAML file's text, by dotted path in the file: the comment after its value, and the
    comment-only lines below aligned with it that go on."""
    comments: dict[str, list[str]] = {}
    path: list[tuple[int, str]] = []  # (indent, key) down to the line's key
    last, column = "", -1  # the key a comment-only line can continue, and its comment's column
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#"):
            if last and len(line) - len(stripped) == column:
                comments[last].append(stripped[1:].strip())
            continue
        last, column = "", -1
        found = KEY_LINE.match(line)
        if not found:
            continue
        indent = len(found["indent"])
        path = [(i, k) for i, k in path if i < indent] + [(indent, found["key"])]
        value, hash_, comment = found["rest"].partition(" #")
        if hash_ and "'" not in value and '"' not in value and comment.strip():
            last = ".".join(k for _, k in path)
            comments[last], column = [comment.strip()], len(line) - len(comment) - 1
    return comments


def chosen_files(choices: dict[str, str | None], user_conf: Path) -> list[tuple[str, str]]:
    """(package, text) of train.yaml and each group option chosen, in the order train.yaml lists the groups (a later
    file's comment wins: the task's over the data's); a file of `./conf` before the package's, as Hydra takes it."""
    shipped = resources.files("textgru.conf")
    files = [("", shipped.joinpath("train.yaml").read_text(encoding="utf-8"))]
    for group, option in choices.items():
        if option is None or group.startswith("hydra"):
            continue
        mine = user_conf / group / f"{option}.yaml"
        source = mine if mine.is_file() else shipped.joinpath(group, f"{option}.yaml")
        if source.is_file():
            files.append((group, source.read_text(encoding="utf-8")))
    return files


def all_comments(files: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Dotted key -> comment lines over every file; the last file that comments a key has its say."""
    comments: dict[str, list[str]] = {}
    for package, text in files:
        top = not package or re.search(r"^# @package _global_", text, re.M) is not None
        for key, lines in key_comments(text).items():
            comments[key if top else f"{package}.{key}"] = lines
    return comments


def commented(help_text: str, comments: dict[str, list[str]]) -> str:
    """Hydra's help text with each key of its composed config section followed by its comment."""
    out: list[str] = []
    path: list[tuple[int, str]] = []
    inside = False
    for line in help_text.splitlines():
        if line.startswith(SECTION):
            inside = True
        elif inside and not line.strip():
            inside = False
        found = KEY_LINE.match(line) if inside else None
        if found is None:
            out.append(line)
            continue
        indent = len(found["indent"])
        path = [(i, k) for i, k in path if i < indent] + [(indent, found["key"])]
        lines = comments.get(".".join(k for _, k in path), [])
        column = max(COMMENT_COLUMN, len(line) + 1)
        out.append(f"{line.ljust(column)}# {lines[0]}" if lines else line)
        out += [f"{'':{column}}# {more}" for more in lines[1:]]
    return "\n".join(out)


def with_own_options(help_text: str, user_conf: Path) -> str:
    """Hydra's help text with the groups and options of `user_conf` (`./conf`) in its config groups section, as it
    lists a `--config-dir`'s: Hydra lists its own search path's, not the hydra.searchpath=[file://conf] textgru adds
    (a review: `experiment=mine` composed, yet `train --help` listed no mine)."""
    lines = help_text.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith(GROUPS)), None)
    if start is None or not user_conf.is_dir():
        return help_text
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    groups = {group: set(options.split(", ")) for group, _, options in (g.partition(": ") for g in lines[start:end])}
    chains: dict[str, frozenset[str]] = {str(user_conf): frozenset()}  # the real folders above each: a loop's end
    for folder, subs, files in os.walk(user_conf, followlinks=True):  # linked folders too (a review: rglob skipped
        chain = chains[folder] | {os.path.realpath(folder)}  # conf/experiment -> ../team_exps; Hydra reads it)
        group = Path(folder).relative_to(user_conf).as_posix()
        deep = group != "." and group.count("/") + 1 >= GROUP_DEPTH  # no deeper (a review: a link to /usr, 930 groups)
        subs[:] = [] if deep else [sub for sub in subs if os.path.realpath(os.path.join(folder, sub)) not in chain]
        chains.update({os.path.join(folder, sub): chain for sub in subs})
        options = [f[:-5] for f in files if f.endswith(".yaml")]
        if options and group != "." and group.split("/")[0] != "hydra":  # Hydra's own groups are not listed here
            groups.setdefault(group, set()).update(options)
    listed = [f"{group}: {', '.join(sorted(options))}" for group, options in sorted(groups.items())]
    return "\n".join([*lines[:start], *listed, *lines[end:]]) + "\n"


def print_train_help(show_help: Callable[[], None], overrides: Sequence[str]) -> None:
    """Print what `show_help()` (Hydra's help) prints, with the comments of the files `overrides` choose."""
    from hydra.errors import ConfigCompositionException

    from textgru.config import compose_config
    from textgru.console import fail
    from textgru.errors import TextgruError

    with contextlib.redirect_stdout(io.StringIO()) as hydra_out:
        try:
            show_help()
        except SystemExit as e:  # Hydra exits 0 once it has printed the help
            if e.code:
                raise
        except ConfigCompositionException as e:  # (a traceback of Hydra's for `-m seed=1,2 --help`)
            first = str(e).splitlines()[0]
            sweep = re.fullmatch(r"Ambiguous value for argument '(.+)'", first)
            fail(f"--help shows one config: give {sweep[1]} one value" if sweep else f"--help: {first}")
    hydra_text = with_own_options(hydra_out.getvalue(), Path("conf"))
    try:
        choices = dict(compose_config("train", list(overrides), True).hydra.runtime.choices)
    except (TextgruError, ValueError):  # a sweep's `a=1,2`: the help as Hydra writes it
        return print(hydra_text, end="")
    print(commented(hydra_text, all_comments(chosen_files(choices, Path("conf")))))
