"""Self-contained checkpoints: what they hold besides weights, loading with `weights_only=True`, and models rebuilt
from them safely. A checkpoint is data, never code: its model is one of textgru's own classes, chosen by a plain name
from an allowlist, with arguments of plain types (or flat lists of them) checked against the class's signature. No
`_target_`, import path or pickle from a file is ever used. (No Lightning import here: predict/generate start fast.)"""

from __future__ import annotations

import inspect
import os
import types
import typing
from typing import Any

import torch

from textgru import __version__
from textgru.checkpoint_file import read_checkpoint_file
from textgru.checkpoint_path import resolve_checkpoint_path, warn_if_unfinished
from textgru.checkpoint_state import file_state
from textgru.checkpoint_weights import LONGEST_TEXT, USE_OURS, build_fitting
from textgru.data.label_key import warn_of_labels_read_as_one
from textgru.errors import TextgruError
from textgru.forecast_fields import check_forecast_checkpoint
from textgru.terminal_text import escaped_controls

FORMAT_VERSION = 2  # 2: `model_class` + `model_args`; 1 (read too): a Hydra `model_config`, never instantiated
READABLE_FORMATS = (1, 2)
LEGACY_TARGETS = {  # what format-1 checkpoints named in `model_config._target_`, matched as strings (none imported)
    "textgru.models.classifier.GRUClassifier": "GRUClassifier",
    "textgru.models.language_model.GRULanguageModel": "GRULanguageModel",
    "textgru.models.forecaster.GRUForecaster": "GRUForecaster",
}
PLAIN_TYPES = (bool, int, float, str, type(None))


def checkpoint_extras(
    task: str,
    model: torch.nn.Module,
    model_args: dict[str, Any],
    tokenizer_json: str | None,
    label_names: list[str] | None,
    data_config: dict[str, Any],
    max_length: int,
) -> dict[str, Any]:
    """What eval/predict/generate need besides the weights; plain types only, so `weights_only` loads it."""
    from textgru.data.file_digest import files_digest
    from textgru.data.splitting import SPLIT_RULE

    args = {k: v for k, v in model_args.items() if k != "_target_"}
    check_model_args(type(model), args, where="the model config")
    return {
        "format_version": FORMAT_VERSION,
        "textgru_version": __version__,
        "task": task,
        "model_class": type(model).__name__,
        "model_args": args,
        "tokenizer": tokenizer_json,
        "label_names": label_names,
        "data_config": data_config,
        "data_digest": files_digest(data_config),  # eval warns where a split carved from changed files may overlap
        "max_length": max_length,
        "split_rule": SPLIT_RULE,  # how texts under several labels were split (eval carves its own data again)
    }


def load_checkpoint(
    path: str | os.PathLike[str], expect_task: str | None = None, verb: str | None = "read"
) -> dict[str, Any]:
    """Load with `weights_only=True`; every failure becomes one line naming the problem. A warning where it is of a
    run not finished (`verb`: what is done with it; None: none, as for a resume)."""
    from textgru.tasks import check_task_model, task_title, task_use

    p = resolve_checkpoint_path(path)
    changing = warn_if_unfinished(p, verb) if verb is not None else False
    ckpt = read_checkpoint_file(p)
    meta = ckpt.get("textgru") if isinstance(ckpt, dict) else None
    if not isinstance(meta, dict) or "task" not in meta:
        raise TextgruError(f"{str(p)!r} is not a textgru checkpoint (no 'textgru' metadata)")
    if meta.get("format_version") not in READABLE_FORMATS:
        made = [escaped_controls(str(meta.get(key))[:20]) for key in ("format_version", "textgru_version")]
        made[0] = repr(made[0]) if isinstance(meta.get("format_version"), str) else made[0]  # "2", not 2 (a review)
        raise TextgruError(  # the values as data: cut, controls escaped (a review: a version's newline, a fake line)
            f"{str(p)!r} has checkpoint format {made[0]} (textgru {made[1]}); "
            f"this textgru {__version__} reads formats {', '.join(map(str, READABLE_FORMATS))}"
        )
    if bad := unwritten(ckpt):  # an edited file, another tool's: one line, not a traceback
        raise TextgruError(f"checkpoint {str(p)!r}: its {', '.join(bad)} is not what textgru writes; {USE_OURS}")
    warn_of_labels_read_as_one(meta.get("label_names") or [])
    if expect_task and meta["task"] != expect_task:
        raise TextgruError(
            f"{str(p)!r} is a {task_title(meta['task'])} checkpoint, but this needs a {task_title(expect_task)} one"
            + task_use(meta["task"])
        )
    check_task_model(meta["task"], model_spec(meta, str(p))[0], str(p))  # not a traceback in use (a review)
    check_forecast_checkpoint(meta, str(p))  # the rule an export's config.json is held to
    ckpt["path"] = str(p.absolute())  # a review: made absolute later, against another working folder
    ckpt["file_state"] = file_state(ckpt, p, changing)  # the file's state a report scored (a review: a run training)
    return ckpt


