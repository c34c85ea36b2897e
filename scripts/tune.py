"""Optuna search: `python scripts/tune.py hparams_search=sentiment [n_trials=12] [key=value ...]`; the same
command again resumes the study (outputs/<task>/tune/<study name>/study.db)."""

from textgru.cli import tune_main

if __name__ == "__main__":
    tune_main()
