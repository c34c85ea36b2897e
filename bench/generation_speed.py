"""Generation speed in one run: textgru's sampler (prompt read once, then one GRU step per token with the hidden
state carried) against re-running the whole prefix for every new token, as many tutorials do.

Usage: python bench/generation_speed.py [--ckpt RUN/checkpoints/best.ckpt] [--new-tokens 500] [--batches 1 32]
Without --ckpt it times an untrained model of the default `task=lm` shape (2x512 char GRU, 81 symbols):
speed does not depend on the weights. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer

from textgru.config import tokenizer_config
from textgru.data.tokenization import train_tokenizer
from textgru.inference.generation import SamplingOptions, decode_continuation, generate
from textgru.models.gru_lm import GRULanguageModel

PROMPT = "ROMEO:\n"


def default_model() -> tuple[torch.nn.Module, Tokenizer]:
    symbols = "".join(chr(c) for c in range(32, 127)) + "\n"
    tok = train_tokenizer([symbols], {**tokenizer_config("char"), "unicode_form": None})  # a complete config
    return GRULanguageModel(tok.get_vocab_size(), embedding_dim=64, hidden_size=512, num_layers=2).eval(), tok


@torch.inference_mode()
def rerun_prefix(
    model: torch.nn.Module, prompt_ids: list[int], new_tokens: int, batch: int, seed: int, greedy: bool = False
) -> torch.Tensor:
    """The tutorial way: the whole prefix through the GRU again for every new token (no state carried)."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.tensor([prompt_ids]).repeat(batch, 1)  # (batch, prefix)
    for _ in range(new_tokens):
        logits = model(ids)[0][:, -1].float()  # (batch, vocab): all but the last position wasted
        logits[:, :2] = float("-inf")  # [PAD], [UNK]
        nxt = (
            logits.argmax(-1)
            if greedy
            else torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(1)
        )
        ids = torch.cat([ids, nxt[:, None]], dim=1)
    return ids[:, len(prompt_ids) :]


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", default=None)
    parser.add_argument("--new-tokens", type=int, default=500)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default="bench/results/generation_speed.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.ckpt:
        from textgru import LanguageModel

        lm = LanguageModel.load(args.ckpt)
        model, tok = lm.model, lm.tokenizer
    else:
        torch.manual_seed(0)
        model, tok = default_model()
    prompt_ids = tok.encode(PROMPT).ids
    n = args.new_tokens

    # the two ways agree: greedy decoding gives the same tokens
    carried = generate(model, tok, PROMPT, SamplingOptions(max_new_tokens=50, greedy=True))[0]
    rerun = rerun_prefix(model, prompt_ids, 50, 1, 0, greedy=True)[0].tolist()
    agree = carried == decode_continuation(tok, prompt_ids, rerun)

    rows = []
    for batch in args.batches:
        options = SamplingOptions(max_new_tokens=n, num_samples=batch, temperature=1.0, seed=0)
        generate(model, tok, PROMPT, SamplingOptions(max_new_tokens=5, num_samples=batch))  # warm-up
        t_carry, _ = timed(lambda: generate(model, tok, PROMPT, options))  # noqa: B023 - called at once
        t_rerun, _ = timed(lambda: rerun_prefix(model, prompt_ids, n, batch, 0))  # noqa: B023 - called at once
        rows.append(
            {
                "batch": batch,
                "new_tokens": n,
                "carried_tokens_per_s": batch * n / t_carry,
                "rerun_tokens_per_s": batch * n / t_rerun,
                "carried_seconds": t_carry,
                "rerun_seconds": t_rerun,
                "speedup": t_rerun / t_carry,
                "carried_ms_per_step": 1000 * t_carry / n,
            }
        )

    print(
        f"generation speed, {n} new tokens after a {len(prompt_ids)}-token prompt; "
        f"{torch.get_num_threads()} threads; greedy tokens identical both ways: {agree}"
    )
    print(
        f"{'batch':>5} | {'carried state tok/s':>19} | {'re-run prefix tok/s':>19} | {'speed-up':>8} | {'ms/step':>7}"
    )
    print("-" * 72)
    for r in rows:
        print(
            f"{r['batch']:>5} | {r['carried_tokens_per_s']:>19,.0f} | {r['rerun_tokens_per_s']:>19,.1f} | "
            f"{r['speedup']:>7.1f}x | {r['carried_ms_per_step']:>7.2f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "rows": rows,
                "greedy_tokens_identical": agree,
                "checkpoint": args.ckpt,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "machine": platform.processor() or platform.machine(),
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
