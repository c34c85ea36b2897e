"""What a task's `build(cfg)` returned, checked before training starts: the pieces a task can leave out by
mistake that would otherwise fail mid-run or only when its checkpoint is loaded afterwards."""

from __future__ import annotations

from typing import Any

from textgru.errors import TextgruError, a_kind
from textgru.models import MODEL_CLASSES
from textgru.tasks.base import TaskModule


def check_built(name: str, module: Any) -> None:
    """What task `name`'s `build` returned, before training: a `TaskModule` that counts its tokens (else the
    throughput figure fails mid-run), around a model textgru can load again (a `MODEL_CLASSES` name), storing the
    checkpoint metadata that loads it (`check_extras`)."""
    if not isinstance(module, TaskModule):
        raise TextgruError(f"task={name}: build(cfg) returned {a_kind(module)}, not a TaskModule")
    if type(module).count_tokens is TaskModule.count_tokens:
        raise TextgruError(
            f"task={name}: {type(module).__name__} does not define count_tokens(batch) (the real tokens of a batch, "
            "for the throughput figure); define it"
        )
    model = type(module.model).__name__
    if model not in MODEL_CLASSES:
        raise TextgruError(
            f"task={name}: its model class {model} is not in textgru.models.MODEL_CLASSES, so its checkpoints would "
            "not load; add it there"
        )
    check_extras(name, module)


def check_extras(name: str, module: TaskModule) -> None:
    """The `checkpoint_extras` `module` stores in every checkpoint, read as `textgru.load` reads a checkpoint's: made
    by `textgru.checkpoint.checkpoint_extras` for this task, its entries of the kinds load takes, and model arguments
    that build the model trained (a review: a build that stored none, another task's, or a model's arguments of
    another config trained to its end, its checkpoints refused only when loaded)."""
    from textgru.checkpoint import FORMAT_VERSION, check_model_args, unwritten
    from textgru.checkpoint_weights import built_on

    extras, model = module.checkpoint_extras, module.model
    fix = f'store textgru.checkpoint.checkpoint_extras("{name}", model, ...) in its module'
    if not isinstance(extras, dict) or extras.get("format_version") != FORMAT_VERSION:
        raise TextgruError(
            f"task={name}: its module stores no checkpoint_extras, so its checkpoints would not load; {fix}"
        )
    if extras.get("task") != name:
        raise TextgruError(
            f"task={name}: its checkpoint_extras name task={str(extras.get('task'))[:40]}, so its checkpoints would be "
            f"read as that task's; {fix}"
        )
    if bad := unwritten({"textgru": extras, "state_dict": {}}):  # (every task but forecast stores a tokenizer)
        raise TextgruError(
            f"task={name}: its checkpoint_extras' {', '.join(bad)} is not what textgru.load reads, so its checkpoints "
            f"would not load; {fix}"
        )
    cls, args = type(model), extras.get("model_args")
    if extras.get("model_class") != cls.__name__ or not isinstance(args, dict):
        raise TextgruError(
            f"task={name}: its checkpoint_extras name model class {str(extras.get('model_class'))[:40]}, not its "
            f"model's {cls.__name__}; {fix}"
        )
    where, again = f"task={name}: its checkpoint_extras' model_args", "pass the arguments its model was built with"
    check_model_args(cls, args, where)
    want = {k: tuple(v.shape) for k, v in built_on(cls, args, where, "meta", fix=again).state_dict().items()}
    have = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if want != have:  # load builds the model from model_args, then loads the weights into it
        key = next(k for k in [*have, *want] if want.get(k) != have.get(k))
        raise TextgruError(
            f"{where} build another model than the one it trains (its {key} {list(want.get(key, []))}, where the "
            f"model trained has {list(have.get(key, []))}), so its checkpoints would not load; {again}"
        )
