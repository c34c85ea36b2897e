"""The distributed launch policy in one place: which process is rank zero, whether an external launcher
(torchrun, SLURM, Lightning's own) started this process for one rank, device checks before any work, and one
config per trial inside sweeps."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError

log = logging.getLogger(__name__)


def _srun_task(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether `srun` started this process as one of several tasks of a job step. The shell of an allocation
    (`salloc -n 2`, an sbatch script) has SLURM_NTASKS too, but no step: commands started there are single
    processes (two runs started at once there each need a folder of their own)."""
    step = env.get("SLURM_STEP_ID", env.get("SLURM_STEPID", ""))
    return int(env.get("SLURM_NTASKS", "1") or 1) > 1 and step.isdigit() and int(step) < 0xFFFFFFF0  # not batch/extern


# Read once, when textgru is imported at process start: Lightning's own launcher later sets LOCAL_RANK in the
# launching process too, which must not make it look like a rank that an external launcher started.
_STARTED_FOR_ONE_RANK = "LOCAL_RANK" in os.environ or "TORCHELASTIC_RUN_ID" in os.environ or _srun_task()


def launched_externally() -> bool:
    """True in a process that torchrun, srun (several tasks) or Lightning's ddp launcher started for one rank."""
    return _STARTED_FOR_ONE_RANK


def process_rank() -> int:
    """This process's global rank as its launcher set it in the environment (0 when not data-parallel)."""
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))


