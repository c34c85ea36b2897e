"""Hydra entry points for scripts/: up-front checks of the command line and one-line errors."""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import MissingMandatoryValue

from textgru.errors import TextgruError

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
FINISHED_RUN_MARKERS = ("metrics.json", "checkpoints/best.ckpt", "checkpoints/last.ckpt")
log = logging.getLogger("textgru")


def fresh_dir(path: str) -> str:
    """`path`, or `path-1`, `path-2`, ... if it exists, created here so that it is this run's alone: two runs
    started in the same second (conf/hydra: `${fresh_dir:...<time>}`) never share a folder."""
    base = Path(path)
    if any(k in os.environ for k in ("LOCAL_RANK", "TORCHELASTIC_RUN_ID", "SLURM_PROCID")):
        return str(base)  # one rank of torchrun/SLURM: all ranks must agree, so no suffix (pass hydra.run.dir=)
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in range(10_000):
        candidate = base if n == 0 else base.with_name(f"{base.name}-{n}")
        try:
            candidate.mkdir()
            return str(candidate)
        except FileExistsError:
            continue
    raise TextgruError(f"no free folder name next to {base}")


if not OmegaConf.has_resolver("fresh_dir"):
    OmegaConf.register_new_resolver("fresh_dir", fresh_dir, use_cache=True)  # resolved once per config


def fail(message: str, code: int = 2) -> None:
    """One line on stderr and a non-zero exit: the house style for bad input."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def check_group_choices(args: list[str], conf_dir: Path = CONF_DIR) -> None:
    """Reject `group=option` overrides naming an option that has no YAML file, listing the valid ones."""
    for arg in args:
        if "=" not in arg or arg.startswith(("-", "hydra.")):
            continue
        key, value = arg.split("=", 1)
        key = key.lstrip("+~")
        group = conf_dir / key.replace(".", "/")
        if "." in key or not group.is_dir() or value in ("", "null"):
            continue
        choices = sorted(p.stem for p in group.glob("*.yaml"))
        for option in value.split(","):
            option = option.strip()
            if option.startswith(("choice(", "range(", "interval(", "tag(", "glob(")):
                break
            if option not in choices:
                raise TextgruError(f"unknown {key} {option!r}; choose one of: {', '.join(choices)}")


def check_run_dir(args: list[str]) -> None:
    """Refuse an explicit `hydra.run.dir=` that holds a finished run, before Hydra writes anything there."""
    for arg in args:
        if arg.startswith("hydra.run.dir="):
            run_dir = Path(arg.split("=", 1)[1]).expanduser()
            for name in FINISHED_RUN_MARKERS:
                if (run_dir / name).exists():
                    raise TextgruError(
                        f"{run_dir} already holds a run ({name}); choose another hydra.run.dir= so nothing is overwritten"
                    )


def override_value(value: Any) -> str:
    """A parsed override value written back in Hydra's override syntax."""
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def first_of_sweep(value: Any) -> Any:
    """A parsed Hydra sweep's first value (a choice's first option, an interval's or range's start); any other
    value as it is."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    if isinstance(value, ChoiceSweep) and value.list:
        return value.list[0]
    if isinstance(value, (IntervalSweep, RangeSweep)):
        return value.start
    return value


def check_override_keys(args: list[str], config_name: str, conf_dir: Path = CONF_DIR) -> None:
    """Compose the config once with the command line's overrides, each sweep replaced by its first value: a
    key that does not exist gets one line here, before a sweep starts any run (Hydra's own message spans
    several lines). Command lines this cannot probe (globs, unparsable text) are left to Hydra."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Glob

    candidates = [a for a in args if not a.startswith("-") and not a.lstrip("+~").startswith("hydra")]
    if not candidates:
        return
    try:
        parsed = OverridesParser.create().parse_overrides(candidates)
    except Exception:
        return
    probe = []
    for override in parsed:
        if not override.is_sweep_override():
            probe.append(override.input_line)
            continue
        sweep = override.value()
        if isinstance(sweep, Glob):
            return  # its options are only known to Hydra
        probe.append(f"{override.get_key_element()}={override_value(first_of_sweep(sweep))}")
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            compose(config_name=config_name, overrides=probe)
    except Exception as e:
        first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
        bad = first_line.split("'")[1] if first_line.startswith("Could not override '") else None
        if bad:
            script = sys.argv[0] if sys.argv[0].endswith(".py") else "scripts/train.py"
            raise TextgruError(
                f"no config key {bad}: check the spelling (python {script} --cfg job lists every key); "
                f"to add a new key write +{bad}=..."
            ) from None
        raise TextgruError(first_line) from None


