"""A split carved again from the data a model trained on is carved with the model's own split settings (seed,
fractions, ignored labels and label names): a data config given for evaluation (`textgru eval data=local data.path=<the training file>`) carries the
defaults, and another seed or fraction carved another "test" split, of rows the model trained on (a review: 47 of
its 60 texts; a forecaster's 15% test span, of which two thirds were training and validation rows)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from textgru.data.ignored_labels import DEFAULT
from textgru.data.splitting import CARVING
from textgru.errors import TextgruError

log = logging.getLogger(__name__)

SOURCE = (  # what names the data beside its path: the same source and columns, or the same generated series
    *("source", "hub_name", "hub_config", "package_file", "text_column", "label_column"),
    *("length", "period", "noise", "amplitude_drift", "period_drift", "features", "series_seed"),
)

# what decides which rows each split gets beside CARVING, taken from the model where left as the data config's default
# (a review: the command line's default ignore_labels=[unsup], for a model trained with [], or label_names left out,
# carved another "test" split of a model's own file, 34 of its 40 texts trained on); a value given is kept (the review
# of that change: data.ignore_labels=[neutral], the fix an error line gives, was replaced by the model's; a later one:
# [unsup] given, equal to the default, was replaced too: `given` names what the caller wrote)
LABELLING = {"ignore_labels": list(DEFAULT), "label_names": None}  # conf/data/local.yaml's defaults


def own_data_config(
    meta: Mapping[str, Any], needed: bool, fix: str = "pass data= a file or a data config name"
) -> dict[str, Any]:
    """The model's data config (a checkpoint's or an export's); `{}` where it has none and it is not `needed`, else
    one line, as for an edited one (a review: a checkpoint's None, which loading lets through, was eval's TypeError)."""
    trained_on = meta.get("data_config")
    if trained_on is None and needed:
        raise TextgruError(f"the model's data config (an edited checkpoint?) cannot be read (it has none); {fix}")
    return dict(trained_on or {})


def as_trained(
    cfg: Mapping[str, Any],
    trained_on: Mapping[str, Any],
    trained_digest: str | None = None,
    given: Collection[str] = (),
) -> dict[str, Any]:
    """`cfg` with the model's split settings where it names the model's own data (the same source, and the same
    files by path or by content); as given otherwise. `given`: the keys the caller wrote (a LABELLING key among
    them is kept even where it equals the data config's default)."""
    cfg = dict(cfg)
    if not same_data(cfg, trained_on, trained_digest):
        return cfg
    changed = {k: trained_on[k] for k in CARVING if k in trained_on and k in cfg and cfg[k] != trained_on[k]}
    labelling = {k: trained_on[k] for k in LABELLING if k in trained_on and cfg.get(k) != trained_on[k]}
    changed |= {k: v for k, v in labelling.items() if cfg.get(k) == LABELLING[k] and k not in given}
    if given := {k: cfg.get(k) for k in labelling if k not in changed}:
        log.warning(
            "%s differ from the model's (%s): the splits carved from its data are not those training carved, and may "
            "hold texts it trained on; split=all scores every row",
            ", ".join(f"data.{k}={v}" for k, v in given.items()),
            ", ".join(f"{trained_on[k]}" for k in given),
        )
    if changed:
        log.info(
            "this is the data the model trained on: its splits are carved with the model's settings (%s), as "
            "training carved them",
            ", ".join(f"data.{k}={v}" for k, v in changed.items()),
        )
    return {**cfg, **changed}


def warn_if_changed(
    cfg: Mapping[str, Any], trained_on: Mapping[str, Any], trained_digest: str | None, split: str, what: str
) -> None:
    """A warning where `cfg` names the model's own files (`trained_on`'s, by path) and their content changed since
    training (`trained_digest`): a `split` carved from them again may hold `what` the model trained on (a review: a
    re-sorted file's "test split" held 20 of its 26 texts from training; a forecaster's CSV cut from 200 rows to 150)."""
    from textgru.data.file_digest import changed_files, files_digest

    same = all(cfg.get(k) == trained_on.get(k) for k in ("source", "package_file"))
    if trained_digest and same and same_path(cfg.get("path"), trained_on.get("path")):
        if "path" in changed_files(trained_digest, files_digest(cfg)):
            log.warning(
                "%s changed since the model was trained: the %s split carved from it now may hold %s the model "
                "trained on, so its scores may be optimistic; split=all scores every row",
                cfg.get("path") or cfg.get("package_file"),
                split,
                what,
            )


def warn_if_split_file_changed(
    cfg: Mapping[str, Any], trained_on: Mapping[str, Any], trained_digest: str | None, split: str
) -> None:
    """A warning where the `split` scored is read from the model's own `data.validation_path` or `data.test_path` (by
    path) and that file changed since training (a review: an edited validation file was scored unwarned)."""
    from textgru.data.file_digest import changed_files, files_digest

    keys = [k for k, s in (("validation_path", "validation"), ("test_path", "test")) if split in (s, "all")]
    keys = [k for k in keys if cfg.get(k) and same_path(cfg.get(k), trained_on.get(k))]
    if trained_digest and keys and cfg.get("source") == trained_on.get("source") == "local":
        for key in (k for k in changed_files(trained_digest, files_digest(cfg)) if k in keys):
            log.warning(
                "data.%s %s changed since the model was trained: the scores of its %s split are of the file as it is "
                "now, not as training read it",
                key,
                cfg[key],
                key.removesuffix("_path"),
            )


def same_path(a: Any, b: Any) -> bool:
    """Whether two paths (or lists of them) name the same files, however they are written."""
    return _resolved(a) == _resolved(b)


def same_data(cfg: Mapping[str, Any], trained_on: Mapping[str, Any], trained_digest: str | None = None) -> bool:
    """Whether `cfg` names the data a model trained on (`trained_on`: its data config; `trained_digest`: its files')."""
    from textgru.data.file_digest import digest_parts, files_digest

    if any(cfg.get(k) != trained_on.get(k) for k in SOURCE):
        return False
    if not all(same_path(cfg.get(k), trained_on.get(k)) for k in ("validation_path", "test_path")):
        return False  # a review: a model trained with its own validation file was "the same data" without it
    if same_path(cfg.get("path"), trained_on.get("path")):
        return True
    if trained_digest is not None:  # a copy, or a path written otherwise (its validation and test files: by path)
        return digest_parts(files_digest(cfg)).get("path") == digest_parts(trained_digest).get("path", "")
    return _same_file_bytes(cfg.get("path"), trained_on.get("path"))  # a checkpoint saved before its digest was kept


def _same_file_bytes(a: Any, b: Any) -> bool:
    from textgru.data.file_digest import bytes_digest

    if not (isinstance(a, str) and isinstance(b, str) and Path(a).is_file() and Path(b).is_file()):
        return False
    return Path(a).stat().st_size == Path(b).stat().st_size and bytes_digest([a]) == bytes_digest([b])


def _resolved(path: Any) -> Any:
    """A path (or a list of them) in its absolute form, a relative one from here: two spellings of one file match."""
    if isinstance(path, (list, tuple)):
        return [_resolved(p) for p in path]
    if isinstance(path, str) and path:
        try:
            return str(Path(path).expanduser().resolve())
        except (OSError, RuntimeError):
            return path
    return path
