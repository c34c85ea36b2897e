"""Evaluate a checkpoint: `python scripts/eval.py ckpt_path=<run>/checkpoints/best.ckpt [data=NAME] [split=test]`."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from textgru.cli import hydra_entry
from textgru.errors import TextgruError
from textgru.evaluation import evaluate_checkpoint, format_report


def main(cfg: DictConfig) -> None:
    ckpt = Path(str(cfg.ckpt_path))
    run_dir = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    out = Path(cfg.output_dir) if cfg.output_dir else run_dir / "eval"
    if (out / f"{cfg.split}_metrics.json").exists() and not cfg.overwrite:
        raise TextgruError(f"{out / f'{cfg.split}_metrics.json'} exists; pass overwrite=true or output_dir=<another folder>")
    data = OmegaConf.to_container(cfg.data, resolve=True) if cfg.get("data") else None
    result = evaluate_checkpoint(cfg.ckpt_path, data, cfg.split, out, cfg.batch_size)
    print(format_report(result))
    print(f"metrics: {out / f'{cfg.split}_metrics.json'}")


if __name__ == "__main__":
    hydra_entry(main, config_name="eval")
