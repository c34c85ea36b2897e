"""The run-folder contract: what a run writes where, fresh folders that are never shared, and the rules for
finished, unfinished and resumed runs. Every file name of a run folder is spelled here and only here."""

from __future__ import annotations

import json
import logging
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError
from textgru.folder_probe import name_too_long, shortened
from textgru.unstarted_runs import made_here, note_made, outermost_missing

log = logging.getLogger(__name__)
SEARCH_FILES = ("study.db", "multirun.yaml", "summary.csv")  # a study's folder (`textgru tune`), a sweep's (`-m`)


@dataclass(frozen=True)
class RunFolder:
    """`outputs/<task>/<date>/<time>/` and the files a run writes into it."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser())

    config = property(lambda self: self.path / "config.yaml")  # the resolved config of the run
    hydra_overrides = property(lambda self: self.path / ".hydra" / "overrides.yaml")  # the command line's overrides
    hydra_config = property(lambda self: self.path / ".hydra" / "hydra.yaml")  # Hydra's own, with the group choices
    metrics = property(lambda self: self.path / "metrics.json")  # written last: marks a finished run
    tokenizer = property(lambda self: self.path / "tokenizer.json")
    train_log = property(lambda self: self.path / "train.log")
    logs = property(lambda self: self.path / "logs")  # Lightning's CSV logger: logs/metrics.csv
    metrics_csv = property(lambda self: self.path / "logs" / "metrics.csv")
    tensorboard = property(lambda self: self.path / "tensorboard")
    ranks = property(lambda self: self.path / "ranks.json")  # data-parallel runs: every rank's training setup
    checkpoints = property(lambda self: self.path / "checkpoints")
    best_checkpoint = property(lambda self: self.path / "checkpoints" / "best.ckpt")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.ckpt")
    unfinished_best = property(lambda self: self.path / "checkpoints" / "best-unfinished.ckpt")
    learning_curves = property(lambda self: self.path / "learning_curves.png")
    confusion_matrix = property(lambda self: self.path / "confusion_matrix.png")
    forecast_plot = property(lambda self: self.path / "forecast.png")
    samples = property(lambda self: self.path / "samples.txt")
    gradient_flow = property(lambda self: self.path / "gradient_flow.json")  # `textgru gradient-flow`'s result: a run
    eval_dir = property(lambda self: self.path / "eval")  # what `textgru eval` writes by default
    # logger=mlflow: the store and id of the MLflow run that records this folder (a run, a sweep or a study folder)
    mlflow_run = property(lambda self: self.path / "mlflow_run.json")
    wandb_run = property(lambda self: self.path / "wandb_run.json")  # logger=wandb: the W&B run id, kept for resume

    def config_before_resume(self, step: int) -> Path:
        """Where config.yaml is kept when a run resumes from checkpoint `step` with overrides that change it (free)."""
        return free_name(self.path / f"config.before-resume-at-step-{step}", ".yaml")

    def metrics_before_resume(self, step: int) -> Path:
        """Where a finished run's metrics.json is kept when a resume trains on from checkpoint `step`."""
        return free_name(self.path / f"metrics.before-resume-at-step-{step}", ".json")

    def metrics_after(self, step: int) -> Path:
        """Where CSV log rows logged after checkpoint `step` are kept when a killed run resumes from it (a free name)."""
        return free_name(self.logs / f"metrics.after-step-{step}", ".csv")

    @property
    def finished_marker(self) -> Path | None:
        """The first file that shows this folder holds a run (finished, or with checkpoints), else None."""
        markers = (self.metrics, self.best_checkpoint, self.last_checkpoint, self.gradient_flow)
        return next((p for p in markers if p.exists()), None)

    def refuse_if_used(self, fix: str, before_start: bool = False, training: bool = False) -> None:
        """One line if the folder already holds a run, so that nothing in it is overwritten; `fix` says what to do.
        `before_start`: this run has written nothing yet (a data-parallel rank's launcher may have), so a config.yaml
        or tokenizer.json in a folder this process did not make (a stopped run's, or the user's own) is refused too.
        `training`: a new run's folder, so a study's or a sweep's (not its jobs' folders) is refused too."""
        search = next((n for n in SEARCH_FILES if (self.path / n).exists()), None) if training else None
        if search is not None:  # a review: the run's mlflow_run.json replaced the search's, which could not go on
            kind = "a study's" if search == "study.db" else "a sweep's"
            raise TextgruError(f"{self.path} is {kind} folder (it holds {search}), not a run's; {fix}")
        marker = self.finished_marker
        if marker is not None:
            raise TextgruError(f"{self.path} already holds a run ({marker.relative_to(self.path)}); {fix}")
        if before_start and not made_here(self.path):
            mine = next((p for p in self.written_by_a_run if p.exists()), None)
            if mine is not None:
                name = mine.relative_to(self.path)
                raise TextgruError(f"{self.path} already holds {name}, which this run would overwrite; {fix}")

    @property
    def written_by_a_run(self) -> tuple[Path, ...]:
        """What a run replaces in its folder besides what marks a run (not mlflow_run.json: a study folder keeps it)."""
        hydra = (self.hydra_overrides, self.hydra_config, self.path / ".hydra" / "config.yaml")
        plots = (self.learning_curves, self.confusion_matrix, self.forecast_plot)
        return (self.config, self.tokenizer, *hydra, self.metrics_csv, self.ranks, *plots, self.samples)

    def read_metrics(self) -> dict[str, Any] | None:
        """The finished run's metrics.json, or None where there is none or it cannot be read."""
        try:
            metrics = json.loads(self.metrics.read_text(encoding="utf-8")) if self.metrics.is_file() else None
        except (OSError, ValueError):
            return None
        return metrics if isinstance(metrics, dict) else None

    @classmethod
    def metrics_of_checkpoint(cls, checkpoint: str | os.PathLike[str]) -> dict[str, Any] | None:
        """The metrics.json of the run whose best checkpoint this is (what those metrics describe), else None."""
        run = cls.of_checkpoint(checkpoint)
        same = Path(checkpoint).expanduser().resolve() == run.best_checkpoint.resolve()
        return run.read_metrics() if same else None

    @classmethod
    def of_checkpoint(cls, checkpoint: str | os.PathLike[str]) -> RunFolder:
        """The run folder a checkpoint belongs to: `<run>/checkpoints/x.ckpt` -> `<run>`; else the file's folder."""
        p = Path(checkpoint).expanduser()
        return cls(p.parent.parent if p.parent.name == "checkpoints" else p.parent)