def unwritten(ckpt: dict[str, Any]) -> list[str]:
    """The entries of a checkpoint (its `textgru` metadata, its state_dict) that are not what textgru writes, which
    `load_checkpoint` refuses (training checks a task's metadata with this before it starts: `tasks.built`)."""
    meta = ckpt["textgru"]
    text_task = meta.get("task") != "forecast"
    names = meta.get("label_names")
    names_ok = isinstance(names, list) and bool(names) and all(isinstance(n, str) for n in names)
    names_ok = names_ok and len(set(names)) == len(names)  # one class's probability would hide another's
    ok = {
        "task": isinstance(meta["task"], str),
        "state_dict": isinstance(ckpt.get("state_dict"), dict) and all(isinstance(k, str) for k in ckpt["state_dict"]),
        "tokenizer": isinstance(meta.get("tokenizer"), str) or (not text_task and meta.get("tokenizer") is None),
        "label_names": names_ok or (names is None and meta["task"] != "sentiment"),
        "max_length": not text_task or type(meta.get("max_length")) is int and 1 <= meta["max_length"] <= LONGEST_TEXT,
        "data_config": isinstance(meta.get("data_config"), (dict, type(None))),  # a list: AttributeErrors (a review)
    }
    return [k for k, good in ok.items() if not good]


def model_state_dict(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The plain model's weights out of a Lightning state dict: the weight average (`ema.module.`) where the
    run kept one, else the trained weights (`model.`)."""
    state = ckpt["state_dict"]
    prefix = "ema.module." if any(k.startswith("ema.module.") for k in state) else "model."
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def model_spec(meta: dict[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    """(model class name, constructor arguments) a checkpoint's metadata names, from either format."""
    if "model_class" in meta:
        name, args = meta["model_class"], meta.get("model_args")
    else:  # format 1: a Hydra config whose `_target_` is matched against the known strings, never imported
        config = meta.get("model_config")
        if not isinstance(config, dict):
            raise TextgruError(f"checkpoint {path!r}: refused: its model config is not a mapping")
        target = config.get("_target_")
        if target not in LEGACY_TARGETS:
            raise TextgruError(
                f"checkpoint {path!r}: refused model _target_ {str(target)[:100]!r}: textgru rebuilds only its own "
                f"models ({', '.join(LEGACY_TARGETS.values())}) and never imports a path named in a checkpoint"
            )
        name, args = LEGACY_TARGETS[target], {k: v for k, v in config.items() if k != "_target_"}
    if not isinstance(name, str) or not isinstance(args, dict):
        raise TextgruError(f"checkpoint {path!r}: refused: model_class must be a name and model_args a mapping")
    return name, args


def check_model_args(cls: type, args: dict[str, Any], where: str) -> None:
    """Refuse constructor arguments `cls` does not take, that are not plain values (bool, int, float, str, None),
    or whose type does not match the constructor's annotation; and missing required ones."""
    hints = typing.get_type_hints(cls.__init__)
    params = {n: p for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}
    for key, value in args.items():
        if key not in params:
            raise TextgruError(f"{where}: refused argument {key!r}: {cls.__name__} takes {', '.join(params)}")
        hint = hints.get(key, Any)
        if isinstance(value, list) and _list_item_types(hint) is not None:  # e.g. BiGRULanguageModel's cutoffs
            items = _list_item_types(hint)
            if not all(isinstance(v, PLAIN_TYPES) and (not items or _matches(v, items)) for v in value):
                raise TextgruError(f"{where}: refused argument {key}={str(value)[:80]!r}: a list of plain values")
            continue
        if not isinstance(value, PLAIN_TYPES):
            raise TextgruError(
                f"{where}: refused argument {key}={str(value)[:80]!r}: only plain values "
                "(bool, int, float, str, null) are accepted"
            )
        allowed = _plain_types_of(hint)
        if allowed is not None and not _matches(value, allowed):
            names = " | ".join(sorted("None" if t is type(None) else t.__name__ for t in allowed))
            raise TextgruError(f"{where}: refused argument {key}={value!r}: {cls.__name__} wants {names}")
    missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n not in args]
    if missing:
        raise TextgruError(f"{where}: {cls.__name__} needs {', '.join(missing)}")


def _plain_types_of(annotation: Any) -> set[type] | None:
    """The plain types an annotation admits (`int | None` -> {int, NoneType}); None when it admits anything."""
    if annotation is Any:
        return None
    return {m for m in _union_members(annotation) if isinstance(m, type)}


def _list_item_types(annotation: Any) -> set[type] | None:
    """The item types of a `list[X]` (or `list[X] | None`) annotation; None when it admits no list."""
    for m in _union_members(annotation):
        if typing.get_origin(m) is list:
            return {t for t in typing.get_args(m) if isinstance(t, type)}
    return None


def _union_members(annotation: Any) -> tuple[Any, ...]:
    union = isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
    return typing.get_args(annotation) if union else (annotation,)


def _matches(value: Any, allowed: set[type]) -> bool:  # an int fits a float; a bool is no int here
    if isinstance(value, bool):
        return bool in allowed
    return type(value) in allowed or (isinstance(value, int) and float in allowed)


def rebuild_model(ckpt: dict[str, Any], device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model a loaded checkpoint (`load_checkpoint`) holds, in eval mode on `device`, and its `textgru`
    metadata (tokenizer JSON, label names, configs) with the file's path."""
    from textgru.models import MODEL_CLASSES, model_class

    meta = dict(ckpt["textgru"], path=ckpt["path"], file_state=ckpt.get("file_state"))
    name, args = model_spec(meta, meta["path"])
    if name not in MODEL_CLASSES:
        raise TextgruError(
            f"checkpoint {meta['path']!r}: refused model class {name[:100]!r}: textgru rebuilds only its own models "
            f"({', '.join(MODEL_CLASSES)})"
        )
    cls = model_class(name)
    check_model_args(cls, args, where=f"checkpoint {meta['path']!r}")
    model = build_fitting(cls, args, model_state_dict(ckpt), where=f"checkpoint {meta['path']!r}")
    model.to(device).eval()
    meta["model_class"], meta["model_args"] = name, args
    return model, meta
