"""Up-front checks of every config value a user can type: the rule tables (`textgru.config_rules_train`,
`textgru.config_rules_commands`) and the rules across keys, applied to a composed config before anything heavy
starts. A wrong value is one `TextgruError` line naming the key, what a valid value is, and the fix.

`check_config(cfg, config_name)` is the first thing `training.train()`, `tuning.tune()`, each `commands.*_command`
and `resume=` do; `textgru.command_line_checks` runs it before Hydra starts. This module imports no torch, Lightning
or datasets, so a wrong value is reported in seconds."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from textgru.config_path_rules import Existing, unread_paths
from textgru.config_problem import problem, shown
from textgru.config_rules import Rule, When, int_like, number_like
from textgru.config_rules_commands import RULES
from textgru.config_rules_train import TASK_MODELS, TASK_SOURCES
from textgru.errors import TextgruError
from textgru.override_values import sweep_values

_ABSENT, _MISSING = object(), object()  # no such key; `???`
ENDLESS_SCHEDULE = (
    "the learning-rate schedule needs a finite run: set trainer.max_epochs (or max_steps), or scheduler=none"
)


@dataclass(frozen=True)
class Unresolved:
    """A value whose interpolation (`${...}`) fails, and why."""

    reason: str


def _lookup(cfg: DictConfig, key: str) -> Any:
    """The resolved value at `key`, `_ABSENT` (no such key), `_MISSING` (`???`), or `Unresolved` (an interpolation
    that fails, e.g. `${oc.env:NAME}` of an unset variable; no key with a rule interpolates Hydra's run-time values)."""
    try:
        value = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=True)
        if isinstance(value, (DictConfig, ListConfig)):
            value = OmegaConf.to_container(value, resolve=True)
    except MissingMandatoryValue:
        return _MISSING
    except Exception as e:
        return Unresolved((str(e).strip().splitlines() or [type(e).__name__])[0])
    return value


def _rule_for(table: Mapping[str, Rule], key: str, cfg: DictConfig) -> Rule | None:
    rule = table.get(key)
    return rule.pick(_lookup(cfg, rule.key)) if isinstance(rule, When) else rule


def check_value(cfg: DictConfig, config_name: str, key: str, value: Any) -> None:
    """Raise TextgruError when `key=value` breaks the rule for `key` (in the context of `cfg`); others pass."""
    rule = _rule_for(RULES.get(config_name, {}), key, cfg)
    if rule is not None and (message := problem(key, value, rule)):
        raise TextgruError(message)


def check_config(
    cfg: DictConfig, config_name: str, run_dir: str | os.PathLike[str] | None = None, showing: bool = False
) -> None:
    """Check every value of a composed config (`config_name`: train, eval, predict, ...) against the rules: the first
    wrong one raises TextgruError with one line. Keys the config lacks are skipped, as are `paths.output_dir` when the
    run's folder (`run_dir`, else `paths.run_dir`) lies elsewhere, `showing` (`--cfg job`) the paths to read, and a
    missing key each trial of a search sets (a review: a searched `data.path` was "required", then refused when given)."""
    unused = unread_paths(run_dir or _lookup(cfg, "paths.run_dir"), cfg)
    searched = set(s) if isinstance(s := _lookup(cfg, "hparams_search.params"), dict) else set()
    unused |= {k for k, rule in RULES.get(config_name, {}).items() if showing and isinstance(rule, Existing)}
    for key in RULES.get(config_name, {}):
        value = _lookup(cfg, key)
        if value is _ABSENT or key in unused or (value is _MISSING and key in searched):  # a given value: checked
            continue
        if isinstance(value, Unresolved):
            raise TextgruError(f"{key} cannot be resolved: {value.reason}")
        if value is _MISSING:
            raise TextgruError(f"{key} is required: pass {key}=...")
        check_value(cfg, config_name, key, value)
    for cross_check in CROSS_CHECKS.get(config_name, ()):
        cross_check(cfg)


# --- rules across keys ------------------------------------------------------------------------------------------------


