"""Classifiers trained apart, joined into one checkpoint (`textgru ensemble`, `textgru.ensemble`): one
`GRUClassifier` whose members are theirs (`model.members` = the sum of theirs), so that its output is the log of the
mean of their probabilities and `eval`, `predict`, `serve` and `export` take it as any classifier. Runs of one recipe
with other seeds (each its own random start and its own order of batches) are more diverse than the members of one
`model.members=K` run, which see the same batches. Each source's weights move exactly (its weight average where the
run kept one); the sources must read the same token ids, labels, data and (with `model.transfer=features`) the same
frozen language model, and differ in nothing of their model config but `members`. The new checkpoint names the runs
it holds (`joined_from`, for the record) but needs none of their files."""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from textgru.atomic_files import written_atomically
from textgru.checkpoint import (
    check_model_args,
    checkpoint_extras,
    load_checkpoint,
    model_spec,
    model_state_dict,
)
from textgru.checkpoint_path import resolve_checkpoint_path
from textgru.checkpoint_weights import build_fitting, check_tensors
from textgru.data.data_paths import glob_paths, is_pattern
from textgru.data.file_digest import OTHER_FILES, edited_between
from textgru.ensemble_output import checked_output
from textgru.errors import TextgruError, a_kind
from textgru.models.gru_classifier import GRUClassifier
from textgru.unstarted_runs import outermost_missing

UNCOMPARED_DATA_KEYS = ("batch_size", "eval_batch_size", "num_workers", "cache_dir")  # how it was read, not what
UNCOMPARED_DATA_KEYS += ("train_size", "train_fraction", "subset_seed")  # a few-label sample: the same held-out splits
# (a review: the same sample, written otherwise, was refused, and other samples of other seeds joined)


def _sources(checkpoints: Any) -> list[Path]:
    """The checkpoint files `checkpoints` names (run folders resolved to their best.ckpt); one line for too few, a
    value that is not a path, and a file given twice (it would weigh twice in the mean: a review)."""
    if (
        checkpoints is None
        or isinstance(checkpoints, (str, bytes, os.PathLike))
        or not isinstance(checkpoints, Iterable)
    ):
        checkpoints = [] if checkpoints is None else [checkpoints]
    given = list(checkpoints)
    if len(given) < 2:
        raise TextgruError("give at least two classifier checkpoints to join (run folders or .ckpt files)")
    if bad := [p for p in given if not isinstance(p, (str, os.PathLike))]:  # a None too (a review: "none given")
        raise TextgruError(f"checkpoints holds {a_kind(bad[0])}; give run folders or .ckpt files (paths)")
    files = [resolve_checkpoint_path(p).resolve() for p in given]
    inodes = [(f.stat().st_dev, f.stat().st_ino) for f in files]  # a hard link is the same file too (a review)
    if len(set(inodes)) < len(inodes):
        again = next(f for i, f in enumerate(files) if inodes[i] in inodes[:i])
        raise TextgruError(f"{again} is given twice; give each checkpoint once (twice, it would count twice)")
    return files


def _constituents(ckpt: dict[str, Any]) -> list[str]:
    """The checkpoints a checkpoint was joined from (`joined_from`), or its own path."""
    joined = ckpt["textgru"].get("joined_from")
    ok = isinstance(joined, list) and joined and all(isinstance(p, str) for p in joined)
    return list(joined) if ok else [str(Path(ckpt["path"]).absolute())]


def _first_difference(a: dict[str, Any], b: dict[str, Any], skip: Sequence[str] = ()) -> str | None:
    key = next((k for k in sorted(set(a) | set(b)) if k not in skip and a.get(k) != b.get(k)), None)
    return (
        None if key is None else f"{key}: {b.get(key)!r} there, {a.get(key)!r} in the first"
    )  # a review read "A against B" the wrong way


