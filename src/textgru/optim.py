"""Learning-rate schedules used as `_partial_` scheduler configs (the optimizer and step count come later)."""

from __future__ import annotations

import math

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine(
    optimizer: Optimizer, num_training_steps: int, warmup_ratio: float = 0.05, min_lr_ratio: float = 0.0
) -> LambdaLR:
    """Linear warm-up over `warmup_ratio` of the steps, then cosine decay to `min_lr_ratio` of the peak."""
    warmup = max(1, int(num_training_steps * warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, num_training_steps - warmup))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


def one_cycle(
    optimizer: Optimizer, num_training_steps: int, pct_start: float = 0.3, max_lr: float | None = None
) -> torch.optim.lr_scheduler.OneCycleLR:
    """PyTorch's one-cycle policy peaking at `max_lr` (default: the optimizer's lr). Each parameter group peaks at
    its own lr (times `max_lr` / the optimizer's lr), so discriminative learning rates keep their ratios (a review:
    every group peaked at the first one's, the embedding's, cancelling `task.finetune.lr_decay`)."""
    scale = max_lr / optimizer.defaults["lr"] if max_lr is not None else 1.0
    peaks = [g["lr"] * scale for g in optimizer.param_groups]
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=peaks, total_steps=max(1, num_training_steps), pct_start=pct_start
    )


def slanted_triangular(
    optimizer: Optimizer, num_training_steps: int, cut_frac: float = 0.1, ratio: float = 32.0
) -> LambdaLR:
    """ULMFiT's slanted triangular schedule (Howard & Ruder 2018, eq. 3): a short linear rise over `cut_frac` of
    the steps from 1/`ratio` of the peak to the peak, then a long linear decay back to 1/`ratio` of it. Applied to
    every parameter group's own lr, so discriminative learning rates keep their ratios."""
    cut = max(1, int(num_training_steps * cut_frac))

    def factor(step: int) -> float:
        if step < cut:
            p = step / cut
        else:
            p = max(0.0, 1 - (step - cut) / max(1, num_training_steps - cut))  # the paper's cut * (1 / cut_frac - 1)
            # where cut_frac of the steps is whole; otherwise that ended the decay early (T=15: at step 10, a review)
        return (1 + p * (ratio - 1)) / ratio

    return LambdaLR(optimizer, factor)