def _fractions(cfg: DictConfig) -> None:
    val, test = _lookup(cfg, "data.val_fraction"), _lookup(cfg, "data.test_fraction")
    if number_like(val) and number_like(test) and val + test >= 1:
        why = f"data.val_fraction={val} and data.test_fraction={test} add up to {val + test:g}"
        raise TextgruError(f"{why}: they must leave some data for training (a sum below 1)")


def _task_fits(cfg: DictConfig) -> None:
    """The data source and the model are the task's; a series file is named (data.path or data.package_file)."""
    task, source = _lookup(cfg, "task.name"), _lookup(cfg, "data.source")
    if source == "local_csv" and not _lookup(cfg, "data.path") and not _lookup(cfg, "data.package_file"):
        raise TextgruError("data=local_csv needs data.path=<a CSV file> (or data.package_file=dist:path/in/package)")
    if task in TASK_SOURCES and isinstance(source, str) and source not in TASK_SOURCES[task]:
        raise TextgruError(
            f"data.source={source} is not data for task={task}: use a data config whose source is one of "
            f"{', '.join(TASK_SOURCES[task])} (textgru/conf/data/ or your ./conf/data/), e.g. leave data= out to "
            "get the task's default"
        )
    target = _lookup(cfg, "model._target_")
    if task in TASK_MODELS and isinstance(target, str) and target.rsplit(".", 1)[-1] != TASK_MODELS[task]:
        raise TextgruError(
            f"model {target.rsplit('.', 1)[-1]} is not a model for task={task} (it needs {TASK_MODELS[task]}); "
            "leave model= out to get the task's own"
        )


def _few_labels(cfg: DictConfig) -> None:
    size, fraction = _lookup(cfg, "data.train_size"), _lookup(cfg, "data.train_fraction")
    if size not in (None, _ABSENT) and fraction not in (None, _ABSENT):
        raise TextgruError(
            f"data.train_size={size} and data.train_fraction={fraction}: give one of them (the other null)"
        )
    task = _lookup(cfg, "task.name")
    given = next(
        (f"data.{k}={v}" for k, v in (("train_size", size), ("train_fraction", fraction)) if v not in (None, _ABSENT)),
        None,
    )
    if given is not None and isinstance(task, str) and task != "sentiment":
        raise TextgruError(
            f"{given} limits the labelled training examples of task=sentiment; task={task} reads every training "
            "text: leave it out"
        )
    if task == "bilm" and int_like(length := _lookup(cfg, "data.max_length")) and length < 2:
        raise TextgruError(f"data.max_length={length}: task=bilm needs at least 2 (a token and one to predict)")


def _tied_weights(cfg: DictConfig) -> None:
    if _lookup(cfg, "model.tie_weights") is not True:
        return
    if isinstance(softmax := _lookup(cfg, "model.softmax"), str) and softmax != "full":  # a review: said after the data
        raise TextgruError(f"model.tie_weights=true needs model.softmax=full (not {softmax})")
    out = _lookup(cfg, "model.projection_size") or _lookup(cfg, "model.hidden_size")
    embedding = _lookup(cfg, "model.embedding_dim")
    if int_like(out) and int_like(embedding) and out != embedding:
        raise TextgruError(
            f"model.tie_weights=true needs the output layer's input ({out}) to equal model.embedding_dim "
            f"({embedding}); set model.projection_size={embedding}"
        )


def _finite_schedule(cfg: DictConfig) -> None:
    """A learning-rate schedule needs the run's length, as Lightning counts it (max_epochs null: 1000 epochs unless
    max_steps or max_time is set, then none): checked before anything, as a resume changes the run folder before
    fit (a review: a finished run's best.ckpt was set aside, then max_epochs=null refused)."""
    epochs, steps = _lookup(cfg, "trainer.max_epochs"), _lookup(cfg, "trainer.max_steps")
    steps = -1 if steps in (None, _ABSENT) else steps
    if epochs is None:
        epochs = 1000 if steps == -1 and _lookup(cfg, "trainer.max_time") in (None, _ABSENT) else -1
    if _lookup(cfg, "scheduler") not in (None, _ABSENT) and epochs == -1 and steps == -1:
        raise TextgruError(ENDLESS_SCHEDULE)