def take_raw_args(args: list[str], keys: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Pull `key=value` for free-text keys out of the command line, so Hydra does not parse their values
    (an apostrophe, a comma or `true` in a text would otherwise be read as grammar, a sweep or a bool)."""
    rest, raw = [], {}
    for arg in args:
        key = arg.split("=", 1)[0]
        if "=" in arg and key in keys:
            raw[key] = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, raw


def quiet_other_ranks() -> None:
    """In ranks other than zero of a data-parallel run: warnings and errors only, on the console, and no log
    file in the run folder (rank zero reports for the run)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler):
            root.removeHandler(handler)
            handler.close()
            path = Path(handler.baseFilename)
            if path.exists() and path.stat().st_size == 0:
                path.unlink()
        else:
            handler.setLevel(logging.WARNING)


def _remove_unstarted_run_dir() -> None:
    """A run refused before it wrote anything leaves no folder behind: remove the run folder when it holds only
    what Hydra put there (`.hydra/` and the log)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.RUN:
        return
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    if run_dir.is_dir() and all(p.name == ".hydra" or p.suffix == ".log" for p in run_dir.iterdir()):
        logging.shutdown()
        shutil.rmtree(run_dir, ignore_errors=True)


def hydra_entry(fn: Callable[[DictConfig], Any] | str, config_name: str, raw_keys: tuple[str, ...] = ()) -> Any:
    """Run `fn(cfg)` under `hydra.main` with `conf/`; TextgruError becomes one line and exit code 2.

    `fn` may be given as "module:function" so that heavy imports wait until the command line is checked.
    `raw_keys` name free-text options whose values are taken verbatim, never parsed by Hydra.
    """
    try:
        check_group_choices(sys.argv[1:])
        check_run_dir(sys.argv[1:])
        sys.argv[1:], raw = take_raw_args(sys.argv[1:], raw_keys)
        check_override_keys(sys.argv[1:], config_name)
    except TextgruError as e:
        fail(str(e))

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
    def main(cfg: DictConfig) -> Any:
        try:
            import datasets

            datasets.disable_progress_bars()  # we log what each step did instead
            if int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) > 0:
                quiet_other_ranks()
            with open_dict(cfg):
                for key, value in raw.items():
                    cfg[key] = value
            target = fn
            if isinstance(fn, str):
                module, name = fn.split(":")
                target = getattr(importlib.import_module(module), name)
            return target(cfg)
        except MissingMandatoryValue as e:
            key = getattr(e, "full_key", None) or str(e)
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            fail(f"{key} is required: pass {key}=...")
        except TextgruError as e:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            _remove_unstarted_run_dir()
            fail(str(e))

    return main()


TUNE_RUN_DIR = "hydra.run.dir=${paths.output_dir}/${task.name}/tune/${hparams_search.study_name}"


def tune_main() -> Any:
    """`scripts/tune.py hparams_search=NAME [n_trials=N] [overrides]`: the study folder is the run folder, one
    per study name, so the same command again resumes the study; each call keeps its own `.hydra/<time>/`."""
    args = [a for a in sys.argv[1:] if a not in ("-m", "--multirun")]
    if not any(a.startswith("hydra.run.dir=") for a in args):
        args.insert(0, TUNE_RUN_DIR)
    sys.argv[1:] = [*args, "hydra.job.name=tune", "hydra.output_subdir=.hydra/${now:%Y-%m-%d_%H-%M-%S}"]
    return hydra_entry("textgru.tuning:tune_command", config_name="train", raw_keys=("n_trials",))


def resume_target(args: list[str]) -> tuple[Path, Path] | None:
    """(run folder, checkpoint) named by `resume=<run folder>` or `ckpt_path=<run folder>/checkpoints/X.ckpt`."""
    for arg in args:
        key, _, value = arg.partition("=")
        if key in ("resume", "ckpt_path") and value:
            path = Path(value).expanduser()
            if key == "resume":
                if not path.is_dir():
                    raise TextgruError(
                        f"resume={value}: no such run folder; give the folder a run wrote "
                        "(outputs/<task>/<date>/<time>)"
                    )
                return path, path / "checkpoints" / "last.ckpt"
            if not path.is_file():
                raise TextgruError(f"ckpt_path={value} does not exist; to continue a run give resume=<run folder>")
            return (path.parent.parent if path.parent.name == "checkpoints" else path.parent), path
    return None


def resume_main(run_dir: Path, ckpt: Path, overrides: list[str]) -> Any:
    """`scripts/train.py resume=<run folder> [key=value ...]`: the run's own `config.yaml` (with any overrides,
    e.g. a larger `trainer.max_epochs`), its checkpoint, its folder and logs; nothing there is deleted."""
    import yaml

    config = run_dir / "config.yaml"
    if not config.is_file():
        raise TextgruError(f"{run_dir} has no config.yaml, so it is not a textgru run folder")
    if (run_dir / "metrics.json").exists():
        raise TextgruError(f"{run_dir} holds a finished run (metrics.json); there is nothing to resume")
    if not ckpt.is_file():
        raise TextgruError(
            f"{run_dir} has no {ckpt.relative_to(run_dir)} to resume from (the run stopped before its "
            "first checkpoint); start it again"
        )
    cfg = OmegaConf.load(config)
    started_with = run_dir / ".hydra" / "overrides.yaml"  # the command line that started the run may be repeated
    original = set(yaml.safe_load(started_with.read_text()) or []) if started_with.is_file() else set()
    absent = object()
    for override in overrides:
        key, eq, value = override.partition("=")
        if override in original or key.startswith("hydra."):
            continue
        existing = OmegaConf.select(cfg, key.lstrip("+"), default=absent)
        if not eq or (existing is absent and not key.startswith("+")):
            raise TextgruError(f"resume: {override!r} is not key=value for a key in {config} (a new key: +key=value)")
        if isinstance(existing, DictConfig) and value != "null":  # null turns a callback or logger off
            raise TextgruError(
                f"resume: {override!r} would swap the config group {key}; a resumed run keeps the "
                f"run's groups: change single values instead (e.g. {key}.<name>=...)"
            )
        OmegaConf.update(cfg, key.lstrip("+"), yaml.safe_load(value) if value else None, force_add=True)
    with open_dict(cfg):  # the folder as given now (it may have been moved or be reached by another path)
        cfg.paths.run_dir = str(run_dir)
        for callback in cfg.callbacks.values():
            if callback is not None and "dirpath" in callback:
                callback.dirpath = str(run_dir / "checkpoints")
    logging.basicConfig(
        level=logging.INFO,
        format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s",
        handlers=[logging.StreamHandler(sys.stdout), logging.FileHandler(run_dir / "train.log")],
    )
    if int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) > 0:
        quiet_other_ranks()
    log.info("resume %s from %s; overrides %s", run_dir, ckpt.name, overrides or "none")
    from textgru.training import train

    return train(cfg, resume_from=ckpt)[cfg.optimized_metric]


def train_main() -> Any:
    """`scripts/train.py`: one run, a `-m` sweep, `resume=<run folder>`, or (with `hparams_search=NAME`) the
    Optuna search of tune.py."""
    try:
        target = resume_target(sys.argv[1:])
        if target is not None:
            rest = [a for a in sys.argv[1:] if a.partition("=")[0] not in ("resume", "ckpt_path")]
            return resume_main(*target, rest)
    except TextgruError as e:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        fail(str(e))
    if any(a.split("=", 1)[0].lstrip("+") == "hparams_search" and not a.endswith("=null") for a in sys.argv[1:]):
        return tune_main()
    return hydra_entry("textgru.training:train_command", config_name="train")
