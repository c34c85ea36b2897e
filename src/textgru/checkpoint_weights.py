"""A checkpoint's model built only once its weights are known to fit it, so that a received file cannot make textgru
allocate more memory than its weights hold.

`model_args` could ask for any size (`vocab_size=10**9`) and the class would allocate it before `load_state_dict`
compares shapes; a stored tensor can be an expanded view of one value (a 2.5 MB file holding a 16M x 128 embedding
that takes 8 GB once loaded). So: each tensor must store the values it shows, the model is first built on the meta
device (no memory) and its parameter names and shapes compared with the weights, and only then built for real. An
argument the class refuses (a dropout of 2, a NaN) is one line too, not a traceback."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from textgru.errors import TextgruError

USE_OURS = "use the file textgru saved"
# model arguments that say how many modules are built (each holds tensors of its own): the frozen LM's layers are
# the last of `lm_features`; each adaptive-softmax cutoff makes an output cluster (a review: 10**6 of them, 3 GB)
MODULE_COUNTS = {"members": "members", "num_layers": "layers", "lm_features": "LM layers", "cutoffs": "output clusters"}
# the most tokens a text is read to: a checkpoint's max_length above what training takes (config_rules_train's
# LONGEST_TEXT; a test keeps them equal) is refused (a review: 10**18 overflowed export's self-check)
LONGEST_TEXT = 1_000_000


def _module_counts(args: Mapping[str, Any]) -> dict[str, int]:
    counts = {k: args[k] for k in ("members", "num_layers") if type(args.get(k)) is int}
    lm, cutoffs = args.get("lm_features"), args.get("cutoffs")
    if isinstance(lm, list) and lm and type(lm[-1]) is int:
        counts["lm_features"] = lm[-1]
    if isinstance(cutoffs, list):
        counts["cutoffs"] = len(cutoffs)
    return counts


def build_fitting(cls: type[nn.Module], args: Mapping[str, Any], state: Mapping[Any, Any], where: str) -> nn.Module:
    """`cls(**args)` with `state` loaded, in eval mode; one line naming the problem if `state` does not fit it."""
    check_tensors(state, where)
    bad = [k for k, v in args.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise TextgruError(f"{where}: model_args {', '.join(bad)} is not a finite number; {USE_OURS}")
    # each member or layer holds tensors of its own: more of them than the file holds tensors cannot fit, and building
    # the model's modules (even on the meta device) for members=10**7 grew memory for minutes (a review)
    counts = [(k, n) for k, n in _module_counts(args).items() if n > max(len(state), 1)]
    if counts:
        (k, n), what = counts[0], MODULE_COUNTS[counts[0][0]]
        raise TextgruError(
            f"{where}: model_args {k} asks for {n} {what}, more than the file holds tensors ({len(state)}); {USE_OURS}"
        )
    skeleton = built_on(cls, args, where, device="meta")
    want = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in state.items()}
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    wrong = [k for k in want if k in have and want[k] != have[k]]
    kinds = {k: v.dtype for k, v in skeleton.state_dict().items()}
    # an int64 bias would load, cast; a float tensor of another width (trainer.precision=bf16-true) loads as it did
    retyped = [k for k in want if k in have and state[k].is_floating_point() != kinds[k].is_floating_point]
    if retyped:
        k = retyped[0]
        raise TextgruError(
            f"{where}: its tensor {k[:80]!r} is {str(state[k].dtype).replace('torch.', '')}, where the model's is "
            f"{str(kinds[k]).replace('torch.', '')}; {USE_OURS}"
        )
    if missing or extra or wrong:
        what = (
            f"lacks {missing[0]!r}"
            if missing
            else f"has {extra[0][:80]!r}, which the model does not"
            if extra
            else f"holds {wrong[0]!r} of shape {list(have[wrong[0]])}, where its model config makes {list(want[wrong[0]])}"
        )
        raise TextgruError(f"{where}: its weights do not fit its model config (the file {what}); {USE_OURS}")
    model = built_on(cls, args, where, device="cpu")
    model.load_state_dict(dict(state))
    return model.eval()


def check_tensors(state: Mapping[Any, Any], where: str) -> None:
    """One line where `state` holds something other than named, dense, wholly stored, finite tensors."""
    for name, value in state.items():
        if not isinstance(name, str) or not isinstance(value, torch.Tensor):
            raise TextgruError(f"{where}: its weights hold {str(name)[:80]!r}, which is not a named tensor; {USE_OURS}")
        if value.layout is not torch.strided:  # a review: a sparse one was a NotImplementedError from its storage
            layout = str(value.layout).replace("torch.", "")
            raise TextgruError(
                f"{where}: its tensor {name[:80]!r} is a {layout} tensor, where textgru saves dense ones; {USE_OURS}"
            )
        if value.numel() and value.untyped_storage().nbytes() < value.numel() * value.element_size():
            raise TextgruError(
                f"{where}: its tensor {name[:80]!r} shows more values than the file stores (an expanded view); {USE_OURS}"
            )
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise TextgruError(
                f"{where}: its tensor {name[:80]!r} holds NaN or infinite values (a run that diverged?); train again or "
                "use an earlier checkpoint"
            )


class _NoInitOnMeta(TorchFunctionMode):
    """In-place calls on meta tensors (the initialisers: `normal_`, `uniform_`, `orthogonal_` ...) do nothing: they
    would only fill values a meta tensor does not hold, and some run through torch's Python references, whose first
    use imports torch._dynamo and sympy (~1.7 s and ~75 MB for every checkpoint loaded)."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name, first = getattr(func, "__name__", ""), args[0] if args else kwargs.get("tensor")  # nn.init: tensor=
        in_place = name.endswith("_") and not name.endswith("__")  # normal_, not __bool__
        if in_place and isinstance(first, torch.Tensor) and first.is_meta:
            return first
        return func(*args, **kwargs)


def built_on(cls: type[nn.Module], args: Mapping[str, Any], where: str, device: str, fix: str = USE_OURS) -> nn.Module:
    """`cls(**args)` on `device` ("meta": no memory, no initialisation); one line, ending with `fix`, where the class
    refuses its arguments."""
    no_init = _NoInitOnMeta() if device == "meta" else contextlib.nullcontext()
    try:
        with torch.device(device), no_init, torch.random.fork_rng(devices=[]):  # the caller's random state is kept
            return cls(**args)
    except Exception as e:  # the class refused an argument (ValueError, AssertionError, ...): the file's doing
        first = (str(e).splitlines() or [""])[0][:120]
        raise TextgruError(f"{where}: its model config cannot be built ({type(e).__name__}: {first}); {fix}") from e
