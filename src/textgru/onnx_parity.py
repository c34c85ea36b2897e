"""An exported graph against the PyTorch model it came from, on the export plan's random inputs: the largest
difference of any output, which `textgru.onnx_export` holds to `PARITY_TOLERANCE`, in the model's own units: a plan's
`scale` divides the differences (the forecaster's std per column: in a series' units, rounding alone moved a series
near 2e4 by 4e-4, and refused every export of it: a review)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from textgru.errors import TextgruError


def parity(reference: nn.Module, path: Path, plan: dict[str, Any]) -> float:
    """Max abs difference (over `plan["scale"]`, where it has one) of every output between PyTorch and onnxruntime over the plan's random inputs; outputs
    that are not finite are one line (a review: a model whose logits overflowed to NaN was exported with a recorded
    difference of 0.0, as `max` drops a NaN)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i["name"] for i in plan["inputs"]]
    worst, scale = 0.0, plan.get("scale", 1.0)
    with torch.inference_mode():
        for args in plan["checks"]():
            expected = reference(*args)
            expected = expected if isinstance(expected, tuple) else (expected,)
            got = session.run(None, {n: a.numpy() for n, a in zip(names, args, strict=True)})
            for e, o in zip(expected, got, strict=True):
                if not (torch.isfinite(e).all() and torch.isfinite(torch.from_numpy(o)).all()):
                    raise TextgruError(
                        "the model's outputs are NaN or infinite on random inputs (weights so large that they "
                        "overflow); nothing was written: retrain it, with weight decay or gradient clipping"
                    )
                worst = max(worst, float(((e - torch.from_numpy(o)) / scale).abs().max()))
    return worst
