"""An exported folder (`textgru export format=onnx`) read back for onnxruntime: `textgru.load(folder)` and
`Classifier.load(folder)` (or `LanguageModel`, `Forecaster`) build their object from what `open_export` returns. The folder's files are checked to belong together
(config.json's task and checksum, the model's textgru marks) before anything runs; every failure is one line."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError
from textgru.onnx_format import FORMAT, ExportFolder, read_config, sha256
from textgru.onnx_marks import CONFIG_MARK, config_digest
from textgru.onnx_ops import check_ops


def _folder(path: str | os.PathLike[str]) -> tuple[ExportFolder, Path]:
    """(folder, model file) named by an exported folder or its `.onnx` file."""
    p = Path(str(path)).expanduser()
    if p.suffix.lower() == ".onnx" and not p.is_dir():  # an export folder named x.onnx is a folder (a review)
        if not p.is_file():
            raise TextgruError(f"{str(p)!r} does not exist; pass an exported folder")
        return ExportFolder(p.parent), p
    folder = ExportFolder(p)
    if not folder.model.is_file():
        if folder.config.is_file() and not _textgru_config(folder.config):  # a review: a Hugging Face model folder
            raise TextgruError(
                f"{str(p)!r} is neither a textgru export nor a run folder (its config.json is another tool's); give a "
                "run folder, a .ckpt file or a folder textgru export wrote"
            )
        raise TextgruError(f"folder {str(p)!r} has no model.onnx; export again with textgru export format=onnx")
    return folder, folder.model


def _textgru_config(path: Path) -> bool:
    """Whether `path` reads as a textgru export's config.json (its format named)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT


def open_export(
    path: str | os.PathLike[str], expect_task: str | None = None, device: str = "cpu", threads: int | None = None
) -> tuple[Any, dict[str, Any]]:
    """(runner, meta) of an exported model, `meta` shaped as a checkpoint's (task, tokenizer JSON, label names, max
    length, normalisation ...) so that `Classifier` / `LanguageModel` / `Forecaster.from_parts(runner, meta)` build
    the same object; every file is checked first. threads: None follows PyTorch's."""
    from textgru.inference.onnx_runtime import RUNNERS, open_session, textgru_marks
    from textgru.tasks import task_title, task_use

    if not re.fullmatch(r"(?i)cpu(:0)?", str(device)):
        raise TextgruError(f"device={device}: an exported model runs on CPU with onnxruntime; use device=cpu")
    folder, model_file = _folder(path)
    if not folder.config.is_file():
        textgru_marks(model_file, open_session(model_file, 1))  # someone else's .onnx gets that line first
    config = read_config(folder)
    task = config["task"]
    if expect_task and task != expect_task:
        raise TextgruError(
            f"{str(folder.path)!r} is an exported {task_title(task)} model, but this needs a "
            f"{task_title(expect_task)} one{task_use(task, exported=True)}"
        )
    graph = model_file.read_bytes()  # checked and run as read once: a file replaced meanwhile cannot slip in
    if config.get("model_sha256") != sha256(graph):
        raise TextgruError(
            f"{str(model_file)!r} does not match its config.json (checksum differs): truncated or replaced; "
            "export again"
        )
    check_ops(graph, task, str(model_file))  # before onnxruntime sees it: a sealed Loop of 2**62 trips hung loading
    session = open_session(model_file, threads, graph)
    marks = textgru_marks(model_file, session)
    if marks.get("textgru.task") != task:
        raise TextgruError(f"{str(model_file)!r} is not the {task} graph config.json names; export again")
    digest = config_digest(config)
    if marks.get(CONFIG_MARK, digest) != digest:  # older exports have no digest
        raise TextgruError(
            f"{str(folder.config)!r} was changed after the export (model.onnx holds the digest of the config.json "
            "written with it): export again"
        )
    meta: dict[str, Any] = {
        "task": task,
        "path": str(folder.path.absolute()),
        "backend": "onnxruntime",
        "export_config": config,
        "data_config": config.get("data_config"),
        "split_rule": config.get("split_rule"),
        "file_state": _scored(model_file, config),
    }
    vocab = None  # tokenizer.json's tokens (text tasks)
    if task == "forecast":
        meta.update(normalisation={k: config[k] for k in ("columns", "mean", "std")})
        meta.update(window=config["window"], horizon=config["horizon"])
    else:
        tokenizer, vocab = _tokenizer_json(folder, config)
        meta.update(tokenizer=tokenizer, max_length=config["max_length"], label_names=config.get("labels"))
    if config.get("labels") is not None:
        width = session.get_outputs()[0].shape[-1]  # (batch, classes)
        if isinstance(width, int) and width != len(config["labels"]):
            raise TextgruError(
                f"{str(folder.config)!r} names {len(config['labels'])} labels but the graph gives {width} classes: "
                "config.json was edited or mixed up; export again"
            )
    runner = RUNNERS[task](session, config, graph, threads)
    _runs_as_configured(runner, session, config, vocab, str(folder.path))
    return runner, meta


def _scored(model_file: Path, config: dict[str, Any]) -> dict[str, Any]:
    """What an eval report records of the export scored (as `checkpoint_state.file_state` of a checkpoint): the
    graph's SHA-256, checked against config.json's as it was read, and its source checkpoint's step (a review: an export
    replaced with overwrite=true could not be told from the one a report scored)."""
    step = config.get("source_checkpoint_step")  # older exports have none
    return {"path": str(model_file), "sha256": config["model_sha256"], "step": step if type(step) is int else None}


