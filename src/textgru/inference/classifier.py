"""`Classifier`: a trained text classifier rebuilt from its checkpoint alone, to predict labels and evaluate."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import torch
from tokenizers import Tokenizer

from textgru.data.batching import LengthBucketBatchSampler, pad_collate
from textgru.data.decoding import check_unicode
from textgru.data.long_texts import encode_cut
from textgru.data.tokenization import UNK, pad_id
from textgru.errors import TextgruError, require_split
from textgru.inference.arguments import check_batch_size, positive_int, text_list
from textgru.inference.collector_pauses import without_collector_pauses
from textgru.inference.eval_mode import eval_mode
from textgru.inference.fused_bigru import FusedGRUClassifier
from textgru.inference.loaded_model import EvalOptions, LoadedModel, read_tokenizer
from textgru.inference.parallel_batches import run_batches
from textgru.inference.prediction import Prediction, likeliest
from textgru.models.gru_classifier import GRUClassifier

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16")


class Classifier(LoadedModel):
    """A document classifier (`task=sentiment` checkpoint): `Classifier.load(path).predict(["so good!"])`."""

    task = "sentiment"

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Tokenizer,
        label_names: Sequence[str],
        max_length: int,
        meta: Mapping[str, Any],
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.label_names = list(label_names)
        self.max_length = max_length
        self.meta = dict(meta)
        self.precision = "fp32"
        self._fused: FusedGRUClassifier | None = None  # the bf16 forward, built for `self.model` when first needed

    @classmethod
    def from_parts(cls, model: torch.nn.Module, meta: dict[str, Any]) -> Classifier:
        classes = (meta.get("model_args") or {}).get("num_classes")
        if classes is not None and classes != len(meta["label_names"]):
            raise TextgruError(
                f"checkpoint {meta.get('path')!r} names {len(meta['label_names'])} labels for a model of {classes} "
                "classes; use the file textgru saved"
            )
        return cls(model, read_tokenizer(model, meta), meta["label_names"], int(meta["max_length"]), meta)

    def describe(self) -> str:
        return f"labels={self.label_names}" + (f", precision={self.precision}" if self.precision != "fp32" else "")

    def with_precision(self, precision: str) -> Classifier:
        """This classifier computing in `precision`: "fp32" (as trained) or "bf16" (its GRU's matrix products in
        bfloat16, the state and gates in fp32: `textgru.inference.fused_bigru`). bf16 pays on CPUs with bfloat16
        matrix units (Intel AMX); elsewhere it can be slower. Shares the model; `self` is unchanged."""
        if precision not in PRECISIONS:
            raise TextgruError(f"precision={precision!r} is not one of {', '.join(PRECISIONS)}")
        other = copy.copy(self)
        other.precision, other._fused = precision, None
        other.forward  # noqa: B018 (a model the bf16 forward cannot run is refused now, not at the first text)
        return other

    @property
    def forward(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """(input_ids, lengths) -> logits in this classifier's precision: the model itself, or its bf16 forward
        (rebuilt when `self.model` has been replaced, or its GRU weights or pooling changed)."""
        if self.precision == "fp32":
            return self.model
        if self._fused is None or self._fused.model is not self.model or not self._fused.current:
            if not isinstance(self.model, GRUClassifier):
                exported = self.meta.get("backend") == "onnxruntime"
                what = "an export (onnxruntime runs it in fp32)" if exported else f"a {type(self.model).__name__}"
                raise TextgruError(
                    f"precision=bf16 runs textgru's PyTorch classifiers; {self.meta.get('path')!r} is {what}"
                )
            self._fused = FusedGRUClassifier(self.model, torch.bfloat16)
        return self._fused

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, cut to the training `max_length`; an empty text becomes one [UNK]."""
        unk = self.tokenizer.token_to_id(UNK) or 0
        try:  # a long text only as far as its first max_length tokens, a group of texts at a time (`long_texts`)
            ids, counts = encode_cut(self.tokenizer, texts, self.max_length, count_all=False, size=self.piece_chars)
        except TypeError:
            check_unicode(texts)  # one line for a lone surrogate; anything else goes on as it was
            raise
        cut = sum(n > self.max_length for n in counts)
        if cut and not getattr(self, "_said_cut", False):  # once a classifier, as Hugging Face's tokenizers say it
            self._said_cut = True
            log.warning(  # no count: a command's later chunks would go unsaid (a review: "1 of 8192" for 1,001)
                "texts longer than max_length=%d tokens, the length this classifier was trained on, are read as far as "
                "their first %d tokens (said once)",
                *(self.max_length, self.max_length),
            )
        if not all(ids) and not getattr(self, "_said_empty", False):  # the command line skips them, saying so
            self._said_empty = True
            log.warning("an empty text (or spaces only) is read as one [UNK] token: its label says nothing (said once)")
        return [x or [unk] for x in ids]

    @property
    def piece_chars(self) -> int:
        """Characters in the first piece of a long text that `encode` tokenizes (more only where it is short of
        `max_length` tokens): 32 a token, at least 2,048."""
        return max(2048, 32 * self.max_length)

    @without_collector_pauses
    def predict_proba(self, texts: str | Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """Class probabilities (len(texts), classes), in input order, or (classes,) for one text given as a string;
        batches are length-bucketed as in training."""
        if isinstance(texts, str):
            return self.predict_proba([texts], batch_size)[0]
        texts, batch_size = text_list(texts, "predict_proba"), check_batch_size(batch_size)
        ids = self.encode(texts)
        probs = torch.empty(len(ids), len(self.label_names))  # a plain tensor (a review: an inference-mode one refused
        # the caller's in-place edits and autograd); the batches run in inference mode, filling it
        if not ids:
            return probs
        batches = list(LengthBucketBatchSampler([len(x) for x in ids], batch_size, shuffle=False))
        pad = pad_id(self.tokenizer)

        forward = self.forward

        def run(idx: list[int]) -> None:
            with torch.inference_mode():  # in each thread that runs batches
                batch = pad_collate([{"input_ids": ids[i]} for i in idx], pad_id=pad)
                logits = forward(batch["input_ids"].to(self.device), batch["lengths"])  # (batch, classes)
                probs[idx] = torch.softmax(logits.float(), dim=-1).cpu()

        with eval_mode(self.model):  # a notebook's fine-tuning cell left it training: dropout on, random answers
            run_batches(run, batches, self.model)
        return probs

    @overload
    def predict(self, texts: str, batch_size: int = 256, top_k: int | None = None) -> Prediction: ...  # type: ignore[overload-overlap]

    @overload
    def predict(self, texts: Sequence[str], batch_size: int = 256, top_k: int | None = None) -> list[Prediction]: ...

    @without_collector_pauses
    def predict(
        self, texts: str | Sequence[str], batch_size: int = 256, top_k: int | None = None
    ) -> Prediction | list[Prediction]:
        """A `Prediction` for one text, or a list of them (input order) for a list of texts. `top_k`: only the k
        likeliest labels' probabilities in `probs`, likeliest first (None: every label's, in label order)."""
        if isinstance(texts, str):
            return self.predict([texts], batch_size, top_k)[0]
        texts = text_list(texts, "predict")  # None, a number, a None among the texts: one line
        k = None if top_k is None else positive_int(top_k, "top_k")
        out = []
        for text, p in zip(texts, self.predict_proba(texts, batch_size).tolist(), strict=True):
            best = max(range(len(p)), key=p.__getitem__)
            probs = dict(zip(self.label_names, p, strict=True))
            out.append(Prediction(text, self.label_names[best], p[best], probs if k is None else likeliest(probs, k)))
        return out

    def command_eval(self, data: dict[str, Any] | None, split: str, opts: EvalOptions) -> tuple[dict[str, Any], str]:
        """`textgru eval`: `evaluate` at `precision`, the labelling as the command line named it; report and table."""
        from textgru.inference.evaluation import format_report
        from textgru.inference.typed_keys import labelling_as_named

        clf, given = self.with_precision(opts.precision), labelling_as_named(data, split)
        out, again = opts.output_dir, opts.overwrite
        result = clf.evaluate(given, split, opts.batch_size, output_dir=out, overwrite=again, show_progress=True)
        return result, format_report(result)

    def evaluate(
        self,
        data: Any = None,
        split: str | None = None,
        batch_size: int = 256,
        output_dir: str | os.PathLike[str] | None = None,
        text_column: str = "text",
        label_column: str = "label",
        overwrite: bool = False,
        show_progress: bool = False,
    ) -> dict[str, Any]:
        """Accuracy, macro-F1, loss, per-class scores and confusion matrix on labelled data.

        `data` is what the data sources accept: None (the data the model was trained on), a data config name
        ("tweets", "sst2", ...), a path to your own file or folder (read as `data=local`, columns
        `text_column`/`label_column`), a data config dict, a `datasets.Dataset` or a pandas DataFrame. `split`
        defaults to "test" for configs and to "all" (every row) for a path, a Dataset or a DataFrame. With `output_dir`,
        the metrics JSON and a confusion-matrix PNG are written there too (an earlier report there is refused unless
        `overwrite`). `show_progress`: a bar on stderr, where it is a terminal, as texts are scored a chunk at a time."""
        from textgru.checkpoint_state import scored_state
        from textgru.inference.chunks import in_chunks
        from textgru.inference.evaluation import classification_metrics, write_report
        from textgru.inference.label_matching import label_indices
        from textgru.inference.reports import data_scored, report_path
        from textgru.inference.scored_data import labelled_texts
        from textgru.inference.trained_split import own_data_config

        require_split(split)
        trained_on = own_data_config(self.meta, needed=data is None)
        texts, names, split = labelled_texts(
            data,
            split,
            trained_on,
            text_column,
            label_column,
            self.meta.get("data_digest"),
            self.meta.get("split_rule"),
        )
        report = report_path(output_dir, split, overwrite, "confusion_matrix.png", self.meta.get("path"))

        labels = label_indices(names, self.label_names, trained_on.get("ignore_labels") or ())
        scored = [self.predict_proba(chunk, batch_size) for chunk in in_chunks(texts, "eval", show_progress)]
        probs = torch.cat(scored) if scored else self.predict_proba(texts, batch_size)  # (texts, classes)
        result = classification_metrics(probs, labels, self.label_names)
        where = self.meta.get("path")  # absolute: the report may be read from another folder
        result.update(split=split, data=data_scored(data, trained_on, split), precision=self.precision)
        result.update(checkpoint=str(Path(where).absolute()) if where else None, **scored_state(self.meta))
        if report is not None:
            write_report(result, self.label_names, Path(output_dir), split, overwrite)
        return result
