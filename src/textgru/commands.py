"""What scripts/eval.py and scripts/predict.py do with their composed config (the scripts stay thin)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from textgru.errors import TextgruError


def eval_command(cfg: DictConfig) -> dict:
    """Score a checkpoint on a split; print the per-class table; write JSON + PNG to `<run>/eval/`."""
    from textgru.evaluation import evaluate_checkpoint, format_report

    ckpt = Path(str(cfg.ckpt_path))
    run_dir = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    out = Path(cfg.output_dir) if cfg.output_dir else run_dir / "eval"
    target = out / f"{cfg.split}_metrics.json"
    if target.exists() and not cfg.overwrite:
        raise TextgruError(f"{target} exists; pass overwrite=true or output_dir=<another folder>")
    data = OmegaConf.to_container(cfg.data, resolve=True) if cfg.get("data") else None
    result = evaluate_checkpoint(cfg.ckpt_path, data, cfg.split, out, cfg.batch_size)
    print(format_report(result))
    print(f"metrics: {target}")
    return result


def predict_command(cfg: DictConfig) -> list[dict]:
    """Classify texts; a table on a terminal, JSONL to `output=` or to stdout when it is piped."""
    from textgru.inference import LoadedClassifier
    from textgru.prediction import check_output, format_table, read_texts, write_jsonl

    check_output(cfg.output, cfg.overwrite)
    texts = read_texts(cfg.text, cfg.input, cfg.text_column)
    results = LoadedClassifier.from_checkpoint(cfg.ckpt_path).predict(texts, cfg.batch_size)
    if cfg.output:
        write_jsonl(results, cfg.output)
    if sys.stdout.isatty():
        print(format_table(results))
    elif not cfg.output:
        for r in results:
            print(json.dumps(r, ensure_ascii=False))
    return results
