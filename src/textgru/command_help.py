"""`textgru <command> --help` for the commands with a config of their own (eval, predict, generate ...): the shipped
YAML's keys with the comments that explain them (Hydra's $CONFIG drops comments: `top_k: null` was unexplained), then
the sections of the config groups it composes (paths, data) as Hydra shows them."""

from __future__ import annotations

import string
from collections.abc import Sequence
from importlib import resources

from omegaconf import OmegaConf

from textgru.added_keys import UNREAD

PLUMBING = ("defaults", "hydra")  # Hydra's, not options


def commented_keys(config_name: str) -> str:
    """The top-level keys of `textgru/conf/<config_name>.yaml` as written there, comments included; the file's header
    and Hydra's plumbing (defaults, hydra) left out."""
    text = resources.files("textgru.conf").joinpath(f"{config_name}.yaml").read_text(encoding="utf-8")
    kept: list[str] = []
    pending: list[str] = []  # comment lines above the next key: kept with it
    skipping, started = False, False
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            (pending if not line.startswith(" ") else kept if started and not skipping else pending).append(line)
            continue
        if not line.startswith(" "):  # a top-level key
            skipping = line.partition(":")[0] in PLUMBING
            if not skipping:
                kept += pending if started else []
            started, pending = True, []
        if not skipping:
            kept.append(line)
    return "\n".join(kept).strip("\n")


def command_help(config_name: str) -> str:
    """The help text of textgru's command with the config `config_name`: its template with `$CONFIG` the command's
    own keys, commented, and its groups' sections."""
    from textgru.config import _compose

    cfg = _compose(config_name, [], True)
    template = str(cfg.hydra.help.template)
    own = OmegaConf.load(resources.files("textgru.conf").joinpath(f"{config_name}.yaml").open(encoding="utf-8"))
    sections = []
    for group in (k for k in cfg if k != "hydra" and k not in set(own.keys())):  # (`in` misses a ??? key)
        section = OmegaConf.to_container(cfg[group], resolve=False)
        unread = [k.removeprefix(f"{group}.") for k in UNREAD.get(config_name, {}) if k.startswith(f"{group}.")]
        for key in unread if isinstance(section, dict) else ():  # (refused if given)
            section.pop(key, None)
        sections.append(OmegaConf.to_yaml({group: section}).strip())
    body = "\n".join([commented_keys(config_name), *sections])
    return string.Template(template).safe_substitute(CONFIG=body)


ALIASES = {  # what another tool's word is in textgru (a review: `textgru sweep` was "did you mean serve?")
    "sweep": "textgru train -m <key>=<a>,<b> (a sweep)",
    "resume": "textgru train resume=<run folder>",
    **dict.fromkeys(("search", "hpo", "optuna", "tuning"), "tune"),
    **dict.fromkeys(("evaluate", "test", "evaluation"), "eval"),
    **dict.fromkeys(("infer", "inference", "classify"), "predict"),
    **dict.fromkeys(("sample", "complete"), "generate"),
}


def unknown_command(command: str, commands: Sequence[str]) -> str:
    """The line for `textgru <command>` that is none of `commands`: the textgru way for another tool's word, else
    the command most like it (a close one: `plot` is no `export`)."""
    import difflib

    close = ALIASES.get(command.lower()) or next(
        iter(difflib.get_close_matches(command, commands, n=1, cutoff=0.75)), ""
    )
    meant = f"did you mean {close}? " if close else ""
    return f"unknown command {command!r}; {meant}choose one of: {', '.join(commands)} (textgru --help)"
