"""A new run writes its checkpoints into a folder of its own. A config whose `dirpath` names a folder that already
holds checkpoints (a run's config.yaml made an experiment: it names that run's folder) is refused, since Lightning
would replace that run's best.ckpt and last.ckpt, saying so only in train.log (a review)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from textgru.errors import TextgruError
from textgru.run_folder import RunFolder


def refuse_used_folders(cfg: DictConfig, run: RunFolder) -> None:
    """One line if the new run's folder holds a run, or a checkpoint callback's `dirpath` holds checkpoints."""
    run.refuse_if_used("choose another hydra.run.dir= so nothing is overwritten", training=True)
    for name, callback in (cfg.get("callbacks") or {}).items():
        dirpath = callback.get("dirpath") if isinstance(callback, DictConfig) else None
        if not dirpath:
            continue
        held = sorted(Path(dirpath).expanduser().glob("*.ckpt"))
        if held:
            mine = Path(dirpath).expanduser().resolve() == run.checkpoints.resolve()
            fix = (
                "move them aside or choose another hydra.run.dir="
                if mine
                else "delete dirpath where your config sets it, so the run keeps its own (a run's config.yaml made an "
                "experiment names that run's folder), or give an empty folder"
            )
            raise TextgruError(  # (another run's best.ckpt and last.ckpt replaced, or its checkpoints mixed with ours)
                f"callbacks.{name}.dirpath={dirpath} already holds checkpoints ({held[0].name}): a run's checkpoints go "
                f"in a folder of their own, where none is overwritten or mixed with another's; {fix}"
            )
