"""What scripts/eval.py, predict.py and generate.py do with their composed config (the scripts stay thin)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from textgru.errors import TextgruError


def eval_command(cfg: DictConfig) -> dict:
    """Score a checkpoint on a split; print the per-class table; write JSON + PNG to `<run>/eval/`."""
    from textgru.classifier import Classifier
    from textgru.evaluation import format_report

    ckpt = Path(str(cfg.ckpt_path))
    run_dir = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    out = Path(cfg.output_dir) if cfg.output_dir else run_dir / "eval"
    target = out / f"{cfg.split}_metrics.json"
    if target.exists() and not cfg.overwrite:
        raise TextgruError(f"{target} exists; pass overwrite=true or output_dir=<another folder>")
    data = OmegaConf.to_container(cfg.data, resolve=True) if cfg.get("data") else None
    result = Classifier.load(cfg.ckpt_path).evaluate(data, cfg.split, cfg.batch_size, output_dir=out)
    print(format_report(result))
    print(f"metrics: {target}")
    return result


def predict_command(cfg: DictConfig) -> list[dict]:
    """Classify texts; a table on a terminal, JSONL to `output=` or to stdout when it is piped."""
    from textgru.classifier import Classifier
    from textgru.prediction import check_output, format_table, read_texts, write_jsonl

    check_output(cfg.output, cfg.overwrite)
    texts = read_texts(cfg.text, cfg.input, cfg.text_column)
    results = [r.to_dict() for r in Classifier.load(cfg.ckpt_path).predict(texts, cfg.batch_size)]
    if cfg.output:
        write_jsonl(results, cfg.output)
    if sys.stdout.isatty():
        print(format_table(results))
    elif not cfg.output:
        for r in results:
            print(json.dumps(r, ensure_ascii=False))
    return results


def read_prompt(prompt: str | None, prompt_file: str | None) -> str:
    """The prompt from exactly one of `prompt`, `prompt_file`, or piped stdin (empty when there is none)."""
    if prompt is not None and prompt_file is not None:
        raise TextgruError("give either prompt= or prompt_file=, not both")
    if prompt is not None:
        return str(prompt)
    if prompt_file is not None:
        p = Path(str(prompt_file)).expanduser()
        if not p.is_file():
            raise TextgruError(f"prompt_file {str(p)!r} does not exist")
        return p.read_bytes().decode("utf-8", errors="replace")
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    return sys.stdin.buffer.read().decode("utf-8", errors="replace")


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", "\t")


def _number(cfg: DictConfig, key: str, kind: type = float) -> Any:
    """`cfg[key]` as an int or float, or one clear error (Hydra passes `top_k=many` through as a string)."""
    value = cfg[key]
    try:
        number = float(value)
        if isinstance(value, bool) or (kind is int and not number.is_integer()):
            raise ValueError
    except (TypeError, ValueError):
        raise TextgruError(f"{key}={value!r} is not {'an integer' if kind is int else 'a number'}") from None
    return kind(number)


def check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TextgruError(f"device={device} but no CUDA GPU is available here; use device=cpu")


def generate_command(cfg: DictConfig) -> list[str]:
    """Sample from a language-model checkpoint; stream a single sample, print several, JSONL to `output=`."""
    from textgru.generation import SamplingOptions, encode_prompt
    from textgru.language_model import LanguageModel
    from textgru.prediction import check_output, write_jsonl

    stop = cfg.stop if cfg.stop is None or isinstance(cfg.stop, str) else list(cfg.stop)
    stops = [_unescape(str(s)) for s in ([stop] if isinstance(stop, str) else stop or [])]
    sampling = dict(
        max_new_tokens=_number(cfg, "max_new_tokens", int),
        temperature=_number(cfg, "temperature"),
        top_k=_number(cfg, "top_k", int),
        top_p=_number(cfg, "top_p"),
        repetition_penalty=_number(cfg, "repetition_penalty"),
        greedy=bool(cfg.greedy),
        num_samples=_number(cfg, "num_samples", int),
        seed=None if cfg.seed is None else _number(cfg, "seed", int),
        stop=stops,
    )
    options = SamplingOptions(**sampling).check()  # a bad value is refused before the model loads
    check_output(cfg.output, cfg.overwrite)
    check_device(str(cfg.device))
    prompt = read_prompt(cfg.prompt, cfg.prompt_file)
    lm = LanguageModel.load(cfg.ckpt_path, device=cfg.device)
    encode_prompt(lm.tokenizer, prompt, cfg.allow_unknown)  # refuse a bad prompt before printing anything
    if options.num_samples == 1:
        print(prompt, end="", flush=True)
        texts = lm.generate(
            prompt, on_text=lambda piece: print(piece, end="", flush=True), allow_unknown=cfg.allow_unknown, **sampling
        )
        print(flush=True)
    else:
        texts = lm.generate(prompt, allow_unknown=cfg.allow_unknown, **sampling)
        for i, text in enumerate(texts, 1):
            print(f"===== sample {i} =====\n{prompt}{text}\n", flush=True)
    if cfg.output:
        write_jsonl(
            [{"sample": i, "prompt": prompt, "text": t, "seed": options.seed} for i, t in enumerate(texts, 1)],
            cfg.output,
        )
        print(f"wrote {len(texts)} sample(s) to {cfg.output}", file=sys.stderr)
    return texts
