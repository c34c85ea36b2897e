"""The `textgru` command (also `python -m textgru` and the thin `scripts/*.py`): one subcommand per job, each taking
Hydra overrides (`textgru train task=sentiment model.hidden_size=128`, `-m` sweeps, `--cfg job`, `--help`).
Entry points only: each composes its config and calls the library."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textgru import command_flags as flags
from textgru.config import check_group_choices, check_override_keys, search_path_override, take_raw_args
from textgru.console import command_usage, exit_now, fail, sigterm_as_ctrl_c, utf8_output
from textgru.errors import EveryRankError, TextgruError, TrainingStopped
from textgru.resource_errors import resource_failures_named, run_naming_hydra_writes
from textgru.standard_output import pipe_closed_quietly

CONF_PATH = "pkg://textgru.conf"
TUNE = "textgru.commands:tune_command"  # `textgru tune`: a search, which goes on in its study's folder
log = logging.getLogger(__name__)


def run_hydra(target: str, config_name: str, args: Sequence[str], raw_keys: tuple[str, ...] = ()) -> Any:
    """Run the function `target` ("module:function", imported once the command line is checked) on the config
    `config_name` composed with `args`, as `hydra.main` would; `TextgruError` becomes one line and exit code 2.
    `raw_keys` name free-text options whose values are taken verbatim, never parsed by Hydra. The process's own
    `sys.argv` is left alone: Lightning's ddp launcher re-runs it for every rank."""
    from hydra._internal.utils import _run_hydra, get_args_parser

    from textgru.command_line_checks import check_command_line, home_folders_expanded
    from textgru.config import compose_config
    from textgru.run_claim import claim_run_dir, note_new_run_dir, release
    from textgru.run_folder import check_explicit_run_dir, register_resolvers
    from textgru.sweep_jobs import FAILED_SWEEP_JOBS

    register_resolvers()
    args = home_folders_expanded(args, raw_keys, config_name)
    parser = get_args_parser()
    command = next((a[15:] for a in args if a.startswith("hydra.job.name=")), config_name.replace("_", "-"))
    flags.one_line_errors(parser, command)
    try:
        flags.check_flag_combinations(args, config_name, lambda: compose_config(config_name))
        check_group_choices(args, config_name)
        if not flags.multirun(args) or flags.searches(args):  # (-m reads no hydra.run.dir: refused below)
            check_explicit_run_dir(args, config_name == "train", config_name, target == TUNE)
        args, raw = take_raw_args(args, raw_keys)
        probe = check_override_keys(args, config_name)
        check_command_line(args, config_name, probe, raw)  # every value, before anything heavy is imported
        folder = note_new_run_dir(args, probe, compose=lambda: compose_config(config_name))
        recheck = functools.partial(check_explicit_run_dir, args, config_name == "train", config_name, target == TUNE)
        claimed = claim_run_dir(folder, args, config_name, recheck)  # before Hydra writes there; kept till the end
    except TextgruError as e:
        fail(str(e))
    result: dict[str, Any] = {}

    def task_function(cfg: Any) -> Any:
        result["value"] = run_command(target, cfg, raw)
        return result["value"]

    if config_name != "train" and any(flags.is_flag(f, "-h", "--help") for f in flags.split_flags(args)[1]):
        from textgru.command_help import command_help  # Hydra's $CONFIG drops the YAML's comments

        return print(command_help(config_name))
    FAILED_SWEEP_JOBS.clear()  # this command's sweep only (tests run several commands in one process)
    try:
        hydra_app = functools.partial(
            _run_hydra,
            args=parser.parse_args(flags.flags_last([*args, *search_path_override(args)])),
            args_parser=parser,
            task_function=task_function,
            config_path=CONF_PATH,
            config_name=config_name,
        )
        if any(flags.is_flag(f, "-h", "--help") for f in flags.split_flags(args)[1]):
            from textgru.train_help import print_train_help  # train's: a composed config, from many files

            return print_train_help(hydra_app, flags.split_flags(args)[0])
        run_naming_hydra_writes(hydra_app)  # a full disk as Hydra writes .hydra/: one line, not its traceback
    finally:
        release(claimed)
    if failed := ", ".join(FAILED_SWEEP_JOBS.values()):  # each said why as it failed; the sweep wrote its summary
        fail(f"{len(FAILED_SWEEP_JOBS)} job(s) of the sweep failed: {failed} (see above)")  # their folders
    return result.get("value")


