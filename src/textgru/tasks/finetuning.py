"""ULMFiT's fine-tuning recipe for a classifier started from a pretrained language model (Howard & Ruder 2018):
layer groups, discriminative learning rates and gradual unfreezing. (The slanted triangular schedule is
`textgru.optim.slanted_triangular`, `scheduler=slanted_triangular`.)"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from torch import nn

from textgru.errors import TextgruError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FineTuning:
    """`lr_decay`: each layer group below the top one trains with the lr of the group above divided by this
    (1: one lr for all). `gradual_unfreezing`: the head trains alone for `unfreeze_epochs` epochs, then with the
    top GRU layer for as many, then everything trains."""

    lr_decay: float
    gradual_unfreezing: bool
    unfreeze_epochs: int

    def __post_init__(self) -> None:
        if self.lr_decay < 1:
            raise TextgruError(f"task.finetune.lr_decay={self.lr_decay} must be at least 1 (1: the same lr everywhere)")
        if self.unfreeze_epochs < 1:
            raise TextgruError(f"task.finetune.unfreeze_epochs={self.unfreeze_epochs} must be at least 1")


def layer_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """The classifier's parameters bottom to top: the embedding, each GRU layer (both directions), then the rest
    (pooling and head). Every parameter is in exactly one group."""
    groups: list[list[nn.Parameter]] = [list(model.embedding.parameters())]
    rnn = model.rnn
    for layer in range(rnn.num_layers):
        group = list(rnn.forward_layers[layer].parameters())
        if layer < len(rnn.backward_layers):
            group += list(rnn.backward_layers[layer].parameters())
        groups.append(group)
    seen = {id(p) for g in groups for p in g}
    groups.append([p for p in model.parameters() if id(p) not in seen])
    return groups


def trainable_groups(stage_epoch: int, num_groups: int, recipe: FineTuning) -> int:
    """How many groups, counted from the top, train in epoch `stage_epoch`: the head, then the top GRU layer too,
    then all of them."""
    if not recipe.gradual_unfreezing:
        return num_groups
    stage = stage_epoch // recipe.unfreeze_epochs
    return num_groups if stage >= 2 else min(num_groups, stage + 1)


def discriminative_groups(model: nn.Module, recipe: FineTuning) -> list[dict[str, Any]]:
    """Optimizer parameter groups bottom to top, each with an `lr_scale`: 1 for the top group (pooling and head),
    divided by `lr_decay` per group below."""
    groups = layer_groups(model)
    return [{"params": g, "lr_scale": recipe.lr_decay ** -(len(groups) - 1 - i)} for i, g in enumerate(groups)]


def unfreeze_for_epoch(model: nn.Module, epoch: int, recipe: FineTuning, max_epochs: int | None = None) -> None:
    """Gradual unfreezing: the top groups that train in `epoch` get gradients, the ones below stay as they are. A
    warning at the first epoch when `max_epochs` ends the run before every group trains."""
    everything_from = 2 * recipe.unfreeze_epochs  # the epoch of the last stage
    if epoch == 0 and recipe.gradual_unfreezing and max_epochs is not None and 0 < max_epochs <= everything_from:
        log.warning(
            "gradual unfreezing trains every layer from epoch %d on, but trainer.max_epochs=%d ends the run first: "
            "the embedding (and lower GRU layers) will not train; raise trainer.max_epochs to at least %d or lower "
            "task.finetune.unfreeze_epochs",
            *(everything_from, max_epochs, everything_from + 1),
        )
    groups = layer_groups(model)
    n = trainable_groups(epoch, len(groups), recipe)
    for i, group in enumerate(groups):
        for p in group:
            p.requires_grad_(i >= len(groups) - n)
