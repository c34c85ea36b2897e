"""SIGTERM inside Lightning's fit, validate and test (`sigterm_left_to_lightning`); under data-parallel training,
every rank stops at the same step. Lightning (2.6) broadcasts from inside its
SIGTERM handler each time a signal comes, so a rank that got two (a job's whole process group is signalled, and
Lightning's launcher passes the signal on to the ranks it started) waited forever; and each rank stops at the end of
the step in which it noted the signal, so a rank that noted it one step later waited in a collective for one that had
gone (gloo: "Connection closed by peer"). Here the handler only notes the signal; after each training step the ranks
agree (one all-reduce) and, if any noted it, all stop at the end of that step."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from lightning.pytorch.callbacks import Callback

from textgru.console import _interrupt


def stop_ranks_together(trainer: Any) -> None:
    """Lightning's SIGTERM handler replaced by `NoteSigterm` (read when fit, validate or test installs its handlers)
    and, under data-parallel training, `StopTogether` among the trainer's callbacks (once)."""
    connector = getattr(trainer, "_signal_connector", None)
    if connector is None or not hasattr(connector, "_sigterm_notifier_fn"):  # another Lightning: its own handler
        return
    if isinstance(connector._sigterm_notifier_fn, NoteSigterm):  # fit's, kept for validate and test
        return
    note = NoteSigterm(trainer)
    connector._sigterm_notifier_fn = note
    if trainer.world_size > 1 and not any(isinstance(c, StopTogether) for c in trainer.callbacks):
        trainer.callbacks.append(StopTogether(note))


def sigterm_noted(trainer: Any) -> bool:
    """Whether this process got SIGTERM while Lightning's fit, validate or test ran (`NoteSigterm` noted it)."""
    connector = getattr(trainer, "_signal_connector", None)
    note = getattr(connector, "_sigterm_notifier_fn", None)
    return bool(getattr(connector, "received_sigterm", False) or getattr(note, "noted", False))


class NoteSigterm:
    """The signal noted (and the first passed on to the ranks Lightning launched); an object, not a closure:
    `ddp_spawn` pickles the trainer. In one process it is Lightning's stop at once; with several, `StopTogether`'s."""

    def __init__(self, trainer: Any) -> None:
        self.trainer, self.noted = trainer, False

    def __call__(self, signum: int, frame: Any) -> None:
        quiet_worker_ends()
        launcher = self.trainer.strategy.launcher
        if not self.noted and launcher is not None:
            launcher.kill(signum)
        self.noted = True
        if self.trainer.world_size == 1:
            self.trainer._signal_connector.received_sigterm = True


class StopTogether(Callback):
    """After each training step, whether any rank noted SIGTERM (every rank asks, at the same step): then all stop at
    the end of that step, as Lightning stops on SIGTERM. Evaluation goes on to its end (the next step stops)."""

    def __init__(self, note: NoteSigterm) -> None:
        self.note = note

    def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
        noted = torch.tensor([float(self.note.noted)], device=pl_module.device)
        if trainer.strategy.reduce(noted, reduce_op="sum").item() > 0:
            trainer._signal_connector.received_sigterm = True


def spawner_stop(trainer: Any) -> Any:
    """The SIGTERM handler for the process that spawned the ranks (`ddp_spawn`: a sweep's data-parallel job), or None
    where this process trains itself. It waits for a result the ranks never send when SIGTERM stops them (it waited
    forever, after them: a review), so it passes the signal on to them (they stop at the end of a step, together)
    and stops as Ctrl+C stops it."""
    from lightning.pytorch.strategies.launchers.multiprocessing import _MultiProcessingLauncher

    launcher = getattr(trainer.strategy, "launcher", None)
    if not isinstance(launcher, _MultiProcessingLauncher) or launcher.is_interactive_compatible:  # fork: notebooks
        return None

    def stop(signum: int, frame: Any) -> None:
        launcher.kill(signum)
        raise KeyboardInterrupt

    return stop


_TERM_RECEIVED: list[bool] = [False]
_SIGCHLD_SET_ASIDE: list[Any] = []


def quiet_worker_ends() -> None:
    """Once SIGTERM came, DataLoader workers end too (a job's whole process group is signalled): PyTorch's SIGCHLD
    handler raised "DataLoader worker ... killed by signal" wherever this process then was, in a logging lock or an
    atexit hook too ("Exception ignored ... Traceback" after the stop line: the test failed 1 run in 3). It is set
    aside until the next fit; the loader still notices a lost worker when it next waits for a batch."""
    if not _SIGCHLD_SET_ASIDE:
        # a handler, not SIG_DFL: a SIGCHLD already pending was then "OSError: Signal 17 ignored due to race condition"
        _SIGCHLD_SET_ASIDE.append(signal.signal(signal.SIGCHLD, _child_ended))


def _child_ended(signum: int, frame: Any) -> None:
    """SIGCHLD after SIGTERM: nothing to do (a worker's end is the stop's)."""


def _restore_sigchld() -> None:
    """PyTorch's SIGCHLD handler back, for a later run in this process (PyTorch installs it once per process)."""
    if _SIGCHLD_SET_ASIDE and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGCHLD, _SIGCHLD_SET_ASIDE.pop())


def _note_term(signum: int, frame: Any) -> None:
    quiet_worker_ends()
    _TERM_RECEIVED[0] = True


@contextmanager
def sigterm_left_to_lightning(trainer: Any) -> Iterator[None]:
    """Inside Lightning's fit, validate and test, SIGTERM is Lightning's: fit stops at the end of a step (and stops
    the other ranks). Lightning also calls the handler it finds installed, so `sigterm_as_ctrl_c`'s gives way
    meanwhile to one that only notes the signal: one that came while Lightning's handler was not yet (or no longer)
    installed, or that Lightning let finish (validate, test), becomes Ctrl+C once the block is done. A handler of
    anyone else's is left as it is. Lightning's own handler is made one that runs no collective
    (`stop_ranks_together`)."""
    _restore_sigchld()
    spawner = None
    if trainer is not None:
        stop_ranks_together(trainer)
        spawner = spawner_stop(trainer)
    main = threading.current_thread() is threading.main_thread()  # only it may set handlers (a train() in a thread
    if not main or signal.getsignal(signal.SIGTERM) is not _interrupt:  # after a command in this process: ValueError)
        yield
        return
    _TERM_RECEIVED[0] = False
    signal.signal(signal.SIGTERM, spawner or _note_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, _interrupt)
    if _TERM_RECEIVED[0]:
        raise KeyboardInterrupt
