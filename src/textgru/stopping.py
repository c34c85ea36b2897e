"""Why a run's training stopped, and training on after a limit stopped it.

A finished run records in `metrics.json` what ended its training (`stopped_by`): early stopping, or one of the
limits `trainer.max_time`, `max_steps`, `max_epochs`. A run a limit stopped short (the default config caps training
at `trainer.max_time`, which a slow machine reaches before the planned epochs) can train on from its last
checkpoint: `textgru train resume=<run> trainer.max_time=null`, or any override that raises the limit that stopped
it. A run early stopping ended has nothing to train on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textgru.config_problem import problem
from textgru.config_rules_train import TRAIN
from textgru.console import command_arg
from textgru.errors import TextgruError

LIMITS = ("max_time", "max_steps", "max_epochs")  # the trainer limits a resume may raise to train on
EARLY_STOPPING = "early_stopping"
STOP_REASONS = ("fast_dev_run", *LIMITS, EARLY_STOPPING, "pruned", "other")  # what `stop_reason` names


def reported_stop_reason(progress: Mapping[str, Any], trainer: Any) -> str:
    """`stop_reason` as rank zero of the training processes found it when training ended (`run/stop_reason` among
    the callback metrics, set by `callbacks.RunProgress`): with spawned ranks (a search's data-parallel trials) the
    launching process's trainer never trained, and a trial max_steps ended said "other"."""
    code = progress.get("run/stop_reason")
    return STOP_REASONS[int(code)] if code is not None and 0 <= int(code) < len(STOP_REASONS) else stop_reason(trainer)


def stop_reason(trainer: Any) -> str:
    """What ended `trainer.fit`: "early_stopping", "max_time", "max_steps", "max_epochs", "fast_dev_run", what a
    callback that stopped it names as its `stopped_by` ("pruned": `textgru tune`'s pruner), or "other" (a callback
    that set `trainer.should_stop` and names nothing)."""
    from lightning.pytorch.callbacks import EarlyStopping, Timer

    if trainer.fast_dev_run:
        return "fast_dev_run"
    if trainer.max_steps is not None and 0 < trainer.max_steps <= trainer.global_step:
        return "max_steps"
    if any(
        isinstance(c, Timer) and c.time_remaining() is not None and c.time_remaining() <= 0 for c in trainer.callbacks
    ):
        return "max_time"
    if said := next((c.stopped_by for c in trainer.callbacks if getattr(c, "stopped_by", None)), None):
        return said  # before max_epochs: Lightning counts the epoch a pruner cut short (a review: "max_epochs")
    if trainer.max_epochs is not None and 0 <= trainer.max_epochs <= trainer.current_epoch:
        return "max_epochs"  # also where early stopping triggered at the last epoch: the run ended as planned
    if any(isinstance(c, EarlyStopping) and _stopped(c) for c in trainer.callbacks):
        return EARLY_STOPPING
    return "other"


def early_stopped(trainer: Any) -> bool:
    """Whether early stopping has ended the training before its limits (as `stop_reason` would say at its end: not at
    the last planned epoch or step, where a run a limit ended may train on with the limit raised: a review)."""
    if trainer is None or not trainer.should_stop or not any(map(_stopped, trainer.early_stopping_callbacks)):
        return False
    steps, epochs = trainer.max_steps, trainer.max_epochs
    at_limit = (steps is not None and 0 < steps <= trainer.global_step) or (
        epochs is not None and 0 <= epochs <= trainer.current_epoch + 1
    )
    return not at_limit


def _stopped(early_stopping: Any) -> bool:
    reason = getattr(early_stopping, "stopping_reason", None)  # Lightning >= 2.5: an enum, NOT_STOPPED first
    if reason is not None:
        return reason.name != "NOT_STOPPED"
    return early_stopping.stopped_epoch > 0


def seconds(duration: Any) -> float | None:
    """`trainer.max_time` in seconds ("DD:HH:MM:SS" or a dict of days/hours/minutes/seconds); None: no limit."""
    if duration is None:
        return None
    if isinstance(duration, str):
        days, hours, minutes, secs = (int(p) for p in duration.strip().split(":"))
        return float(((days * 24 + hours) * 60 + minutes) * 60 + secs)
    units = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
    return float(sum(units[k] * float(v) for k, v in duration.items()))


def _raised(limit: str, before: Any, now: Any) -> bool:
    """Whether `trainer.<limit>` goes from `before` (what stopped the run) to a larger value, or to none."""
    if limit == "max_time":
        then, later = seconds(before), seconds(now)
        return then is not None and (later is None or later > then)
    unbounded = now is None or now < 0  # max_steps=-1 / max_epochs=-1: no limit
    return before is not None and before >= 0 and (unbounded or now > before)


def check_can_train_on(
    metrics: Mapping[str, Any] | None, before: Mapping[str, Any], now: Mapping[str, Any], run: Any
) -> None:
    """One line unless a finished run (its `metrics.json` read as `metrics`) was stopped by a trainer limit that the
    resumed config raises: `before` is the run's trainer config, `now` the one it would go on with."""
    finished = f"{run} holds a finished run (metrics.json)"
    reason = metrics.get("stopped_by") if metrics else None
    if metrics is not None and "stopped_by" not in metrics:  # written by an older textgru (before 2026-12-02)
        reason = inferred_stop_reason(metrics, before)
    if reason not in LIMITS:
        why = "; early stopping ended its training" if reason == EARLY_STOPPING else ""
        if metrics is not None and "stopped_by" not in metrics:  # an upgrade review: told no way forward
            raise TextgruError(
                f"{finished} that does not record what ended its training (stopped_by; an older textgru wrote it), "
                "nor do its steps and epochs tell; if a trainer limit ended it, move metrics.json aside (e.g. to "
                f"metrics.before-resume.json) and train on: textgru train {command_arg('resume', run)} "
                "trainer.<that limit>=<more>"
            )
        raise TextgruError(f"{finished}{why}; there is nothing to resume")
    if (bad := problem(f"trainer.{reason}", now.get(reason), TRAIN[f"trainer.{reason}"])) is not None:
        raise TextgruError(bad)  # checked before it is compared (a review: max_epochs=abc was a TypeError)
    if not _raised(reason, before.get(reason), now.get(reason)):
        value = {"max_time": "null", "max_steps": "-1"}.get(reason, f"<more than {before.get(reason)}>")
        raise TextgruError(
            f"{finished}: trainer.{reason}={_shown(before.get(reason))} stopped its training; to train on from its "
            f"last checkpoint, raise that limit: textgru train {command_arg('resume', run)} trainer.{reason}={value}"
        )


def inferred_stop_reason(metrics: Mapping[str, Any], trainer: Mapping[str, Any]) -> str | None:
    """What ended a run whose metrics.json lacks `stopped_by` (an older textgru's), where its `global_step` and
    `epochs` and the `trainer` limits it ran under tell it alone: max_steps reached, or max_epochs reached well
    inside max_time (an older textgru counted an epoch max_time cut short, so a run near max_time is not told).
    None where they do not (early stopping, max_time or another limit: each could have)."""
    steps, epochs = trainer.get("max_steps"), trainer.get("max_epochs")
    step, epoch, took = metrics.get("global_step"), metrics.get("epochs"), metrics.get("train_seconds")
    if isinstance(steps, int) and isinstance(step, int) and 0 < steps <= step:
        return "max_steps"
    try:
        limit = seconds(trainer.get("max_time"))
    except (TypeError, ValueError, AttributeError):
        return None
    inside = limit is None or (isinstance(took, (int, float)) and took < 0.8 * limit)
    if isinstance(epochs, int) and isinstance(epoch, int) and 0 < epochs <= epoch and inside:
        return "max_epochs" if not trainer.get("min_steps") else None  # min_steps refits max_epochs: not as saved
    return None


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return "null" if value is None else str(value)


def stop_note(metrics: Mapping[str, Any], trainer_cfg: Mapping[str, Any], run: Any) -> str | None:
    """A line for a run that `trainer.max_time` stopped before its planned epochs or steps, else None."""
    if metrics.get("stopped_by") != "max_time":
        return None
    planned = (
        f"trainer.max_steps={trainer_cfg.get('max_steps')}"
        if (trainer_cfg.get("max_steps") or -1) > 0
        else f"trainer.max_epochs={trainer_cfg.get('max_epochs')}"
    )
    return (
        f"trainer.max_time={_shown(trainer_cfg.get('max_time'))} stopped training after {metrics.get('global_step')} "
        f"steps, before {planned}; the scores are those of the shortened run. To train on: "
        f"textgru train {command_arg('resume', run)} trainer.max_time=null"
    )


def stopped_training(run: Any) -> str:
    """The line for a run Ctrl+C or SIGTERM stopped: how to continue it, or that nothing was saved to continue from."""
    if run.last_checkpoint.exists():
        return f"training was stopped before it finished; continue from its last checkpoint: textgru train {command_arg('resume', run.path)}"
    return (
        "training was stopped before its first checkpoint (checkpoints/last.ckpt is written after each validation and "
        "every callbacks.checkpoint.every_n_minutes), so there is nothing to resume: start a new run (in a new folder)"
    )


def continue_hint(run: Any) -> str:
    """What to run once a failure (a full disk) is mended: the resume line, where the run has a checkpoint."""
    return (
        f"; then continue it: textgru train {command_arg('resume', run.path)}" if run.last_checkpoint.exists() else ""
    )


def worker_ended_by_sigterm(error: BaseException, sigterm_noted: bool) -> bool:
    """Whether `error` is PyTorch's "DataLoader worker (pid N) is killed by signal: Terminated": a scheduler's
    preemption or time limit sends SIGTERM to every process of the job, workers included, so the run was stopped,
    not broken. Where the loader misses the worker's end first it says "DataLoader worker (pid(s) N) exited
    unexpectedly" (the test failed 1 run in 4 so): a stop too where this process noted SIGTERM (`sigterm_noted`)."""
    if not isinstance(error, RuntimeError) or "DataLoader worker" not in str(error):
        return False
    return "Terminated" in str(error) or (sigterm_noted and "exited unexpectedly" in str(error))


def stop_in_disguise(error: BaseException, sigterm_noted: bool) -> bool:
    """Whether `error` is Ctrl+C or SIGTERM under another name: a DataLoader worker's end (`worker_ended_by_sigterm`),
    or torch.save's "unexpected pos ..." when Ctrl+C came while it wrote (its writer turns the KeyboardInterrupt into
    a RuntimeError; a review: a stopped sweep was told of a full disk and went on with its next job)."""
    interrupted_write = isinstance(error, RuntimeError) and isinstance(error.__context__, KeyboardInterrupt)
    return interrupted_write or worker_ended_by_sigterm(error, sigterm_noted)


PEER_LOST = ("Connection reset by peer", "Connection closed by peer", "Broken pipe", "remote process exited")


def peer_process_lost(error: BaseException, world_size: int) -> str | None:
    """Where `error` is the collective backend's answer (gloo, NCCL) to another process of a data-parallel run
    ending mid-step (an out-of-memory kill, a crash; this process was not broken, its peer was): the line of it that
    says so (a review: its last 120 characters were gloo's advice, "... before reporting an error. GLHF!"); else
    None."""
    if world_size < 2 or not isinstance(error, RuntimeError):
        return None
    said = next((" ".join(line.split()) for line in str(error).splitlines() if any(s in line for s in PEER_LOST)), None)
    return said if said is None or len(said) <= 160 else said[:157] + "..."
