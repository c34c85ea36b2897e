"""Data-parallel ranks forked from an interactive session (a Jupyter kernel): which strategy starts them, and their
output, which the kernel's streams cannot send from a fork."""

from __future__ import annotations

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


class KernelStreamsInForks(Callback):
    """A rank forked from a Jupyter kernel writes to the kernel's output file descriptors, not its Python streams:
    those send messages the kernel drops from a fork (a review: no progress bar, and 72 "attempted to send message
    from fork" warnings in the kernel's log). The kernel forwards what reaches its descriptors to the notebook, so
    rank zero's bar shows there, as text (a tqdm widget is kernel messages too)."""

    def __init__(self) -> None:
        self.pid = os.getpid()

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if os.getpid() == self.pid or not type(sys.stdout).__module__.startswith("ipykernel"):
            return
        import logging

        from lightning.pytorch.callbacks.progress import tqdm_progress
        from tqdm.std import tqdm

        for name, fd in (("stdout", 1), ("stderr", 2)):
            old = getattr(sys, name)
            new = open(fd, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
            setattr(sys, name, new)
            for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
                for handler in getattr(logger, "handlers", []):
                    if isinstance(handler, logging.StreamHandler) and handler.stream is old:
                        handler.setStream(new)  # the caller's own (logging.basicConfig()), as propagation reaches

        class TextBar(tqdm):  # Lightning's Tqdm, on the text tqdm
            format_num = staticmethod(tqdm_progress.Tqdm.format_num)

        tqdm_progress.Tqdm = TextBar  # in this rank only: it is a process of its own