def _check_same(first: dict[str, Any], other: dict[str, Any], where: str) -> None:
    """One line for the first thing in which checkpoint `other` cannot join `first`."""
    a, b = first["textgru"], other["textgru"]
    joined = "the checkpoints joined must read the same inputs in the same way"
    if a["label_names"] != b["label_names"]:
        raise TextgruError(f"{where} has the labels {b['label_names']}, the first {a['label_names']}; {joined}")
    if a["tokenizer"] != b["tokenizer"]:
        raise TextgruError(f"{where} has another tokenizer than the first (other token ids); {joined}")
    if a["max_length"] != b["max_length"]:
        raise TextgruError(f"{where} reads {b['max_length']} tokens a text, the first {a['max_length']}; {joined}")
    if diff := _first_difference(_with_defaults(_args(first)), _with_defaults(_args(other)), skip=("members",)):
        raise TextgruError(f"{where}'s model config differs from the first's ({diff}); join runs of one model config")
    if diff := _data_difference(a, b):
        raise TextgruError(
            f"{where} was trained on other data than the first ({diff}); join runs of the same data and split"
        )
    if key := edited_between(a.get("data_digest"), b.get("data_digest")):  # a review: joined unrefused
        raise TextgruError(f"{where} was trained on the file {key}={(b.get('data_config') or {}).get(key)} as it was "
                           "then: its data digest differs from the first's (edited between the runs); retrain on the "
                           "file as it is now, then join")  # fmt: skip


def _data_difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first difference of two checkpoints' data configs, where a data file's path reached another way (a
    symbolic link, `..`) is none: the same file, or the same contents as the checkpoints' digests say (a review:
    runs of tiny.csv and of a link to it could not join)."""
    first, other = dict(a.get("data_config") or {}), dict(b.get("data_config") or {})
    same_contents = bool(a.get("data_digest")) and a.get("data_digest") == b.get("data_digest")
    for key in ("path", *OTHER_FILES):
        x, y = first.get(key), other.get(key)
        if same_contents or (isinstance(x, str) and isinstance(y, str) and os.path.realpath(x) == os.path.realpath(y)):
            other[key] = x
    return _first_difference(first, other, UNCOMPARED_DATA_KEYS)


def _args(ckpt: dict[str, Any]) -> dict[str, Any]:
    """A classifier checkpoint's model arguments (of either format); one line for another model class."""
    name, args = model_spec(ckpt["textgru"], ckpt["path"])
    if name != "GRUClassifier":
        raise TextgruError(f"checkpoint {ckpt['path']!r} holds a {name[:40]}, not a GRUClassifier; it cannot join")
    check_model_args(GRUClassifier, args, where=f"checkpoint {ckpt['path']!r}")
    return args


def _with_defaults(args: dict[str, Any]) -> dict[str, Any]:
    """`args` with the arguments it leaves out at their defaults (an older checkpoint lacks the newer ones)."""
    signature = inspect.signature(GRUClassifier).parameters.items()
    return {**{k: p.default for k, p in signature if p.default is not p.empty}, **args}


def _member_name(name: str, offset: int) -> str:
    """A source's parameter `name` in the joined model, its members numbered from `offset` (member 0 holds the
    model's own `embedding`, `rnn`, `pool`, `head`; member m > 0 is `others.{m - 1}`)."""
    member, rest = 0, name
    if name.startswith("others."):
        _, index, rest = (name.split(".", 2) + ["", ""])[:3]
        if not index.isdigit():  # a file's own names: not a traceback
            raise TextgruError(
                f"a checkpoint's weights hold {name[:80]!r}, which no classifier has; use the file textgru saved"
            )
        member = int(index) + 1
    member += offset
    return rest if member == 0 else f"others.{member - 1}.{rest}"