def is_global_rank_zero() -> bool:
    """Whether this process is global rank zero (or not data-parallel at all), from every launcher's variables:
    torchrun (RANK), Lightning's own launcher (LOCAL_RANK, and NODE_RANK on the other nodes, where no RANK is
    set), SLURM (SLURM_PROCID). The one process that talks to an experiment-tracking store."""
    return all(int(os.environ.get(key) or 0) == 0 for key in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"))


def quiet_other_ranks() -> None:
    """In ranks other than zero: warnings and errors only, on the console, and no log file (rank zero reports). The
    rank's own empty log (Lightning's launcher names it `train_ddp_process_1.log`) is removed; any other file is left:
    under torchrun it is rank zero's `train.log`, which rank zero may not have written to yet."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler):
            root.removeHandler(handler)
            handler.close()
            path = handler.baseFilename
            own = re.search(r"_process_\d+\.log$", path) is not None
            if own and os.path.isfile(path) and os.path.getsize(path) == 0:
                os.unlink(path)
        else:
            handler.setLevel(logging.WARNING)


def log_in_a_spawned_rank(train_log: Path, rank_zero: bool) -> None:
    """In a rank `ddp_spawn` started (a fresh interpreter: no logging configured, where a sweep's data-parallel trials
    run), the run's logging as the launching process has it: rank zero to the console and `train_log`, the other
    ranks' warnings to the console (a review: a spawned run's train.log had no epoch line). Nothing where this
    process logs somewhere already."""
    from textgru.console import log_to

    if any(lg.handlers for lg in (logging.getLogger(), logging.getLogger("textgru"))):
        return
    log_to(console=True, file=train_log if rank_zero else None)
    if not rank_zero:
        quiet_other_ranks()


def counters_from_spawned_ranks(trainer: Any, progress: dict[str, Any]) -> None:
    """With `ddp_spawn` the ranks trained and the launching process's loop counters stayed at 0, so the stages it then
    spawns to score the best checkpoint logged their rows at epoch 0, step 0 (a review: a point at step 0, at the final
    value, in a sweep trial's step-based learning curve): they take the ranks' counts here (Lightning's own loop
    state, guarded: a Lightning without it leaves the rows where they were)."""
    steps, epochs = progress.get("run/global_step"), progress.get("run/epochs")
    if trainer.global_step or steps is None or epochs is None:
        return
    loop = trainer.fit_loop
    if hasattr(loop.epoch_loop, "_batches_that_stepped") and hasattr(loop.epoch_progress, "current"):
        loop.epoch_loop._batches_that_stepped = int(steps)  # the step a logged row carries
        loop.epoch_progress.current.completed = int(epochs)  # trainer.current_epoch


DEVICE_PATTERN = r"(?i)cpu(:0)?|cuda(:\d+)?|mps"  # what inference takes: torch's names, in any case; cpu:0 is the CPU


def check_device(device: str) -> str:
    """The device's name as torch takes it (`cpu:0` and `CPU` read as `cpu`), or one line for one that is not a
    device or that this machine lacks (`device=cuda...` without a CUDA GPU; inference commands and `textgru.load`)."""
    import torch

    if not re.fullmatch(DEVICE_PATTERN, str(device)):
        raise TextgruError(f"device={device!r}: use cpu, cuda, cuda:N (the N-th GPU) or mps")
    device = str(device).lower().removesuffix("cpu:0") or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TextgruError(f"device={device} but no CUDA GPU is available here; use device=cpu")
    if device.startswith("cuda:") and int(device[5:]) >= (count := torch.cuda.device_count()):
        which = "cuda:0" if count == 1 else f"cuda:0 to cuda:{count - 1}"
        raise TextgruError(f"device={device} but this machine has {count} GPU{'s' if count > 1 else ''}: use {which}")
    if device == "mps" and not torch.backends.mps.is_available():
        raise TextgruError("device=mps but Apple's Metal (MPS) is not available here; use device=cpu")
    return device


def check_trainer_devices(cfg: Any) -> None:
    """One line, before any work, for an accelerator the machine lacks, more devices than it has, or a global batch
    smaller than the number of processes."""
    import torch

    trainer_cfg = cfg.trainer
    accelerator = str(trainer_cfg.accelerator)
    devices, nodes = trainer_cfg.devices, trainer_cfg.get("num_nodes") or 1
    if nodes > 1 and not launched_externally() and not {"MASTER_ADDR", "NODE_RANK"} & set(os.environ):
        raise TextgruError(  # a review: Lightning waited for the other nodes for ever, deaf to SIGTERM and Ctrl+C
            f"trainer.num_nodes={nodes}, but nothing started this command on other nodes, whose processes Lightning "
            "would wait for; start it on each node with torchrun or srun (README, 'Several nodes'), or on one "
            "machine use trainer.num_nodes=1"
        )
    if accelerator in ("gpu", "cuda"):
        have, unit = torch.cuda.device_count(), "GPU(s)"
        if have == 0:
            raise TextgruError(
                f"trainer.accelerator={accelerator} (trainer=gpu or trainer=ddp) needs a GPU and torch finds none; "
                "on CPU use trainer=cpu, or trainer=ddp_cpu for data-parallel processes"
            )
    elif accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available() and not _has_mps()):
        have, unit = os.cpu_count() or 1, "CPU cores (one process each)"
        _check_cpu_settings(devices, str(trainer_cfg.get("precision")), accelerator)
    else:
        return
    wanted = len(devices) if _is_list(devices) else devices
    if isinstance(wanted, int) and wanted > have:
        raise TextgruError(
            f"trainer.devices={devices} but this machine has {have} {unit}; use trainer.devices={have} or fewer"
        )
    processes = wanted * nodes if isinstance(wanted, int) and several_processes(trainer_cfg) else 1
    for key in ("batch_size", "eval_batch_size"):  # a review: found in every rank, after the run folder was made
        if isinstance(size := cfg.data.get(key), int) and size < processes:
            raise TextgruError(
                f"data.{key}={size} is the global batch and must be at least the number of processes ({processes})"
            )


def _check_cpu_settings(devices: Any, precision: str, accelerator: str) -> None:
    """What Lightning refuses on CPU only after the data is read, or changes, or cannot train there (a review)."""
    on = "on CPU" + (" (trainer.accelerator=auto finds no GPU)" if accelerator == "auto" else "")
    if _is_list(devices) or str(devices) == "-1":  # Lightning's "should be an int > 0", after the data was read
        raise TextgruError(f"trainer.devices={devices}: {on} it is a count of processes (1 or more), not -1 or indices")
    if precision in ("16", "16-mixed"):  # Lightning trains bf16-mixed instead, while config.yaml says 16-mixed
        raise TextgruError(
            f"trainer.precision={precision} is half-precision AMP for GPUs; {on} use trainer.precision=bf16-mixed"
        )
    if precision == "16-true":  # float16 weights and GRU on CPU: NaN from the first step, and a run "finished"
        raise TextgruError(
            f"trainer.precision=16-true does not train {on} (NaN from the first step); use 32 or bf16-mixed"
        )


def _has_mps() -> bool:
    import torch

    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def _is_list(value: Any) -> bool:
    from omegaconf import ListConfig

    return isinstance(value, (list, tuple, ListConfig))


def several_processes(trainer_cfg: Any) -> bool:
    """Whether Lightning's `auto` strategy would start several processes for this trainer config (all devices: GPUs
    only)."""
    return (world_size(trainer_cfg) or trainer_cfg.get("num_nodes") or 1) > 1


def world_size(trainer_cfg: Any) -> int | None:
    """How many processes the trainer config starts (devices x nodes: a count, a list or "0,1" of GPU ids, -1 or
    "auto" all GPUs where it uses them, "auto" one process on CPU as Lightning counts it), None where it cannot tell
    (-1 on CPU, which Lightning refuses)."""
    import torch

    devices, gpus = trainer_cfg.get("devices", 1), str(trainer_cfg.get("accelerator")) in ("gpu", "cuda", "auto")
    if _is_list(devices) or (isinstance(devices, str) and "," in devices):  # a review: int("0,1") was a traceback
        count = len(devices) if _is_list(devices) else len([d for d in devices.split(",") if d.strip()])
    elif str(devices) in ("-1", "auto"):
        on_gpus = gpus and torch.cuda.is_available()
        count = torch.cuda.device_count() if on_gpus else 1 if str(devices) == "auto" else None
    else:
        count = int(devices) if str(devices).isdigit() else None
    return None if count is None else count * (trainer_cfg.get("num_nodes") or 1)


def unused_parameters_allowed(cfg: Any) -> None:
    """Gradual unfreezing (`task.finetune.gradual_unfreezing` with `model.pretrained_lm`) leaves the lower layers
    without gradients for its first stages, which DDP refuses at the second step unless told to look for them (a
    review: a traceback per rank, a run folder left without checkpoints). A data-parallel run of it therefore takes
    its strategy's `find_unused_parameters_true` variant."""
    from omegaconf import open_dict

    strategy, finetune = cfg.trainer.get("strategy"), cfg.task.get("finetune") or {}
    if not (finetune.get("gradual_unfreezing") and cfg.model.get("pretrained_lm")) or not isinstance(strategy, str):
        return
    strategy = strategy.lower()  # as Lightning reads it
    if strategy in ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook") or (
        strategy == "auto" and several_processes(cfg.trainer)
    ):
        allowed = ("ddp" if strategy == "auto" else strategy) + "_find_unused_parameters_true"
        log.info("gradual unfreezing: trainer.strategy=%s (the frozen layers have no gradients)", allowed)
        with open_dict(cfg):
            cfg.trainer.strategy = allowed