def free_name(base: Path, suffix: str) -> Path:
    """`<base><suffix>`, or `<base>-2<suffix>`, `-3` ... where that exists."""
    return next(p for n in range(1, 10_000) if not (p := Path(f"{base}{'' if n == 1 else f'-{n}'}{suffix}")).exists())


def default_run_name(run: RunFolder) -> str:
    """A run's name in an experiment tracker: `<date>/<time>` for outputs/<task>/<date>/<time>, else its folder's."""
    parts = run.path.resolve().parts
    dated = len(parts) > 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", parts[-2])
    return "/".join(parts[-2:]) if dated else run.path.name


def fresh_dir(path: str) -> str:
    """`path`, or `path-1`, `path-2`, ... if it exists, created here so that it is this run's alone: two runs
    started in the same second (the config's `${fresh_dir:...<time>}`) never share a folder. A rank started by
    torchrun or SLURM gets `path` itself: all ranks must agree on one folder (they are given `hydra.run.dir=`)."""
    from textgru.distributed import launched_externally

    base = Path(path).expanduser()  # paths.output_dir="~/runs" (a review: ./~/runs was made)
    if launched_externally():
        return str(base)
    outermost = outermost_missing(base.parent)
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in range(10_000):
        candidate = base if n == 0 else base.with_name(f"{base.name}-{n}")
        try:
            candidate.mkdir()
            note_made(candidate, outermost)
            return str(candidate)
        except FileExistsError:
            continue
    raise TextgruError(f"no free folder name next to {base}")