def joined_checkpoint(checkpoints: Sequence[str | os.PathLike[str]]) -> dict[str, Any]:
    """The checkpoint (a dict `torch.save` writes) of one classifier whose members are those of `checkpoints`."""
    loaded = [load_checkpoint(p, expect_task="sentiment", verb="joined") for p in _sources(checkpoints)]
    held = [p for c in loaded for p in _constituents(c)]  # a joined checkpoint joined again holds its sources
    if again := next((p for i, p in enumerate(held) if p in held[:i]), None):
        raise TextgruError(f"{again} is in two of the checkpoints given (one joined from it); give each run once")
    first = loaded[0]
    state: dict[str, torch.Tensor] = {}
    members, owners = 0, []
    for i, ckpt in enumerate(loaded):
        where = f"checkpoint {i + 1} ({ckpt['path']})"
        k = int(_args(ckpt).get("members", 1))
        owners += [ckpt["path"] if k == 1 else f"member {m + 1} of {ckpt['path']}" for m in range(k)]
        _check_same(first, ckpt, where)
        check_tensors(model_state_dict(ckpt), where)  # a NaN named by its file, not by its member in the join
        for name, value in model_state_dict(ckpt).items():
            if name.startswith("lm."):  # the frozen biLM (model.transfer=features): one copy, the same in each
                if name in state and not torch.equal(state[name], value):
                    raise TextgruError(
                        f"{where} reads another frozen language model than the first ({name} differs); join runs of "
                        "the same model.pretrained_lm"
                    )
                state[name] = value
            else:
                state[_member_name(name, members)] = value
        members += int(_args(ckpt).get("members", 1))
    _refuse_repeated_members(state, owners)
    meta, args = first["textgru"], {**_args(first), "members": members}
    model = build_fitting(GRUClassifier, args, state, where="the joined checkpoint")
    data = meta.get("data_config") or {}
    extras = checkpoint_extras(
        "sentiment", model, args, meta["tokenizer"], meta["label_names"], data, meta["max_length"]
    )
    extras["joined_from"] = held
    rules = {c["textgru"].get("split_rule") for c in loaded}  # all sources' one (a review: the first's, so eval's
    extras["split_rule"] = rules.pop() if len(rules) == 1 else None  # warning came and went with the runs' order)
    return {"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "textgru": extras}


def _refuse_repeated_members(state: dict[str, torch.Tensor], owners: list[str]) -> None:
    """One line where two members hold the same weights (a review: a copied run folder, or a run's best.ckpt beside
    its last.ckpt of the same step, counted one model twice); `owners[m]` names where member m came from."""
    seen: dict[str, int] = {}
    for m, owner in enumerate(owners):
        prefix = f"others.{m - 1}." if m else ""
        names = sorted(n for n in state if n.startswith(prefix) and not (m == 0 and n.startswith(("others.", "lm."))))
        digest = hashlib.sha256()
        for name in names:
            digest.update(name[len(prefix) :].encode())
            digest.update(state[name].detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        if (earlier := seen.setdefault(digest.hexdigest(), m)) != m:
            raise TextgruError(
                f"{owners[earlier]} and {owner} hold the same weights (one model, copied?); give each model once "
                "(twice, it would count twice in the mean)"
            )


def ensemble(
    checkpoints: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str], overwrite: bool = False
) -> Path:
    """Join the classifiers `checkpoints` (run folders or .ckpt files) into one checkpoint file `output`; an existing
    file is replaced only with `overwrite`. Returns its path."""
    return _write(checkpoints, output, overwrite)[0]


def _write(checkpoints: Sequence[str | os.PathLike[str]], output: Any, overwrite: Any) -> tuple[Path, int]:
    """(the file written, its members); the folders made for it are removed again if it is not written."""
    sources = _sources(checkpoints)  # once: a generator is read once
    out = checked_output(output, overwrite, sources)
    joined = joined_checkpoint(sources)
    made = outermost_missing(out.parent)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fix = "run again with another output=, or overwrite=true to replace it"  # (a review: it was replaced)
        with written_atomically(out, new_only=None if overwrite else fix) as tmp:
            torch.save(joined, tmp)
    except BaseException:  # Ctrl+C, SIGTERM, a full disk: no empty folders left (a review)
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        raise
    return out, joined["textgru"]["model_args"]["members"]


def _expanded(path: str) -> list[str]:
    """A glob's matches, sorted; a path that exists as written (`run[4]`) is taken as written (a review)."""
    if is_pattern(path):
        return glob_paths(os.path.expanduser(path))
    return [path]


def ensemble_command(cfg: Any) -> str:
    """`textgru ensemble ckpt_paths=[<run>,<run>,...] output=<file>.ckpt`: says what it joined and how to use it."""
    from textgru.config_checks import check_config
    from textgru.console import command_arg

    check_config(cfg, "ensemble")
    given = [cfg.ckpt_paths] if isinstance(cfg.ckpt_paths, str) else list(cfg.ckpt_paths)
    paths = [m for p in given for m in _expanded(p)]
    out, members = _write(paths, cfg.output, cfg.overwrite)
    print(
        f"joined {len(paths)} classifiers ({members} members) into {out}\nscore it: textgru eval "
        f"{command_arg('ckpt_path', out)}; serve it: textgru serve {command_arg('classifier', out)}"
    )
    return str(out)
