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
from typing import Any

from omegaconf import DictConfig, OmegaConf

from textgru.class_arguments import OWN_ARGUMENTS, has_key, own_argument
from textgru.config_file_keys import check_file_keys
from textgru.config_lookup import ABSENT, MISSING, Unresolved, lookup
from textgru.config_path_rules import Existing, unread_paths
from textgru.config_problem import problem, shown
from textgru.config_rules import Rule, When, int_like, number_like
from textgru.config_rules_commands import RULES
from textgru.data_config_checks import data_keys, few_labels, fractions, task_fits
from textgru.errors import TextgruError
from textgru.inference.sampling_options import MOST_TOKENS
from textgru.optimized_metric import unstated_by_the_task
from textgru.override_values import sweep_values

ENDLESS_SCHEDULE = (
    "the learning-rate schedule needs a finite run: set trainer.max_epochs (or max_steps), or scheduler=none"
)


def _rule_for(table: Mapping[str, Rule], key: str, cfg: DictConfig) -> Rule | None:
    rule = table.get(key)
    return rule.pick(lookup(cfg, rule.key)) if isinstance(rule, When) else rule


def check_value(cfg: DictConfig, config_name: str, key: str, value: Any) -> None:
    """Raise TextgruError when `key=value` breaks the rule for `key` (in the context of `cfg`); others pass."""
    rule = _rule_for(RULES.get(config_name, {}), key, cfg)
    if rule is not None and (message := problem(key, value, rule)):
        raise TextgruError(message)


def check_config(
    cfg: DictConfig,
    config_name: str,
    run_dir: str | os.PathLike[str] | None = None,
    showing: bool = False,
    resumed: bool = False,
) -> None:
    """Check every value of a composed config (`config_name`: train, eval, predict, ...) against the rules: the first
    wrong one raises TextgruError with one line. Keys the config lacks are skipped, as are `paths.output_dir` when the
    run's folder (`run_dir`, else `paths.run_dir`) lies elsewhere, `showing` (`--cfg job`) the paths to read, and a
    missing key each trial of a search sets (a review: a searched `data.path` was "required", then refused when given).
    `resumed`: a run's saved config, whose keys from files of the user's are not checked again (`config_file_keys`),
    nor its trainer.* (a run started with `+trainer.logger=false` before it was refused resumes, the key dropped)."""
    unused = unread_paths(run_dir or lookup(cfg, "paths.run_dir"), cfg)
    searched = set(s) if isinstance(s := lookup(cfg, "hparams_search.params"), dict) else set()
    unused |= {k for k, rule in RULES.get(config_name, {}).items() if showing and isinstance(rule, Existing)}
    for key in RULES.get(config_name, {}):
        value = lookup(cfg, key)
        if value is ABSENT or key in unused or (value is MISSING and key in searched):  # a given value: checked
            continue
        if isinstance(value, Unresolved):
            escape = (
                f" (for a literal ${{ write \\${{, e.g. '{key}=\\${{x}}')" if "Interpolation" in value.reason else ""
            )
            raise TextgruError(f"{key} cannot be resolved: {value.reason}{escape}")  # a review: stop='${p}' was stuck
        if value is MISSING:
            raise TextgruError(unstated_by_the_task(cfg, key) or f"{key} is required: pass {key}=...")
        check_value(cfg, config_name, key, value)
    if config_name == "train" and not resumed:  # a run's own config.yaml was taken when it started (a review)
        data_keys(cfg)  # a data file of yours: all it lacks, before the rules across keys read any of it
    for cross_check in CROSS_CHECKS.get(config_name, ()):
        if not (resumed and cross_check is _trainer_arguments):  # an older textgru took (and dropped) them (a review)
            cross_check(cfg)
    if config_name == "train" and not resumed:
        check_file_keys(cfg)


# --- rules across keys ------------------------------------------------------------------------------------------------


def _tied_weights(cfg: DictConfig) -> None:
    if lookup(cfg, "model.tie_weights") is not True:
        return
    if isinstance(softmax := lookup(cfg, "model.softmax"), str) and softmax != "full":  # a review: said after the data
        raise TextgruError(f"model.tie_weights=true needs model.softmax=full (not {softmax})")
    out = lookup(cfg, "model.projection_size") or lookup(cfg, "model.hidden_size")
    embedding = lookup(cfg, "model.embedding_dim")
    if int_like(out) and int_like(embedding) and out != embedding:
        raise TextgruError(
            f"model.tie_weights=true needs the output layer's input ({out}) to equal model.embedding_dim "
            f"({embedding}); set model.projection_size={embedding}"
        )


def _finite_schedule(cfg: DictConfig) -> None:
    """A learning-rate schedule needs the run's length, as Lightning counts it (max_epochs null: 1000 epochs unless
    max_steps or max_time is set, then none): checked before anything, as a resume changes the run folder before
    fit (a review: a finished run's best.ckpt was set aside, then max_epochs=null refused)."""
    epochs, steps = lookup(cfg, "trainer.max_epochs"), lookup(cfg, "trainer.max_steps")
    steps = -1 if steps in (None, ABSENT) else steps
    if epochs is None:
        epochs = 1000 if steps == -1 and lookup(cfg, "trainer.max_time") in (None, ABSENT) else -1
    if lookup(cfg, "scheduler") not in (None, ABSENT) and epochs == -1 and steps == -1:
        raise TextgruError(ENDLESS_SCHEDULE)


