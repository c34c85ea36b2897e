"""What `model.rnn=reference` costs: forward + backward time of `ReferenceGRU` (the GRU from its equations, a Python
loop over time) against `nn.GRU` (torch's fused kernel), same weights and shapes.

Usage: python bench/reference_gru_speed.py [--repeats 10] [--threads N]: one warm-up pass, then `--repeats` passes of
each, interleaved; min / median / max milliseconds and the slow-down per pass. Prints a table and writes
bench/results/reference_gru_speed.json.
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import (
    add_out_argument,
    description,
    fmt,
    machine_line,
    parse_args,
    positive_int,
    run_main,
    set_threads,
    summary,
    write_result,
)
from torch import nn

from textgru.models.gru_cell import ReferenceGRU

SHAPES = [  # (name, batch, time, input, hidden, layers, bidirectional)
    ("forecast default", 128, 32, 1, 64, 2, False),
    ("sentiment default (one direction)", 64, 24, 128, 256, 1, False),
    ("lm default", 32, 128, 64, 512, 2, False),
]


def step_ms(models: list[nn.Module], x: torch.Tensor, repeats: int) -> list[list[float]]:
    """Milliseconds of one forward + backward pass per model and repeat, the models interleaved so that other load
    on the machine hits both alike; one untimed warm-up pass each first."""
    times: list[list[float]] = [[] for _ in models]
    for i in range(repeats + 1):
        for k, model in enumerate(models):
            start = time.perf_counter()
            out, h = model(x)
            (out.sum() + h.sum()).backward()
            if i >= 1:  # warm-up left out
                times[k].append(1000 * (time.perf_counter() - start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--repeats", type=positive_int, default=10)
    parser.add_argument("--threads", type=positive_int, default=None)
    add_out_argument(parser, "reference_gru_speed.json")
    args = parse_args(parser)
    set_threads(args.threads)
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
                "native_ms": summary(n_ms),
                "reference_ms": summary(r_ms),
                "slowdown": summary([r / n for n, r in zip(n_ms, r_ms, strict=True)]),
            }
        )
    print(f"forward + backward, {args.repeats} interleaved passes after a warm-up; median (min-max)\n{machine_line()}")
    print(
        "| shape | batch x time, hidden x layers | nn.GRU ms | ReferenceGRU ms | slow-down |\n| --- | --- | --- | --- | --- |"
    )
    for r in rows:
        print(
            f"| {r['shape']} | {r['batch']}x{r['time']}, {r['hidden']}x{r['layers']} | {fmt(r['native_ms'], '.1f')} | "
            f"{fmt(r['reference_ms'], '.1f')} | {fmt(r['slowdown'], '.2f')}x |"
        )
    write_result(args.out, {"repeats": args.repeats, "rows": rows})


if __name__ == "__main__":
    run_main(main)
