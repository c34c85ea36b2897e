"""What /info says about each served model: its task, checkpoint, backend, sizes, labels and training metrics; for a
language model, a first prompt for the page that its tokenizer can read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textgru.data.tokenization import UNK
from textgru.run_folder import RunFolder

EXAMPLE_PROMPT = "ROMEO:"  # the page's first prompt, where the model can read it; else empty (a new text)


def model_info(model: Any) -> dict[str, Any]:
    """What /info says about a loaded Classifier or LanguageModel."""
    meta = model.meta
    export = meta.get("export_config")  # an exported folder (onnxruntime): its config.json says what it holds
    out: dict[str, Any] = {
        "task": meta.get("task"),
        "checkpoint": str(Path(meta["path"]).absolute()) if meta.get("path") else None,
        "backend": meta.get("backend", "pytorch"),
        "vocab_size": model.tokenizer.get_vocab_size(),
        "trained_with_textgru": meta.get("textgru_version") or (export or {}).get("trained_with_textgru"),
        "model": export.get("model")
        if export
        else {"class": meta.get("model_class"), **(meta.get("model_args") or {})},
        "metrics": export.get("training_metrics") if export else RunFolder.metrics_of_checkpoint(meta["path"]),
    }
    if export:
        out["exported_from"] = export.get("source_checkpoint")
    if hasattr(model, "label_names"):
        out.update(labels=list(model.label_names), max_length=model.max_length, precision=model.precision)
    else:  # the page's first prompt: one the model can read (a review: a lowercase corpus refused "ROMEO:")
        readable = model.tokenizer.token_to_id(UNK) not in model.tokenizer.encode(EXAMPLE_PROMPT).ids
        out["example_prompt"] = EXAMPLE_PROMPT if readable else ""
    return out
