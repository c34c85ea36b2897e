"""Does a stream served in the shared batch give exactly the text it gives alone? In one process: many generations
with different seeds and knobs run through the server's scheduler (`textgru.serving.scheduler`), joining and leaving
the batch at different steps, and each text is compared with `LanguageModel.generate` alone (what `textgru generate`
prints). Batched GRU steps may round the last bits of the logits differently from batch-1 steps; this counts how
often that changes a sampled token.

Usage: python bench/stream_exactness.py [--ckpt RUN] [--streams 32] [--new-tokens 500] [--rounds 3] [--timeout 600]
Without --ckpt it uses an untrained model of the default `task=lm` shape (2x512 char GRU; flat distributions, the
hardest case for ties). Prints a table and writes JSON. A stream the scheduler ends with an error, or a round not
finished within `--timeout` seconds, stops the run with an `error:` line.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time

import torch
from _common import add_out_argument, description, parse_args, positive_float, positive_int, run_main, write_result

from textgru.inference.generation import encode_prompt
from textgru.inference.language_model import LanguageModel
from textgru.inference.sampling import SamplingOptions, read_prompt, step_model
from textgru.serving.scheduler import StreamScheduler

PROMPTS = ["ROMEO:\n", "KING:\n", "JULIET:\nO ", "", "Enter ", "First Citizen:\n", "HAMLET:\nTo be", "The "]


def default_lm() -> LanguageModel:
    from generation_speed import default_model  # bench/ is on sys.path (this script's folder)

    torch.manual_seed(0)
    model, tok = default_model()
    return LanguageModel(model, tok, {"task": "lm", "path": None})


def knobs(i: int, new_tokens: int, rng: random.Random) -> dict:
    k = dict(
        max_new_tokens=rng.randint(max(1, new_tokens // 2), new_tokens),
        seed=1000 + i,
        temperature=rng.choice([0.5, 0.8, 1.0, 1.3]),
        top_p=rng.choice([1.0, 0.95, 0.8]),
        top_k=rng.choice([0, 0, 20]),
        repetition_penalty=rng.choice([1.0, 1.0, 1.3]),
    )
    if i % 8 == 7:
        k = dict(max_new_tokens=k["max_new_tokens"], greedy=True, temperature=0.0)
    return k


def logit_gap(lm: LanguageModel, rows: int, steps: int = 50) -> float:
    """The largest |logit| difference between one row stepped alone and the same row in a batch of `rows`."""
    ids = encode_prompt(lm.tokenizer, "ROMEO:\n", allow_unknown=True)
    with torch.inference_mode():
        logits, hidden = read_prompt(lm.model, ids, rows)
        gen = torch.Generator().manual_seed(0)
        alone_hidden, gap = hidden[:, :1].clone(), 0.0
        for _ in range(steps):
            nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen).squeeze(1)
            logits, hidden = step_model(lm.model, nxt, hidden)
            alone, alone_hidden = step_model(lm.model, nxt[:1], alone_hidden)
            gap = max(gap, (alone[0] - logits[0]).abs().max().item())
            alone_hidden = hidden[:, :1].clone()  # the same state next step: the gap of one step
    return gap


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--ckpt", default=None)
    parser.add_argument("--streams", type=positive_int, default=32)
    parser.add_argument("--new-tokens", type=positive_int, default=500)
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--threads", type=positive_int, default=None)
    parser.add_argument(
        "--timeout", type=positive_float, default=600.0, help="seconds a round's batched streams may take"
    )
    add_out_argument(parser, "stream_exactness.json")
    args = parse_args(parser)
    if args.threads:
        torch.set_num_threads(args.threads)
    lm = LanguageModel.load(args.ckpt) if args.ckpt else default_lm()
    rng = random.Random(0)
    rows, total_tokens, differing = [], 0, []
    for r in range(args.rounds):
        jobs = [
            (PROMPTS[(i + r) % len(PROMPTS)], knobs(r * args.streams + i, args.new_tokens, rng))
            for i in range(args.streams)
        ]
        scheduler = StreamScheduler(lm, args.streams, args.threads)
        results: dict[int, str] = {}
        errors: dict[int, str] = {}  # the scheduler's "error" events (the server shutting down, a failed step)
        finished = threading.Semaphore(0)  # released once per stream: "done" or "error"

        def deliver_to(i: int, results: dict[int, str] = results, errors: dict[int, str] = errors, finished=finished):
            def deliver(events: list) -> None:
                for kind, data in events:
                    if kind == "done":
                        results[i] = data["samples"][0]["text"]
                    elif kind == "error":
                        errors[i] = str(data.get("error", data))
                    else:
                        continue
                    finished.release()

            return deliver

        start = time.perf_counter()
        for i, (prompt, k) in enumerate(jobs):  # they arrive while the batch runs, and leave at different steps
            options = SamplingOptions(**k).check()
            scheduler.submit(encode_prompt(lm.tokenizer, prompt, allow_unknown=True), options, False, deliver_to(i))
            time.sleep(rng.random() * 0.02)
        deadline = time.monotonic() + args.timeout
        ended = sum(finished.acquire(timeout=max(0.0, deadline - time.monotonic())) for _ in jobs)
        batched_seconds = time.perf_counter() - start
        scheduler.close()
        if errors or ended < len(jobs):
            why = (
                [f"{len(errors)} ended with an error (first, stream {min(errors)}: {errors[min(errors)]})"]
                if errors
                else []
            )
            if ended < len(jobs):
                why.append(f"{len(jobs) - ended} had not ended after --timeout {args.timeout:g} s")
            sys.exit(f"error: round {r}: {len(results)} of {len(jobs)} streams finished; " + "; ".join(why))
        start = time.perf_counter()
        solo = [lm.generate(prompt, allow_unknown=True, **k)[0] for prompt, k in jobs]
        solo_seconds = time.perf_counter() - start
        same = [results[i] == solo[i] for i in range(len(jobs))]
        for i, ok in enumerate(same):
            if not ok:
                a, b = results[i], solo[i]
                first = next((j for j, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
                differing.append({"round": r, "stream": i, "knobs": jobs[i][1], "first_difference_at_char": first})
        tokens = sum(k["max_new_tokens"] for _, k in jobs)
        total_tokens += tokens
        rows.append(
            {
                "round": r,
                "streams": len(jobs),
                "tokens (at most)": tokens,
                "identical": sum(same),
                "peak batch rows": scheduler.peak_rows,
                "steps": scheduler.steps,
                "batched s": round(batched_seconds, 2),
                "solo s": round(solo_seconds, 2),
            }
        )
    gaps = {rows_: logit_gap(lm, rows_) for rows_ in (2, 8, 32)}
    header = list(rows[0])
    print("| " + " | ".join(header) + " |\n|" + " --- |" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in header) + " |")
    print(
        f"streams differing from their solo run: {len(differing)} of {args.rounds * args.streams} "
        f"({total_tokens} tokens at most); largest one-step logit gap alone vs in a batch: "
        + ", ".join(f"{k} rows {v:.2e}" for k, v in gaps.items())
    )
    out = {"rows": rows, "differing": differing, "logit_gap": gaps, "checkpoint": args.ckpt or "untrained 2x512"}
    write_result(args.out, out)


if __name__ == "__main__":
    run_main(main)
