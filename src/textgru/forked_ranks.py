"""Data-parallel ranks forked from an interactive session (a Jupyter kernel): which strategy starts them, and their
output, which the kernel's streams cannot send from a fork."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from typing import Any

from lightning.pytorch.callbacks import Callback

from textgru.errors import TextgruError


def rank_starter() -> str:
    """`ddp_notebook` (fork) in a Python prompt or Jupyter kernel (`sys.ps1`, as Lightning tells one), where Lightning
    refuses `ddp_spawn`, on a platform that forks; else `ddp_spawn`."""
    if not (hasattr(sys, "ps1") or sys.flags.interactive) or "fork" not in multiprocessing.get_all_start_methods():
        return "ddp_spawn"
    import torch

    if torch.cuda.is_initialized():  # Lightning's own check says it only after the data loaded, in several lines
        raise TextgruError(
            "this session has already used CUDA (a model on the GPU), after which a data-parallel run cannot fork "
            "its processes; restart the kernel and train first, or run `textgru train` as a command"
        )
    return "ddp_notebook"


class ForkedRank(Callback):
    """In a rank forked from this process (`ddp_notebook`): ranks but zero write no log file (they inherit the run's
    train.log, and its lines came twice), and under a Jupyter kernel every rank writes to the kernel's output file
    descriptors, not its Python streams: those send messages, which the kernel drops from a fork (a review: no
    progress bar, and 72 "attempted to send message from fork" in the kernel's log). The kernel forwards what reaches
    its descriptors to the notebook, so rank zero's bar shows there, as text (a tqdm widget is messages too)."""

    def __init__(self) -> None:
        self.pid = os.getpid()

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if os.getpid() == self.pid:
            return
        if not trainer.is_global_zero:
            for logger in _loggers():
                for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
                    logger.removeHandler(handler)
        if type(sys.stdout).__module__.startswith("ipykernel"):
            _to_descriptors()


def _loggers() -> list[logging.Logger]:
    return [
        logging.getLogger(),
        *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)),
    ]


def _to_descriptors() -> None:
    from lightning.pytorch.callbacks.progress import tqdm_progress
    from tqdm.std import tqdm

    for name, fd in (("stdout", 1), ("stderr", 2)):
        old = getattr(sys, name)
        new = open(fd, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
        setattr(sys, name, new)
        for logger in _loggers():
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is old:
                    handler.setStream(new)  # the caller's own (logging.basicConfig()), as propagation reaches

    class TextBar(tqdm):  # Lightning's Tqdm, on the text tqdm
        format_num = staticmethod(tqdm_progress.Tqdm.format_num)

    tqdm_progress.Tqdm = TextBar  # in this rank only: it is a process of its own