def one_config_per_trial(cfg: Any, in_sweep: bool) -> None:
    """Lightning's `ddp` launcher re-executes the command line in every rank; inside a sweep that re-runs the
    whole sweep per rank. Data-parallel trials of a sweep therefore spawn their ranks from the trial
    (`ddp_spawn`), whatever `ddp` variant or `auto` strategy would have been used; in an interactive session (a
    Jupyter kernel), where Lightning refuses to spawn, they fork them (`ddp_notebook`) (a review: `trainer=ddp_cpu`
    was refused in a notebook)."""
    from omegaconf import open_dict

    from textgru.forked_ranks import rank_starter

    strategy = cfg.trainer.strategy.lower() if isinstance(cfg.trainer.strategy, str) else cfg.trainer.strategy
    if (
        not in_sweep
        or launched_externally()
        or not isinstance(strategy, str)
        or any(k in strategy for k in ("spawn", "fork", "notebook"))  # these start their ranks from this process
    ):
        return
    if strategy.startswith("ddp") or (strategy == "auto" and several_processes(cfg.trainer)):
        start = rank_starter()
        spawn = start + strategy[3:] if strategy.startswith("ddp") else start
        log.info("trainer.strategy=%s: every rank starts from this process and trains its config", spawn)
        with open_dict(cfg):
            cfg.trainer.strategy = spawn
