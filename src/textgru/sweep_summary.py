"""The summary of a sweep or an Optuna study: one row per run (the overrides that vary between runs, then its
metrics), best first, written as `summary.csv` and `summary.md` in the sweep folder and printed; a study's best
parameters also as an experiment config."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from textgru.atomic_files import write_text_atomic, written_atomically
from textgru.errors import TextgruError
from textgru.sweep_jobs import hydra_sweep_rows, run_row, unstarted_command

RUN_STATS = ("epochs", "global_step", "train_seconds", "train_tokens_per_sec", "stopped_by")  # not metrics


def write_summary(
    sweep_dir: Path, rows: list[dict[str, Any]], metric: str, mode: str, always: Sequence[str] = ()
) -> str:
    """Sort `rows` best first by `metric` (`mode` max or min; runs without it last; a study's completed trials
    before the others), write the CSV and the Markdown table into `sweep_dir`, and return the Markdown. A key that
    is the same in every row is said once above the table, but a key of `always` (a study's searched parameters)
    keeps its column."""
    import pandas as pd

    df = pd.DataFrame(rows)
    if df.empty:
        return ""
    if metric in df.columns:
        df = df.sort_values(metric, ascending=mode == "min", na_position="last", kind="stable")
    if "state" in df.columns:  # a study's trials: a pruned one's best-so-far ranks after every completed trial
        df = df.sort_values("state", key=lambda state: state != "complete", kind="stable")
    keys = [c for c in df.columns if "/" not in c and c not in RUN_STATS]
    varying = [c for c in keys if c in ("run", "status", "state", *always) or df[c].astype(str).nunique() > 1]
    metrics = [c for c in df.columns if "/" in c]
    ordered = [metric] if metric in metrics else []
    ordered += sorted(m for m in metrics if m.startswith("val/") and m != metric)
    ordered += sorted(m for m in metrics if m.startswith("test/"))
    ordered += [c for c in RUN_STATS if c in df.columns]
    df = df[[*varying, *ordered]]
    counts = [c for c in ("epochs", "global_step") if c in df.columns]  # whole beside a failed run's blank (a review:
    with written_atomically(sweep_dir / "summary.csv") as tmp:  # "3.0"), as the table writes them
        df.astype({c: "Int64" for c in counts if df[c].dropna().mod(1).eq(0).all()}).to_csv(tmp, index=False)
    fixed = {c: df_value for c in keys if c not in varying and (df_value := str(rows[0].get(c))) != "None"}
    header = f"# Sweep summary: {len(df)} runs, best {metric} ({mode}) first\n\n"
    if fixed:
        header += "Same in every run: " + ", ".join(f"`{k}={v}`" for k, v in fixed.items()) + "\n\n"
    markdown = header + markdown_table(df) + "\n"
    write_text_atomic(sweep_dir / "summary.md", markdown)
    return markdown


def markdown_table(df: Any) -> str:
    """A pipe table; metrics and run statistics to 4 decimals, settings (a learning rate of 1.2e-05) to 4
    significant figures, missing values blank."""

    def cell(v: Any, whole: bool, setting: bool) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, float):
            whole = whole and abs(v) < 1e15  # (a review: an lr of 1.55e29 written out in 30 digits)
            return f"{v:.0f}" if whole else f"{v:.4g}" if setting else f"{v:.4f}"
        return str(v).replace("|", "\\|")

    # a column of whole numbers stays whole where a missing value (a failed run) made pandas store it as floats
    whole = [
        df[c].dtype.kind == "f"
        and bool(df[c].dropna().size)
        and bool((df[c].dropna() % 1 == 0).all())
        and not str(c).count("/")
        for c in df.columns
    ]
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    settings = ["/" not in str(c) and c not in RUN_STATS for c in df.columns]
    lines += [
        "| " + " | ".join(cell(v, w, s) for v, w, s in zip(row, whole, settings, strict=True)) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join(lines)


class FreshSweepFolder(Callback):
    """Hydra callback: a `-m` sweep starts in a folder of its own. A `hydra.sweep.dir=` that already holds files (an
    earlier sweep's jobs, multirun.yaml, summary) is refused before Hydra writes anything there: its jobs' `.hydra/`
    and the summary would be overwritten, and a finished job listed under the new sweep's settings."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from textgru.console import fail

        try:
            refuse_used_sweep_folder(Path(config.hydra.sweep.dir), "hydra.sweep.dir")
        except TextgruError as e:
            fail(str(e))
        subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
        if isinstance(subdir, str) and not names_the_job(subdir, list(config.hydra.overrides.task)):
            fail(  # a review: job 2 was refused, and the summary gave job 1's run job 2's overrides
                f"hydra.sweep.subdir={subdir} gives several jobs of the sweep the same folder; leave it out (each "
                "job's number) or make it name the job, e.g. ${hydra.job.num}_${hydra.job.override_dirname}, or "
                "every swept key"
            )


JOB_NAMES = ("hydra.job.num", "hydra.job.id", "hydra.job.override_dirname")  # differ from job to job


def names_the_job(subdir: str, overrides: list[str]) -> bool:
    """Whether a sweep's `subdir` (unresolved) differs from job to job: it interpolates one of `JOB_NAMES` or every
    key the command line sweeps (`seed=1,2`, `lr=range(...)`; a review: one of two let jobs share a folder)."""
    from textgru.command_line_checks import read_override

    # as Hydra reads them: a list ([100,200]) or a quoted comma is one value (a review: such sweeps were refused)
    swept = {o.get_key_element().lstrip("+~") for o in map(read_override, overrides) if o.is_sweep_override()}
    refs = {r.replace("hydra:", "hydra.", 1) for r in re.findall(r"\$\{([^}]+)\}", subdir)}  # ${hydra:job.num}
    return bool(refs & set(JOB_NAMES)) or (bool(swept) and swept <= refs)


def refuse_used_sweep_folder(folder: Path, setting: str) -> None:
    """One line if the sweep folder `folder` (given as `setting`) already holds files."""
    held = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if held:
        raise TextgruError(
            f"{setting}={folder} already holds {', '.join(held[:3])}{' ...' if len(held) > 3 else ''}; "
            "choose a new folder so that nothing in it is overwritten"
        )


class SweepSummary(Callback):
    """Hydra callback: when a multirun ends, summarise its runs in the sweep folder and print the table."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        summarise_sweep(Path(config.hydra.sweep.dir), str(config.get("optimized_metric")), config.get("optimized_mode"))


def summarise_sweep(sweep_dir: Path, metric: str, mode: Any) -> str:
    """`summary.csv`/`summary.md` of the runs in a `-m` sweep's folder (when it ends, or is stopped by Ctrl+C: the
    jobs it finished are kept, and those it never started listed), the table printed. Returns what a stop line adds:
    how many jobs never started ("" for none)."""
    rows = hydra_sweep_rows(sweep_dir)
    if rows:
        markdown = write_summary(sweep_dir, rows, metric, str(mode))
        print(f"\n{markdown}\nwritten to {sweep_dir / 'summary.csv'} and summary.md", flush=True)
    rest = sum(r["status"] == "not started" for r in rows)
    if not rest:
        return ""
    command, taken = unstarted_command(sweep_dir)
    where = f" (the folder the sweep would give it, {taken}, is taken: in a free one)" if taken else ""
    run = f"; run the first{where}: {command}" if command else ""
    return f"; {rest} more job(s) of the sweep never started (summary.md lists them){run}"


def summarise_study(study: Any, study_dir: Path, cfg: DictConfig, base_overrides: list[str]) -> str:
    """An Optuna study's trials as `summary.csv`/`summary.md` in its folder, and its best trial's parameters as
    `best_experiment.yaml`; returns what to print."""
    import optuna

    from textgru.best_experiment import search_settings, write_best_experiment

    settings = search_settings(cfg, base_overrides)  # every trial's, beside its own parameters: said once, as such
    rows = []
    for t in study.trials:  # a trial still running is one a stopped search left: its next call settles it
        state = "stopped" if t.state == optuna.trial.TrialState.RUNNING else t.state.name.lower()
        row = run_row(study_dir / f"trial_{t.number:03d}", {"state": state, **settings, **t.params})
        row.update(_scored_before_a_resume(study_dir / f"trial_{t.number:03d}"))
        row.pop("status")
        rows.append(row)
    searched = list(dict.fromkeys(k for t in study.trials for k in t.params))  # a column each, even if one value
    text = f"\n{write_summary(study_dir, rows, cfg.optimized_metric, cfg.optimized_mode, searched)}\n"
    text += f"written to {study_dir / 'summary.csv'} and summary.md"
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        return text + "\nno trial completed, so there are no best parameters yet"
    best_row = next(r for r in rows if r["run"] == f"trial_{study.best_trial.number:03d}")
    path = study_dir / "best_experiment.yaml"
    write_best_experiment(study, path, cfg.task.name, cfg.optimized_metric, best_row, base_overrides, settings)
    best = study.best_trial
    return (
        text
        + f"\nbest trial {best.number}: {cfg.optimized_metric}={best.value:.4f} {best.params}\n"
        + (f"written as an experiment: {path}")
    )


def _scored_before_a_resume(trial_dir: Path) -> dict[str, Any]:
    """The metrics a trial's study scored it by, where a resume of the trial has changed its metrics.json since: the
    first one kept aside (a review: the summary showed the resumed run's epochs beside the study's old score)."""
    import json

    kept = sorted(
        trial_dir.glob("metrics.before-resume-at-step-*.json"), key=lambda p: int(re.findall(r"\d+", p.name)[0])
    )
    return json.loads(kept[0].read_text(encoding="utf-8")) if kept else {}


def stored_study(study_dir: Path, name: str) -> Any | None:
    """The study `name` as `study_dir/study.db` holds it, or None where there is none yet."""
    import optuna

    from textgru.study_folder import study_storage

    if not (study_dir / "study.db").is_file():
        return None
    try:
        return optuna.load_study(study_name=name, storage=study_storage(study_dir))
    except KeyError:  # the file is there, the study not yet
        return None