def _accelerator_present(cfg: DictConfig) -> None:
    """TPU and MPS accelerators this machine cannot have (GPUs are counted by `distributed.check_trainer_devices`,
    which needs torch)."""
    accelerator = lookup(cfg, "trainer.accelerator")
    if accelerator == "tpu" and importlib.util.find_spec("torch_xla") is None:
        raise TextgruError(
            "trainer.accelerator=tpu needs torch_xla, which is not installed; use trainer=cpu or trainer=gpu"
        )
    if accelerator == "mps" and sys.platform != "darwin":
        raise TextgruError("trainer.accelerator=mps needs a Mac with Apple silicon; use trainer=cpu or trainer=gpu")


def _search_space(cfg: DictConfig) -> None:
    """Every value a search can try (each choice, both ends of an interval or range) passes the key's rule."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from textgru.search_settings import refuse_unknown_search_keys

    refuse_unknown_search_keys(lookup(cfg, "hparams_search"))
    if not isinstance(params := lookup(cfg, "hparams_search.params"), Mapping):
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
    if lookup(cfg, "classifier") in (None, "", ABSENT) and lookup(cfg, "lm") in (None, "", ABSENT):
        raise TextgruError("nothing to serve: give classifier=<run folder, .ckpt or export> and/or lm=<the same>")


def _serve_caps(cfg: DictConfig) -> None:
    """A batch waits less than a request may; limits a request can meet (a review: each request refused instead)."""
    from textgru.serving.limits import Limits

    wait, timeout = lookup(cfg, "batch_timeout"), lookup(cfg, "timeout")
    if number_like(wait) and number_like(timeout) and wait >= timeout:
        raise TextgruError(
            f"batch_timeout={wait} must be below timeout={timeout}: a batch may not wait longer than a request"
        )
    samples, tokens = lookup(cfg, "limits.max_num_samples"), lookup(cfg, "limits.max_new_tokens")
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


def _trainer_arguments(cfg: DictConfig) -> None:
    """None of the arguments textgru gives a class itself (`class_arguments.OWN_ARGUMENTS`: a review, the Trainer's
    were dropped, a mapping OmegaConf's merge traceback; `+scheduler.num_training_steps=9` ignored); a trainer.*
    value the Trainer can take: for Lightning's others without a rule (`profiler`), no list and no mapping but an
    object's (with _target_), which only ruled keys take (devices, max_time). A review: `+trainer.profiler={a: 1}`
    was AttributeError from inside fit, config.yaml left."""
    if own := next((own_argument(k) for k in OWN_ARGUMENTS if has_key(cfg, k)), None):
        raise TextgruError(own)
    trainer = OmegaConf.select(cfg, "trainer")  # not resolved: default_root_dir names Hydra's run folder
    for name, value in OmegaConf.to_container(trainer).items() if isinstance(trainer, DictConfig) else ():
        key = f"trainer.{name}"
        built = isinstance(value, dict) and "_target_" in value  # an object Hydra builds: Lightning judges it
        if key not in RULES["train"] and isinstance(value, (dict, list)) and not built:
            raise TextgruError(
                f"{key}={shown(value)}: the Trainer takes no {'mapping' if isinstance(value, dict) else 'list'} "
                f"there; give one value, or an object as {key}={{_target_: <class>, ...}}"
            )


def _export_output(cfg: DictConfig) -> None:
    """An existing export folder is replaced only with overwrite=true, and only when it holds an earlier export."""
    from pathlib import Path

    from textgru.onnx_format import check_export_output

    output, overwrite = lookup(cfg, "output"), lookup(cfg, "overwrite")
    if isinstance(output, str) and output.strip() and isinstance(overwrite, bool):
        check_export_output(Path(output).expanduser(), overwrite)


def _samples_size(cfg: DictConfig) -> None:
    """samples.txt's samples x tokens, held in memory at once, as generate caps them (it named generate's options)."""
    samples, tokens = lookup(cfg, "task.samples"), lookup(cfg, "task.sample_tokens")
    if int_like(samples) and int_like(tokens) and samples * tokens > MOST_TOKENS:
        raise TextgruError(
            f"task.samples={samples} x task.sample_tokens={tokens} is more than {MOST_TOKENS:,} tokens, held in memory "
            "at once; write fewer or shorter samples (textgru generate draws more from the run's checkpoint)"
        )


_TRAIN_VALUES = (fractions, few_labels, task_fits, _tied_weights, _finite_schedule, _accelerator_present, _samples_size)
CROSS_CHECKS: dict[str, Sequence[Callable[[DictConfig], None]]] = {
    "train": (*_TRAIN_VALUES, _search_space, _callback_configs, _trainer_arguments),
    "eval": (fractions,),
    "serve": (_something_to_serve, _serve_caps),
    "export": (_export_output,),
}
