"""The arguments of the class a config section is built into (its `_target_`): a key the config lacks below a section
handed whole to its class (optimizer, scheduler, trainer, each callback) is named with the arguments most like it, and
`+key=` of a name the class does not take is one line before the run (a review: `optimizer.amsgrd=true` was told to
add the typo with +, and `+optimizer.epss=1e-6` failed only once the data was loaded). The class is imported only for
such a key: the `_target_` of the config as composed (textgru's configs, the user's own and their command line)."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from textgru.errors import TextgruError

BUILT = ("optimizer", "scheduler", "trainer")  # each key an argument of its class; so is each callbacks.<name>'s
# The arguments textgru passes a built class itself (tasks.base, training.build_trainer), and where a user's own goes:
# one under the section was dropped, or won over (a review: the typo hint advised `+scheduler.num_training_steps=`)
OWN_ARGUMENTS = {
    "optimizer.params": "the model's parameters, in its task's layer groups; set learning rates with optimizer.lr",
    "scheduler.optimizer": "the run's optimizer; choose it with optimizer= and the optimizer.* keys",
    "scheduler.num_training_steps": "the run's own length; set it with trainer.max_epochs or trainer.max_steps",
    "trainer.callbacks": "add a callback as +callbacks.<name>={_target_: <class>}",
    "trainer.logger": "choose loggers with logger= (mlflow, tensorboard, wandb) and the logger.* keys",
    "trainer.plugins": "textgru's own plugin writes checkpoints atomically; set precision with trainer.precision",
}
GIVEN = {s: [k.partition(".")[2] for k in OWN_ARGUMENTS if k.startswith(f"{s}.")] for s in BUILT}  # section's own


def own_argument(key: str) -> str | None:
    """The line for `key` (`trainer.logger`, `scheduler.num_training_steps`) where textgru gives its class that
    argument itself; None for others."""
    if key not in OWN_ARGUMENTS:
        return None
    section, _, name = key.partition(".")
    whom = "Trainer" if section == "trainer" else section
    return f"{key}: textgru gives the {whom} its {name} itself; remove it ({OWN_ARGUMENTS[key]})"


def built_section(key: str) -> str | None:
    """The section `key` is an argument in when its keys are all its class's (`trainer` for trainer.max_epochs,
    `callbacks.early_stopping` for callbacks.early_stopping.patience); None for others (the model's builder reads
    keys of its own) and Hydra's own keys (`_target_`, `_recursive_`, ...)."""
    parts = key.split(".")
    built = (len(parts) == 2 and parts[0] in BUILT) or (len(parts) == 3 and parts[0] == "callbacks")
    hydras = parts[-1].startswith("_") and parts[-1].endswith("_")
    return key.rpartition(".")[0] if built and not hydras else None


def class_arguments(key: str, reference: Callable[[], Any]) -> tuple[str, list[str]] | None:
    """`(target, names)`: the `_target_` of `key`'s section in the config `reference()` composes and the names of
    its arguments; None where the section has none, it will not import, or it takes any keyword (`**kwargs`)."""
    from hydra.utils import get_object

    section = key.rpartition(".")[0]
    try:
        target = OmegaConf.select(reference(), f"{section}._target_") if section else None
        parameters = list(inspect.signature(get_object(target)).parameters.values()) if target else []
    except Exception:  # no class, or one that will not import: its own call says what is wrong
        return None
    if not parameters or any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return str(target), [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def close_arguments(key: str, names: Sequence[str], has: Callable[[str], bool], value: str) -> str:
    """The arguments of `key`'s section most like its name (at most three; "" for none), each as the key the config
    has (`has(key)`), else as the override that adds it (`+optimizer.eps=1e-6`)."""
    section, _, name = key.rpartition(".")
    names = [n for n in names if n not in GIVEN.get(section, ())]
    near = [f"{section}.{n}" for n in difflib.get_close_matches(name, names, n=3, cutoff=0.75)]
    return " or ".join(k if has(k) else f"+{k}={value or '...'}" for k in near)


def has_key(cfg: Any, key: str) -> bool:
    """Whether the config `cfg` has `key` (null or not; its value left unresolved)."""
    absent = object()
    return OmegaConf.select(cfg, key, default=absent, throw_on_resolution_failure=False) is not absent


def check_added_arguments(overrides: Sequence[str], cfg: DictConfig) -> None:
    """One line for `+key=value` (or `++`) below a built section naming an argument its class does not take (a
    review: `+trainer.foo=1` failed once the model was built), with the arguments most like it. `cfg`: the config
    composed with `overrides`. Imports each such class: the last of the checks before a run, which imports it anyway."""
    for override in overrides:
        typed, _, value = override.partition("=")
        key = typed.lstrip("+")
        if not typed.startswith("+") or built_section(key) is None:
            continue
        if own := own_argument(key):  # the class would take it, then textgru's own value wins
            raise TextgruError(own)
        arguments = class_arguments(key, lambda: cfg)
        if arguments is None or (name := key.rpartition(".")[2]) in arguments[1]:
            continue
        near = close_arguments(key, arguments[1], lambda k: has_key(cfg, k), value)
        hint = f"did you mean {near}?" if near else "check the spelling"
        raise TextgruError(f"{typed}: {arguments[0]} takes no argument {name}; {hint}")
