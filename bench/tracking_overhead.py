"""What `logger=mlflow` costs a training run: the same run through the real `textgru train` without and with MLflow
(a fresh SQLite store in a temporary folder), in interleaved rounds so that changes in machine load hit both alike.

Usage: python bench/tracking_overhead.py [--repeats 5] [--out bench/results/tracking_overhead.json] [-- overrides...]
The default is the README's default run (`task=sentiment`, 6 epochs, 4-5 minutes a run on 2 cores); overrides after
`--` shorten it (e.g. `-- trainer.max_epochs=1`). Reported per arm: `train_seconds` (fitting, from metrics.json:
the per-step logging is inside it) and the wall time of the whole command (adds importing MLflow, opening the store,
creating the run, the final metrics and artifacts). Both arms also log CSV, as every run does. The runs start in
the folder the script was run from, so relative paths in the overrides are from there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import add_out_argument, description, parse_args, positive_int, run_main, write_result

ARMS = {"default": [], "mlflow": ["logger=mlflow"]}


def run(arm: str, overrides: list[str], workdir: Path, n: int) -> dict:
    run_dir = workdir / f"{arm}-{n}"
    load = os.getloadavg()[0]
    args = [
        "task=sentiment",
        "trainer.enable_progress_bar=false",
        "logger.tensorboard=false",
        f"hydra.run.dir={run_dir}",
        *ARMS[arm],
        *overrides,
    ]
    if arm == "mlflow":
        args.append(
            f"logger.mlflow.tracking_uri=sqlite:///{workdir / 'store' / 'mlflow.db'}"
        )  # one store, as a user has
    cpu_before = _children_cpu()
    start = time.perf_counter()
    # from the caller's folder, as the other scripts: relative paths in the overrides (data.path=mine.csv) are from
    # there (a review: run from the repository root, they named another file, or one said not to exist)
    r = subprocess.run([sys.executable, "-m", "textgru", "train", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    cpu = _children_cpu() - cpu_before
    if r.returncode != 0:
        raise SystemExit(f"{arm} run {n} failed:\n{r.stderr[-2000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    logging = re.search(
        r"MLflow: (\d+) metric values sent in (\d+) writes; ([\d.]+) s spent logging",
        (run_dir / "train.log").read_text(),
    )
    return {
        "arm": arm,
        "round": n,
        "train_seconds": metrics["train_seconds"],
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "global_step": metrics["global_step"],
        "test/macro_f1": metrics.get("test/macro_f1"),
        "load_before": load,
        "mlflow_values": int(logging.group(1)) if logging else None,
        "mlflow_writes": int(logging.group(2)) if logging else None,
        "mlflow_logging_seconds": float(logging.group(3)) if logging else None,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--repeats", type=positive_int, default=5)
    add_out_argument(parser, "tracking_overhead.json")
    parser.add_argument("overrides", nargs="*", help="after --: overrides for both arms")
    args = parse_args(parser)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.repeats):
            for arm in ARMS if n % 2 == 0 else list(ARMS)[::-1]:  # alternate which arm goes first
                rows.append(run(arm, args.overrides, Path(tmp), n))
                r = rows[-1]
                spent = (
                    f"  MLflow logging {r['mlflow_logging_seconds']:.2f} s"
                    if r["mlflow_logging_seconds"] is not None
                    else ""
                )
                print(
                    f"  round {n} {arm:8} train {r['train_seconds']:7.1f} s  wall {r['wall_seconds']:7.1f} s  "
                    f"cpu {r['cpu_seconds']:7.1f} s{spent}  (load {r['load_before']:.1f})",
                    flush=True,
                )
    summary: dict[str, dict[str, float]] = {}
    print(
        "\n| arm | train_seconds min / median / max | wall seconds min / median / max | CPU seconds min / median / max |"
        "\n|---|---|---|---|"
    )
    for arm in ARMS:
        summary[arm] = {}
        cells = []
        for what in ("train_seconds", "wall_seconds", "cpu_seconds"):
            values = [r[what] for r in rows if r["arm"] == arm]
            summary[arm].update(
                {f"{what}_min": min(values), f"{what}_median": statistics.median(values), f"{what}_max": max(values)}
            )
            cells.append(f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}")
        print(f"| {arm} | " + " | ".join(cells) + " |")
    ratio = {
        k: round(summary["mlflow"][f"{k}_min"] / summary["default"][f"{k}_min"], 4)
        for k in ("train_seconds", "wall_seconds", "cpu_seconds")
    }
    spent = [r["mlflow_logging_seconds"] / r["train_seconds"] for r in rows if r["mlflow_logging_seconds"] is not None]
    logging_share = max(spent) if spent else None  # None: no "MLflow: N metric values sent ..." line in train.log
    print(
        f"\nmlflow / default, min of {args.repeats}: training {ratio['train_seconds']:.3f}x, whole command "
        f"{ratio['wall_seconds']:.3f}x, CPU {ratio['cpu_seconds']:.3f}x; time inside the MLflow logger while fitting: "
        + (
            f"{100 * logging_share:.2f}% of train_seconds at most"
            if spent
            else "unknown (no mlflow run's train.log has the line 'MLflow: N metric values sent in N writes; "
            "S s spent logging'; recorded as null)"
        )
    )
    payload = {"overrides": args.overrides, "rows": rows, "summary": summary, "ratio": ratio}
    write_result(args.out, {**payload, "mlflow_logging_share_max": logging_share})


if __name__ == "__main__":
    run_main(main)