def run_command(target: str, cfg: Any, raw: dict[str, str]) -> Any:
    """Inside the Hydra app: logging as a run wants it, the verbatim options put back, then `target(cfg)`."""
    import importlib

    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import InstantiationException
    from omegaconf.errors import MissingMandatoryValue

    from textgru.command_line_checks import one_line
    from textgru.config import back_where_the_command_ran, in_hydra_multirun, put_back_raw_args
    from textgru.distributed import process_rank, quiet_other_ranks
    from textgru.sweep_jobs import note_failed_sweep_job
    from textgru.sweep_summary import summarise_sweep
    from textgru.unstarted_runs import remove_unstarted_hydra_run

    try:
        import datasets

        datasets.disable_progress_bars()  # we log what each step did instead
        if process_rank() > 0:
            quiet_other_ranks()
        put_back_raw_args(cfg, raw)
        back_where_the_command_ran()
        module, name = target.split(":")
        with resource_failures_named(), pipe_closed_quietly():  # (inside Hydra's app: it would print a traceback)
            return getattr(importlib.import_module(module), name)(cfg)
    except MissingMandatoryValue as e:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        key = getattr(e, "full_key", None) or str(e)
        fail(f"{key} is required: pass {key}=...")
    except (TrainingStopped, KeyboardInterrupt) as e:  # Ctrl+C or SIGTERM: the whole sweep stops, not only a job
        if not in_hydra_multirun() and not isinstance(e, TrainingStopped):
            remove_unstarted_hydra_run()  # stopped before the run wrote anything (reading its data): nothing to keep
            raise  # main() names the command that was stopped
        rest = ""  # a sweep's jobs it finished are summarised (the stopped one as unfinished, the rest not started)
        if in_hydra_multirun():
            rest = summarise_sweep(Path(HydraConfig.get().sweep.dir), str(cfg.optimized_metric), cfg.optimized_mode)
        said = str(e) or "the sweep was stopped (Ctrl+C or SIGTERM) before it finished"
        fail(said + rest, 130, say=process_rank() == 0)
    except Exception as e:  # a sweep job's error must not end the sweep and lose its summary
        foreseen = isinstance(e, (TextgruError, InstantiationException))  # the latter: a class refused its arguments
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not (foreseen or in_hydra_multirun()):
            raise  # a bug in a single run: its traceback
        message = str(e if isinstance(e, TextgruError) else one_line(e)) if foreseen else f"{type(e).__name__}: {e}"
        if in_hydra_multirun():  # logged to the console and train.log; a bug with its traceback
            job, trace = HydraConfig.get().job, None if foreseen else e
            note_failed_sweep_job(HydraConfig.get())  # its summary row, and its folder in the last line
            return log.error("sweep job %s (%s) failed: %s", job.num, job.override_dirname, message, exc_info=trace)
        remove_unstarted_hydra_run()
        fail(message, say=process_rank() == 0 or not isinstance(e, EveryRankError))


def train(args: Sequence[str]) -> Any:
    """`textgru train`: one run, a `-m` sweep, `resume=<run folder>`, or `hparams_search=NAME` (`textgru tune`)."""
    args = list(args)
    try:
        from textgru.command_line_checks import home_folders_expanded
        from textgru.run_folder import resume_target

        target = resume_target(args)
        if target is not None:
            from textgru.data.labelled import datasets_quiet
            from textgru.resume_command import resume

            rest = home_folders_expanded([a for a in args if a.partition("=")[0] not in ("resume", "ckpt_path")])
            with resource_failures_named(), datasets_quiet():  # a full disk: one line; no bars (a review: three)
                return resume(*target, rest)
    except (TextgruError, TrainingStopped) as e:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        fail(str(e), 130 if isinstance(e, TrainingStopped) else 2)  # stopped: as a new run's (a review: 2)
    if flags.searches(args):  # its trials run one at a time: tune's own -m is refused, so train's is dropped
        return tune([a for a in args if not flags.is_flag(a, "-m", "--multirun")])
    return run_hydra("textgru.train_command:train_command", "train", args)


TUNE_EXAMPLE = "hydra.help.footer='Example:  textgru tune hparams_search=sentiment n_trials=20 trainer.max_epochs=4'"
TUNE_RUN_DIR = "hydra.run.dir=${paths.output_dir}/${task.name}/tune/${oc.select:hparams_search.study_name,none}"