def _runs_as_configured(runner: Any, session: Any, config: dict[str, Any], vocab: int | None, where: str) -> None:
    """One tiny input through the graph before it serves: its outputs must have the shapes that config.json (and
    tokenizer.json, of `vocab` tokens) imply. A graph swapped in with a new checksum, or an edited config.json,
    would otherwise fail every request with onnxruntime's error, or answer with rows of the wrong width (three
    labels each at 1.0)."""
    import torch

    task = config["task"]
    labels = config.get("labels") or []
    if len(set(labels)) != len(labels):  # one class's probability would hide another's
        raise TextgruError(f"{where!r}: config.json names a label twice ({labels}); export again")
    for declared in (config.get("vocab_size"), (config.get("model") or {}).get("vocab_size")):
        if vocab is not None and declared is not None and declared != vocab:  # the model was sized by its tokenizer
            raise TextgruError(
                f"{where!r}: tokenizer.json has {vocab} tokens but config.json says vocab_size {declared}: the files do "
                "not belong together; export again"
            )
    if task == "lm":  # the state's sizes first: a runner allocates (layers, batch, hidden) zeros from config.json
        graph = next((i.shape for i in session.get_inputs() if i.name == "hidden"), None)
        if graph is None or [graph[0], graph[2]] != [config["num_layers"], config["hidden_size"]]:
            raise TextgruError(
                f"{where!r}: config.json's num_layers={config['num_layers']}, hidden_size={config['hidden_size']} "
                f"are not its graph's state {graph}: config.json was edited or mixed up; export again"
            )
    try:
        if task == "sentiment":
            got = {"logits": runner(torch.tensor([[config["unk_id"]]]), torch.tensor([1]))}
            want = {"logits": (1, len(config["labels"]))}
        elif task == "lm":
            logits, hidden = runner(torch.tensor([[0]]))
            got = {"logits": logits, "hidden_out": hidden}
            want = {"logits": (1, 1, vocab), "hidden_out": (config["num_layers"], 1, config["hidden_size"])}
        else:
            features = len(config["columns"])
            # two steps, whatever window config.json says (the time axis is dynamic): a review's window of 10**8
            got = {"forecast": runner(torch.zeros(1, min(config["window"], 2), features))}  # ran out of memory
            want = {"forecast": (1, config["horizon"], features)}
    except TextgruError:
        raise
    except Exception as e:  # onnxruntime's own errors: the graph does not take what config.json says it takes
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise TextgruError(f"{where!r}: its graph does not run as config.json says ({first}); export again") from None
    for name, shape in want.items():
        if tuple(got[name].shape) != shape:
            raise TextgruError(
                f"{where!r}: its graph gives {name} of shape {list(got[name].shape)} where config.json and "
                f"tokenizer.json make {list(shape)}: the files do not belong together; export again"
            )


def _tokenizer_json(folder: ExportFolder, config: dict[str, Any]) -> tuple[str, int]:
    """tokenizer.json's text, checked to be a readable tokenizer whose special tokens have the ids config.json gives
    (what another runtime pads with), and its number of tokens."""
    from textgru.data.tokenization import PAD, UNK, tokenizer_from_json

    if not folder.tokenizer.is_file():
        raise TextgruError(f"{str(folder.path)!r} has no tokenizer.json; export again with textgru export format=onnx")
    raw = folder.tokenizer.read_bytes()
    if config.get("tokenizer_sha256") not in (None, sha256(raw)):  # older exports have none
        raise TextgruError(
            f"{str(folder.tokenizer)!r} does not match its config.json (checksum differs): replaced or edited; "
            "export again"
        )
    text = raw.decode("utf-8", errors="replace")
    try:
        tokenizer = tokenizer_from_json(text)
    except ValueError as e:
        raise TextgruError(f"{str(folder.tokenizer)!r} {e}; export again") from None
    vocab = tokenizer.get_vocab_size()
    model = config.get("model") or {}
    for key, token, model_key in (("pad_id", PAD, "padding_idx"), ("unk_id", UNK, "unk_idx")):
        ids = {"tokenizer.json's": tokenizer.token_to_id(token), "the model's": model.get(model_key, config[key])}
        for whose, id_ in ids.items():
            if config[key] != id_:
                raise TextgruError(
                    f"{str(folder.path)!r}: config.json's {key}={config[key]} is not {whose} {token} id "
                    f"{'(it has no ' + token + ')' if id_ is None else id_}: the files do not belong together; export again"
                )
        if not 0 <= config[key] < vocab:
            raise TextgruError(
                f"{str(folder.path)!r}: {key}={config[key]} is not one of the model's {vocab} token ids; export again"
            )
    unknown = getattr(tokenizer.model, "unk_token", None)  # what it puts for an unknown word (BPE: may be None)
    if unknown is not None and tokenizer.token_to_id(unknown) is None:
        raise TextgruError(
            f"{str(folder.tokenizer)!r}: its unknown-word token {str(unknown)[:40]!r} is not in its vocabulary (an "
            "unknown word would fail every request); export again"
        )
    return text, vocab
