"""Classify texts: `python scripts/predict.py ckpt_path=... text="..."` (or input=FILE, or stdin)."""

import json
import sys

from omegaconf import DictConfig

from textgru.cli import hydra_entry
from textgru.inference import LoadedClassifier
from textgru.prediction import check_output, format_table, read_texts, write_jsonl


def main(cfg: DictConfig) -> None:
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


if __name__ == "__main__":
    hydra_entry(main, config_name="predict")