def tune(args: Sequence[str]) -> Any:
    """`textgru tune hparams_search=NAME [n_trials=N] [overrides]`: one study folder per study name (the same command
    again resumes the study; `hydra.sweep.dir=` names another), each call's own `.hydra/<time>/` in it."""
    from textgru.run_folder import explicit_run_dir
    from textgru.study_folder import study_folder_args

    try:  # `train -m hparams_search=...` comes here without its -m
        args = study_folder_args(list(args))
    except TextgruError as e:
        fail(str(e))
    args = args if explicit_run_dir(args) is not None else [TUNE_RUN_DIR, *args]
    usage = f"hydra.help.header='textgru tune: {COMMANDS['tune'][0]}'"  # --help: tune's usage, train's options
    args += ["hydra.job.name=tune", "hydra.output_subdir=.hydra/${now:%Y-%m-%d_%H-%M-%S}", usage, TUNE_EXAMPLE]
    return run_hydra(TUNE, "train", args, raw_keys=("n_trials",))


COMMANDS: dict[str, tuple[str, Callable[[Sequence[str]], Any]]] = {
    "train": ("train and test a model: task=sentiment|lm|bilm|forecast; -m sweeps; resume=<run folder>", train),
    "eval": (
        "score a checkpoint: ckpt_path=<run or .ckpt> [data=NAME data.path=...] [split=test]",
        lambda a: run_hydra("textgru.commands:eval_command", "eval", a),
    ),
    "predict": (
        'classify texts: ckpt_path=... text="..." | input=<.txt|.csv|.jsonl> | stdin [output=preds.jsonl]',
        lambda a: run_hydra("textgru.commands:predict_command", "predict", a, raw_keys=("text",)),
    ),
    "generate": (
        'sample from a language model: ckpt_path=... prompt="ROMEO:" [num_samples=3 seed=1 top_p=0.9]',
        lambda a: run_hydra("textgru.commands:generate_command", "generate", a, raw_keys=("prompt",)),
    ),
    "export": (
        "export a checkpoint for onnxruntime: ckpt_path=<run or .ckpt> format=onnx output=<folder> [overwrite=true]",
        lambda a: run_hydra("textgru.commands:export_command", "export", a),
    ),
    "ensemble": (
        "join classifiers trained apart into one checkpoint: ckpt_paths=[<run>,<run>,...] output=<file>.ckpt",
        lambda a: run_hydra("textgru.ensembling:ensemble_command", "ensemble", a),
    ),
    "tune": ("Optuna search: hparams_search=sentiment|lm [n_trials=20] [key=value ...]", tune),
    "gradient-flow": (
        "gradient norms through time, GRU against a tanh RNN: [seq_len=100] [steps=1500]",
        lambda a: run_hydra("textgru.commands:gradient_flow_command", "gradient_flow", a),
    ),
    "serve": (
        "HTTP API and web page: classifier=<run or .ckpt> and/or lm=<run or .ckpt> [port=8000 host=127.0.0.1]",
        lambda a: run_hydra("textgru.commands:serve_command", "serve", a),
    ),
}


def main(argv: Sequence[str] | None = None) -> None:
    """`textgru <command> [overrides]`."""
    with pipe_closed_quietly(sys.argv[1:] if argv is None else argv):
        utf8_output()
        argv = list(sys.argv[1:] if argv is None else argv)
        if argv[:1] == ["help"] and len(argv) > 1:  # `textgru help predict`: predict's help
            return main([argv[1], "--help"])
        if not argv or argv[0] in ("-h", "--help", "help"):
            print(command_usage({name: what for name, (what, _) in COMMANDS.items()}))
            return
        if argv[0] in ("-V", "--version"):
            from textgru import __version__

            print(f"textgru {__version__}")
            return
        command, rest = argv[0], argv[1:]
        if flags.asks_version(rest):  # a review: Hydra's version line
            return main(["--version"])
        if command not in COMMANDS:
            from textgru.command_help import unknown_command

            fail(unknown_command(command, list(COMMANDS)))
        if command != "serve":  # uvicorn stops gracefully on its own; training leaves it to Lightning inside fit
            sigterm_as_ctrl_c()
        try:
            COMMANDS[command][1](rest)
        except KeyboardInterrupt:  # what it was writing aside (then renaming into place) is gone: `finally` blocks ran
            fail(f"textgru {command} was stopped (Ctrl+C or SIGTERM) before it finished", 130)
        if command == "serve":  # stopped as asked, and shut down: nothing is left to tear down slowly
            exit_now()
