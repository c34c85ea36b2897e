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
    top GRU layer for as many, then everything trains. `planned_epochs`: `trainer.max_epochs` as asked; where
    `trainer.min_steps` runs more, shorter epochs, a stage lasts as many of them as make `unfreeze_epochs` planned
    ones (a review: 150 epochs of 2 steps instead of 3 left the head alone for 2 steps of 300)."""

    lr_decay: float
    gradual_unfreezing: bool
    unfreeze_epochs: int
    planned_epochs: int | None = None

    def __post_init__(self) -> None:
        if self.lr_decay < 1:
            raise TextgruError(f"task.finetune.lr_decay={self.lr_decay} must be at least 1 (1: the same lr everywhere)")
        if self.unfreeze_epochs < 1:
            raise TextgruError(f"task.finetune.unfreeze_epochs={self.unfreeze_epochs} must be at least 1")


def warn_unused(options: dict[str, Any]) -> None:
    """A warning naming the `task.finetune` options a run without `model.pretrained_lm` ignores (they apply to a
    model started from a language model only), where they would change training."""
    asked = [f"lr_decay={options['lr_decay']}"] if options.get("lr_decay", 1) != 1 else []
    asked += ["gradual_unfreezing=true"] if options.get("gradual_unfreezing") else []
    if asked:
        log.warning(
            "task.finetune (%s) applies only with model.pretrained_lm (fine-tuning a task=bilm run); ignored here",
            ", ".join(asked),
        )


def layer_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """The classifier's parameters bottom to top: the embedding, each GRU layer (both directions), then the rest
    (pooling and head), each member's together (`model.members`). Every parameter is in exactly one group, but a
    frozen biLM's (`model.transfer=features`), which is in none: it never trains."""
    members = getattr(model, "members", [model])
    groups: list[list[nn.Parameter]] = [[p for m in members for p in m.embedding.parameters()]]
    frozen = list(model.lm.parameters()) if getattr(model, "lm", None) is not None else []
    for layer in range(model.rnn.num_layers):
        group = []
        for rnn in (m.rnn for m in members):
            group += list(rnn.forward_layers[layer].parameters())
            if layer < len(rnn.backward_layers):
                group += list(rnn.backward_layers[layer].parameters())
        groups.append(group)
    seen = {id(p) for g in [*groups, frozen] for p in g}
    groups.append([p for p in model.parameters() if id(p) not in seen])
    return groups


def trainable_groups(stage_epoch: int, num_groups: int, recipe: FineTuning, stage_epochs: int | None = None) -> int:
    """How many groups, counted from the top, train in epoch `stage_epoch`: the head, then the top GRU layer too,
    then all of them; each stage `stage_epochs` epochs (default: `unfreeze_epochs`)."""
    if not recipe.gradual_unfreezing:
        return num_groups
    stage = stage_epoch // (stage_epochs or recipe.unfreeze_epochs)
    return num_groups if stage >= 2 else min(num_groups, stage + 1)


def stage_epochs(recipe: FineTuning, max_epochs: int | None) -> int:
    """Epochs per unfreezing stage: `unfreeze_epochs` planned epochs, in the epochs the run has (more, shorter
    ones where `trainer.min_steps` stretched it)."""
    planned, now = recipe.planned_epochs or 0, max_epochs or 0
    return recipe.unfreeze_epochs * (max(1, now // planned) if planned > 0 and now > 0 else 1)


def discriminative_groups(model: nn.Module, recipe: FineTuning) -> list[dict[str, Any]]:
    """Optimizer parameter groups bottom to top, each with an `lr_scale`: 1 for the top group (pooling and head),
    divided by `lr_decay` per group below."""
    groups = layer_groups(model)
    return [{"params": g, "lr_scale": recipe.lr_decay ** -(len(groups) - 1 - i)} for i, g in enumerate(groups)]


def unfreeze_for_epoch(
    model: nn.Module, epoch: int, recipe: FineTuning, trainer: Any = None, warn: bool = True
) -> None:
    """Gradual unfreezing: the top groups that train in `epoch` get gradients, the ones below stay as they are. At
    the first epoch (with `warn`), a warning when `trainer.max_epochs` or `max_steps` ends the run before every
    group trains."""
    per_stage = stage_epochs(recipe, getattr(trainer, "max_epochs", None))
    if epoch == 0 and warn and recipe.gradual_unfreezing and trainer is not None:
        _warn_if_the_run_ends_first(2 * per_stage, trainer, per_stage // recipe.unfreeze_epochs)
    groups = layer_groups(model)
    n = trainable_groups(epoch, len(groups), recipe, per_stage)
    for i, group in enumerate(groups):
        for p in group:
            p.requires_grad_(i >= len(groups) - n)


def _warn_if_the_run_ends_first(everything_from: int, trainer: Any, shorter: int) -> None:
    """The warning that the embedding (and lower GRU layers) will not train: the run ends before epoch
    `everything_from`, by `max_epochs` or by `max_steps`, whichever ends it first (a review: max_steps=8 in the
    head-only stage trained no pretrained weight, and said nothing). Where `trainer.min_steps` stretched the epochs
    (`shorter` short epochs a planned one), `max_epochs` is named in the planned epochs the user gave."""
    max_epochs, max_steps = trainer.max_epochs or -1, trainer.max_steps or -1
    per_step = max(1, int(getattr(trainer, "accumulate_grad_batches", 1) or 1))
    batches = trainer.num_training_batches
    steps_per_epoch = -(-int(batches) // per_step) if batches not in (None, float("inf")) else 0
    stretched = f" (short epoch {everything_from}: trainer.min_steps made the epochs {shorter}x shorter)"
    epochs_end = max_epochs * steps_per_epoch if max_epochs > 0 and steps_per_epoch else float("inf")
    by_steps = 0 < max_steps <= everything_from * steps_per_epoch and max_steps < epochs_end
    if by_steps:
        limit = f"trainer.max_steps={max_steps}"
        fix = f"raise trainer.max_steps above {everything_from * steps_per_epoch} ({steps_per_epoch} steps an epoch)"
    elif 0 < max_epochs <= everything_from:
        shown, needed = max_epochs // shorter, everything_from // shorter + 1  # in the planned epochs
        limit, fix = f"trainer.max_epochs={shown}", f"raise trainer.max_epochs to at least {needed}"
    else:
        return
    log.warning(
        "gradual unfreezing trains every layer from epoch %d on%s, but %s ends the run first: the embedding (and "
        "lower GRU layers) will not train; %s or lower task.finetune.unfreeze_epochs",
        *(everything_from // shorter, stretched if shorter > 1 else "", limit, fix),
    )
