"""Optuna search: `python scripts/tune.py hparams_search=sentiment [n_trials=12] [key=value ...]` (= `textgru tune`)."""

import sys

from textgru.cli import main

if __name__ == "__main__":
    main(["tune", *sys.argv[1:]])