def register_resolvers() -> None:
    """`${fresh_dir:...}` for the configs' run and sweep folders (resolved once per config)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("fresh_dir"):
        OmegaConf.register_new_resolver("fresh_dir", fresh_dir, use_cache=True)


def resume_target(args: list[str]) -> tuple[RunFolder, Path] | None:
    """(run folder, checkpoint) a command line names: `resume=<run folder>`, `ckpt_path=` or `resume=<.ckpt>`."""
    keys = [a.partition("=")[0] for a in args if a.partition("=")[0].lstrip("+~") in ("resume", "ckpt_path")]
    if len(keys) > 1 or any(k.startswith(("+", "~")) for k in keys):  # a review: the first won; +resume= trained anew
        raise TextgruError(f"give the run to continue once, as resume=<run folder> (not {' '.join(keys)})")
    for arg in args:
        key, _, value = arg.partition("=")
        if key == "resume" and not value:
            raise TextgruError("resume= needs the run folder to continue: textgru train resume=<run folder>")
        if key in ("resume", "ckpt_path") and value:  # a printed resume= line may be quoted
            path = Path(unquoted(value)).expanduser().absolute()
            named = path.suffix == ".ckpt" and not path.exists()  # a review: resume=<run>/checkpoints/x.ckpt
            if not path.is_file() and ((key == "resume" and not named) or path.is_dir()):  # ckpt_path=<run folder> too
                if not path.is_dir():
                    raise TextgruError(f"resume={value}: no such run folder; give a folder that a run wrote")
                inner = path.name == "checkpoints" and (path.parent / "config.yaml").is_file()  # a review
                run = RunFolder(path.parent if inner else path)
                return run, run.last_checkpoint
            if not path.is_file() or not (path.suffix == ".ckpt" or zipfile.is_zipfile(path)):  # a review: a CSV
                why = "does not exist" + _held(path.parent) if not path.is_file() else "is not a checkpoint (.ckpt)"
                raise TextgruError(f"{key}={value} {why}; to continue a run give resume=<run folder>")
            return RunFolder.of_checkpoint(path), path
    return None


def _held(folder: Path) -> str:
    """` (<folder> holds a.ckpt, b.ckpt)`: the checkpoints `folder` holds, a few named; "" where it is no folder."""
    held = sorted(p.name for p in folder.glob("*.ckpt"))  # none in a folder that is not there
    names = ", ".join(held[:4]) + (" ..." if len(held) > 4 else "") if held else "no checkpoint"
    return f" ({folder} holds {names})" if folder.is_dir() else ""


def restore_unfinished_best(run: RunFolder) -> None:
    """An interrupted run set its best checkpoint aside as best-unfinished.ckpt; a resumed run takes it back."""
    if run.unfinished_best.exists() and not run.best_checkpoint.exists():
        run.unfinished_best.replace(run.best_checkpoint)


def set_aside_unfinished_best(run: RunFolder) -> None:
    """A run that fails must not leave a best.ckpt that looks like a finished run's: rename it best-unfinished."""
    if run.best_checkpoint.exists():
        run.best_checkpoint.replace(run.unfinished_best)
        log.warning("run did not finish; its best checkpoint so far is %s", run.unfinished_best)


def check_explicit_run_dir(
    args: Sequence[str], training: bool = False, command: str = "", search: bool = False
) -> None:
    """Refuse an explicit `hydra.run.dir=` that holds a run, before Hydra writes anything there; for `training`, also
    one holding a config.yaml or tokenizer.json the run would overwrite, or a study or sweep (not for a `search`, or a
    command line naming one: it goes on in its study's folder); for `gradient_flow`, its PNG or `.hydra/`."""
    from textgru.command_flags import searches
    from textgru.distributed import launched_externally

    fix = "choose another hydra.run.dir= so nothing is overwritten"
    printing = any(a.split("=", 1)[0] in ("--cfg", "-c", "--info", "-i", "--help", "-h") for a in args)  # writes none
    folder = explicit_run_dir(args)
    if folder is not None and (too_long := name_too_long(Path(folder).expanduser())):  # else a traceback (a review)
        raise TextgruError(f"hydra.run.dir={shortened(folder)} {too_long}")
    own = ("gradient_flow.png", *(f".hydra/{n}.yaml" for n in ("config", "hydra", "overrides")))  # a review: .hydra/
    held = [n for n in own if folder is not None and command == "gradient_flow" and Path(folder, n).exists()]
    if held and not printing:
        raise TextgruError(f"{folder} already holds {held[0]}, which this would overwrite; {fix}")  # was replaced
    if folder is not None:
        before_start = training and not printing and not launched_externally()
        a_run = training and not printing and not (search or searches(args))  # (a review: `textgru tune` of a
        # search given by an experiment config, not hparams_search=, was refused its own study's folder)
        RunFolder(folder).refuse_if_used(fix, before_start=before_start, training=a_run)


def explicit_run_dir(args: Sequence[str]) -> str | None:
    """The folder a command line's `hydra.run.dir=` names (the last one; `+`/`++` and quotes as Hydra reads them)."""
    value = None
    for arg in args:
        key, eq, raw = arg.partition("=")
        if eq and key.lstrip("+") == "hydra.run.dir":
            value = unquoted(raw)
    return value


def unquoted(value: str) -> str:
    """An override's value without the quotes Hydra's grammar strips (`'my dir'`, `"my dir"`), and their escapes
    (`\\"` within double quotes, and `\\${` for `${` as text, as `console.command_arg` writes them)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = re.sub(r"(\\+)(['\"]|$)", lambda m: m.group(1)[: len(m.group(1)) // 2] + m.group(2), value[1:-1])
    return value.replace("\\${", "${")