def _accelerator_present(cfg: DictConfig) -> None:
    """TPU and MPS accelerators this machine cannot have (GPUs are counted by `distributed.check_trainer_devices`,
    which needs torch)."""
    accelerator = _lookup(cfg, "trainer.accelerator")
    if accelerator == "tpu" and importlib.util.find_spec("torch_xla") is None:
        raise TextgruError(
            "trainer.accelerator=tpu needs torch_xla, which is not installed; use trainer=cpu or trainer=gpu"
        )
    if accelerator == "mps" and sys.platform != "darwin":
        raise TextgruError("trainer.accelerator=mps needs a Mac with Apple silicon; use trainer=cpu or trainer=gpu")


def _search_space(cfg: DictConfig) -> None:
    """Every value a search can try (each choice, both ends of an interval or range) passes the key's rule."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from textgru.search_space import refuse_unknown_search_keys

    refuse_unknown_search_keys(_lookup(cfg, "hparams_search"))
    if not isinstance(params := _lookup(cfg, "hparams_search.params"), Mapping):
        return
    parser = OverridesParser.create()
    for key, spec in params.items():
        try:
            parsed = parser.parse_override(f"{key}={spec}").value()
        except Exception:
            continue  # search_space.parse_search_space says what is wrong with the syntax
        for value in sweep_values(parsed):
            try:
                check_value(cfg, "train", str(key), value)
            except TextgruError as e:
                integers = isinstance(value, float) and "integer" in str(e)
                hint = "; int(interval(lo, hi)) draws integers" if integers else ""
                raise TextgruError(f"hparams_search.params.{key}={spec} can try {e}{hint}") from None


def _something_to_serve(cfg: DictConfig) -> None:
    if _lookup(cfg, "classifier") in (None, "", _ABSENT) and _lookup(cfg, "lm") in (None, "", _ABSENT):
        raise TextgruError("nothing to serve: give classifier=<run folder, .ckpt or export> and/or lm=<the same>")


def _serve_caps(cfg: DictConfig) -> None:
    """A batch waits less than a request may; limits a request can meet (a review: each request refused instead)."""
    from textgru.serving.limits import Limits

    wait, timeout = _lookup(cfg, "batch_timeout"), _lookup(cfg, "timeout")
    if number_like(wait) and number_like(timeout) and wait >= timeout:
        raise TextgruError(
            f"batch_timeout={wait} must be below timeout={timeout}: a batch may not wait longer than a request"
        )
    samples, tokens = _lookup(cfg, "limits.max_num_samples"), _lookup(cfg, "limits.max_new_tokens")
    if int_like(samples) and int_like(tokens):
        Limits(max_num_samples=samples, max_new_tokens=tokens).check()


def _callback_configs(cfg: DictConfig) -> None:
    """Each `callbacks.<name>` is a mapping with `_target_` (a callback class), or null (turned off)."""
    callbacks = OmegaConf.select(cfg, "callbacks")  # not resolved: a checkpoint's dirpath names Hydra's run folder
    for name, config in OmegaConf.to_container(callbacks).items() if isinstance(callbacks, DictConfig) else ():
        interpolated = isinstance(config, str) and config.startswith("${")  # another node's callback: checked there
        if config is not None and not interpolated and not (isinstance(config, dict) and "_target_" in config):
            raise TextgruError(
                f"callbacks.{name}={shown(config)} is not a callback (a mapping with _target_); remove it, or turn "
                f"one off with callbacks.{name}=null"
            )


def _export_output(cfg: DictConfig) -> None:
    """An existing export folder is replaced only with overwrite=true, and only when it holds an earlier export."""
    from pathlib import Path

    from textgru.onnx_format import check_export_output

    output, overwrite = _lookup(cfg, "output"), _lookup(cfg, "overwrite")
    if isinstance(output, str) and output.strip() and isinstance(overwrite, bool):
        check_export_output(Path(output).expanduser(), overwrite)


_TRAIN_VALUES = (_fractions, _few_labels, _task_fits, _tied_weights, _finite_schedule, _accelerator_present)
CROSS_CHECKS: dict[str, Sequence[Callable[[DictConfig], None]]] = {
    "train": (*_TRAIN_VALUES, _search_space, _callback_configs),
    "eval": (_fractions,),
    "serve": (_something_to_serve, _serve_caps),
    "export": (_export_output,),
}
