"""Sample from a trained textgru language model: stream one continuation, then draw several at once.

python examples/sample.py outputs/lm/<date>/<time> --prompt "ROMEO:" --seed 1
"""

from __future__ import annotations

import argparse
import sys

import textgru


def at_least_one(text: str) -> int:
    """argparse `type=` for a count: refused, in the option's name, before anything is sampled."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a run folder or a .ckpt file of a task=lm run")
    parser.add_argument("--prompt", default="ROMEO:")
    parser.add_argument("--tokens", type=at_least_one, default=300, help="new tokens per sample")
    parser.add_argument("--samples", type=at_least_one, default=3, help="how many samples to draw together")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    try:  # a classifier's checkpoint, a prompt in characters the model never saw: one line each
        lm = textgru.LanguageModel.load(args.checkpoint)
        pieces = lm.stream(args.prompt, max_new_tokens=args.tokens, temperature=0.8, seed=args.seed)
        first = next(pieces, "")  # a bad prompt or option is refused here, before anything is printed
        print(args.prompt + first, end="", flush=True)
        for piece in pieces:
            print(piece, end="", flush=True)
        print()
        samples = lm.generate(
            args.prompt, max_new_tokens=args.tokens, top_p=0.9, num_samples=args.samples, seed=args.seed
        )
    except textgru.TextgruError as e:
        sys.exit(f"error: {e}")
    for i, text in enumerate(samples, 1):
        print(f"\n===== sample {i} (top_p=0.9) =====\n{args.prompt}{text}")
    print(f"\nnats per token of the first sample: {lm.score(samples[0])[0]:.3f}")


if __name__ == "__main__":
    main()
