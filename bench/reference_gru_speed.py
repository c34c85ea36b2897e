"""What `model.rnn=reference` costs: forward + backward time of `ReferenceGRU` (the GRU from its equations, a Python
loop over time) against `nn.GRU` (torch's fused kernel), same weights and shapes.

Usage: python bench/reference_gru_speed.py [--repeats 10] (best of the repeats, interleaved). Prints a table and writes bench/results/reference_gru_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from torch import nn

from textgru.models.gru_cell import ReferenceGRU

SHAPES = [  # (name, batch, time, input, hidden, layers, bidirectional)
    ("forecast default", 128, 32, 1, 64, 2, False),
    ("sentiment default (one direction)", 64, 24, 128, 256, 1, False),
    ("lm default", 32, 128, 64, 512, 2, False),
]


def step_ms(models: list[nn.Module], x: torch.Tensor, repeats: int) -> list[float]:
    """Best-of-`repeats` milliseconds of one forward + backward pass per model, the models interleaved so that
    other load on the machine hits both alike (the minimum is the least disturbed pass)."""
    best = [float("inf")] * len(models)
    for i in range(repeats + 1):
        for k, model in enumerate(models):
            start = time.perf_counter()
            out, h = model(x)
            (out.sum() + h.sum()).backward()
            if i >= 1:  # warm-up left out
                best[k] = min(best[k], time.perf_counter() - start)
    return [1000 * b for b in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = []
    for name, batch, steps, size, hidden, layers, bi in SHAPES:
        native = nn.GRU(size, hidden, num_layers=layers, bidirectional=bi, batch_first=True)
        ref = ReferenceGRU(size, hidden, num_layers=layers, bidirectional=bi, batch_first=True)
        ref.load_state_dict(native.state_dict())
        x = torch.randn(batch, steps, size)
        n_ms, r_ms = step_ms([native, ref], x, args.repeats)
        rows.append(
            {
                "shape": name,
                "batch": batch,
                "time": steps,
                "hidden": hidden,
                "layers": layers,
                "native_ms": round(n_ms, 2),
                "reference_ms": round(r_ms, 2),
                "slowdown": round(r_ms / n_ms, 2),
            }
        )
    print(
        "| shape | batch x time, hidden x layers | nn.GRU ms | ReferenceGRU ms | slowdown |\n| --- | --- | --- | --- | --- |"
    )
    for r in rows:
        print(
            f"| {r['shape']} | {r['batch']}x{r['time']}, {r['hidden']}x{r['layers']} | {r['native_ms']} | "
            f"{r['reference_ms']} | {r['slowdown']}x |"
        )
    out = Path(__file__).parent / "results" / "reference_gru_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "machine": platform.processor() or platform.machine(),
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
