"""What `textgru eval|predict|generate|export|tune|gradient-flow|serve` do with their composed config: call the library,
print for people; the entry points (`textgru.cli`) stay thin (`textgru train`: train_command.py)."""

from __future__ import annotations

import json
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from textgru.config_checks import check_config
from textgru.errors import TextgruError, TrainingStopped


def eval_command(cfg: DictConfig) -> dict:
    """`textgru eval`: score a checkpoint whose task has an eval (`LoadedModel.command_eval`) on its data's split or
    on yours; print the table; write the report to `<run>/eval/` (`eval/<stem>/`: not a run's best; `<name>/`: data=)."""
    from textgru.checkpoint_path import resolve_checkpoint_path
    from textgru.checkpoint_state import changed_since
    from textgru.inference.loaded_model import EvalOptions
    from textgru.inference.loading import load
    from textgru.inference.reports import report_folder
    from textgru.onnx_format import is_export
    from textgru.run_folder import RunFolder

    check_config(cfg, "eval")
    data = OmegaConf.to_container(cfg.data, resolve=True) if cfg.get("data") else None  # data=null: its own data
    if is_export(cfg.ckpt_path):  # an exported folder: the report goes to <folder>/eval
        ckpt, taken = Path(cfg.ckpt_path), set()
        base = (ckpt if ckpt.is_dir() else ckpt.parent) / "eval"
    else:
        ckpt = resolve_checkpoint_path(cfg.ckpt_path)
        run = RunFolder.of_checkpoint(ckpt)  # a review: two joined checkpoints in one folder shared one report
        base = run.eval_dir if ckpt.resolve() == run.best_checkpoint.resolve() else run.eval_dir / ckpt.stem
        taken = {p.stem for p in ckpt.parent.glob("*.ckpt")} - {run.best_checkpoint.stem}  # eval/<stem>/: their own
    out = Path(cfg.output_dir).expanduser() if cfg.output_dir else report_folder(base, data, str(cfg.split), taken)
    target = out / f"{cfg.split}_metrics.json"
    if target.exists() and not cfg.overwrite:
        changed = changed_since(target, ckpt)  # a report of a run evaluated while it trained (a review)
        raise TextgruError(f"{target} exists{changed}; pass overwrite=true or output_dir=<another folder>")
    model = load(ckpt, device=cfg.device)  # its class says what its task's eval is, or that it has none
    options = EvalOptions(cfg.batch_size, str(cfg.precision), out, bool(cfg.overwrite))
    result, table = model.command_eval(data, str(cfg.split), options)
    print(table)
    print(f"metrics: {target}")
    return result


def predict_command(cfg: DictConfig) -> int:
    """Classify texts; a table on a terminal, JSONL to `output=` or to stdout when it is piped, written as the
    predictions are made; returns how many."""
    from textgru.command_io import check_output, read_texts
    from textgru.inference.classifier import Classifier
    from textgru.prediction_output import predictions, show

    check_config(cfg, "predict")
    check_output(cfg.output, cfg.overwrite, cfg.input, cfg.text is None and cfg.input is None, stdout_dash=True)
    classifier = Classifier.load(cfg.ckpt_path, cfg.device)  # first: a forecaster is named as such
    classifier = classifier.with_precision(cfg.precision)
    texts = read_texts(cfg.text, cfg.input, cfg.text_column)
    return show(predictions(classifier, texts, cfg.batch_size, cfg.top_k), cfg.output, cfg.overwrite)


def generate_command(cfg: DictConfig) -> list[str]:
    """Sample from a language-model checkpoint; stream a single sample, print several, JSONL to `output=`."""
    from textgru.command_io import check_output, read_prompt, write_jsonl
    from textgru.command_line_checks import number_option
    from textgru.distributed import check_device
    from textgru.inference.generation import SamplingOptions, encode_prompt
    from textgru.inference.language_model import LanguageModel, greedy_ignores
    from textgru.terminal_text import escaped_controls

    check_config(cfg, "generate")
    stop = cfg.stop if cfg.stop is None or isinstance(cfg.stop, str) else list(cfg.stop)
    stops = [
        str(s).replace("\\n", "\n").replace("\\t", "\t") for s in ([stop] if isinstance(stop, str) else stop or [])
    ]
    sampling = dict(
        max_new_tokens=number_option(cfg, "max_new_tokens", int),
        temperature=number_option(cfg, "temperature"),
        top_k=number_option(cfg, "top_k", int),
        top_p=number_option(cfg, "top_p"),
        repetition_penalty=number_option(cfg, "repetition_penalty"),
        greedy=bool(cfg.greedy),
        num_samples=number_option(cfg, "num_samples", int),
        seed=secrets.randbits(32) if cfg.seed is None else number_option(cfg, "seed", int),  # drawn: written to output=
        stop=stops,
    )
    options = SamplingOptions(**sampling).check()  # a bad value is refused before the model loads
    used = greedy_ignores(sampling)  # said before the prompt is printed; output= records what was given (a review)
    check_output(cfg.output, cfg.overwrite, cfg.prompt_file, reads_stdin=cfg.prompt is None and cfg.prompt_file is None)
    check_device(str(cfg.device))
    prompt = read_prompt(cfg.prompt, cfg.prompt_file)
    lm = LanguageModel.load(cfg.ckpt_path, device=cfg.device)
    encode_prompt(lm.tokenizer, prompt, cfg.allow_unknown)  # refuse a bad prompt before printing anything
    if cfg.seed is None and not options.greedy:  # else a sample worth keeping could not be drawn again (output=
        # records it too); greedy decoding draws nothing (a review: the seed was named as if it mattered)
        print(f"seed={sampling['seed']} (drawn; pass it to draw these samples again)", file=sys.stderr)
    # on a terminal, control characters the model writes (a vocabulary of ANSI sequences) are shown escaped (a review)
    shown = (lambda t: escaped_controls(t, keep="\n\t")) if sys.stdout.isatty() else str
    if options.num_samples == 1:
        print(shown(prompt), end="", flush=True)
        try:  # finally: the text's line ends, also before the line that says it was stopped
            texts = lm.generate(
                prompt, on_text=lambda p: print(shown(p), end="", flush=True), allow_unknown=cfg.allow_unknown, **used
            )
        finally:
            print(flush=True)
    else:
        texts = lm.generate(prompt, allow_unknown=cfg.allow_unknown, **used)
        for i, text in enumerate(texts, 1):
            print(shown(f"===== sample {i} =====\n{prompt}{text}\n"), flush=True)
    if cfg.output:
        write_jsonl(
            [
                {"sample": i, "prompt": prompt, "text": t, **sampling, "allow_unknown": bool(cfg.allow_unknown)}
                for i, t in enumerate(texts, 1)
            ],  # each record redraws its sample: LanguageModel.generate(prompt, **the rest)
            cfg.output,
            cfg.overwrite,
        )
        print(f"wrote {len(texts)} sample(s) to {cfg.output}", file=sys.stderr)
    return texts


def tune_command(cfg: DictConfig) -> float | None:
    """`textgru tune`: the Optuna search named by `hparams_search=NAME`, with the command line's overrides; prints
    the study's summary; returns the best value so far (None before a trial completes)."""
    check_config(cfg, "train")
    if (search := cfg.get("hparams_search")) is None or "study_name" not in search:  # told before the imports below
        lacks = "hparams_search lacks study_name; " if search else ""  # a review: said "name a search space" for it
        raise TextgruError(f"{lacks}name a search space: hparams_search=sentiment or hparams_search=lm")
    from textgru.command_line_checks import command_line_overrides
    from textgru.search_space import check_search_space
    from textgru.study_folder import check_study_folder

    overrides = command_line_overrides()
    space = check_search_space(cfg, overrides)  # likewise
    check_study_folder(study_dir := Path(cfg.paths.run_dir), str(cfg.hparams_search.study_name))
    from textgru.console import route_library_logs
    from textgru.first_imports import imported
    from textgru.mlflow_parent import attach_summary
    from textgru.sweep_summary import stored_study, summarise_study

    imported("textgru.tuning")  # Ctrl+C held until Lightning is imported, as train's
    from textgru.tuning import tune

    route_library_logs()  # once Lightning is imported: it adds a console handler of its own
    started = datetime.now()
    base = [o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "n_trials=", "hparams_search"))]
    try:
        study = tune(cfg, overrides, space=space)
    except (TrainingStopped, KeyboardInterrupt):  # the trials so far are summarised (the stopped one as such)
        if (stopped := stored_study(study_dir, str(cfg.hparams_search.study_name))) is not None:
            print(summarise_study(stopped, study_dir, cfg, base), flush=True)
            attach_summary(cfg, study_dir)  # a review: the stopped search's parent (KILLED) had no summary
        raise
    print(summarise_study(study, study_dir, cfg, base), flush=True)
    attach_summary(cfg, study_dir)
    failed = [t.number for t in study.trials if t.state.name == "FAIL" and (t.datetime_start or started) > started]
    if failed:  # as a -m sweep with a failed job: a script or CI can tell (each said why as it failed)
        folders = ", ".join(str(study_dir / f"trial_{n:03d}") for n in failed)  # a review: numbers, not folders
        raise TextgruError(f"{len(failed)} trial(s) of the search failed: {folders} (see above)")
    return study.best_value if any(t.state.name == "COMPLETE" for t in study.trials) else None


def gradient_flow_command(cfg: DictConfig) -> dict[str, Any]:
    """`textgru gradient-flow`: run, write the PNG and JSON to the run folder, print the summary table."""
    from textgru.gradient_flow import run_gradient_flow

    check_config(cfg, "gradient_flow")
    out_dir = Path(cfg.paths.run_dir)
    results = run_gradient_flow(cfg, out_dir)
    rows = [
        f"| {c} | {r['grad_ratio_init']:.3g} | {r['grad_ratio_trained']:.3g} | {r['test_mse']:.4f} | {r['test_accuracy']:.3f} |"
        for c, r in results["cells"].items()
    ]
    print(
        "| cell | ‖∂L/∂h_1‖/‖∂L/∂h_T‖ at init | after training | test MSE | accuracy |\n| --- | --- | --- | --- | --- |\n"
        + "\n".join(rows)
        + f"\n(constant prediction: MSE {results['constant_mse']:.4f}); written to {out_dir}"
    )
    return results


def export_command(cfg: DictConfig) -> str:
    """`textgru export`: a checkpoint to a folder for onnxruntime (`model.onnx`, `tokenizer.json`, `config.json`);
    says what was written and how close it is to PyTorch."""
    from textgru.onnx_export import export
    from textgru.onnx_format import ExportFolder

    check_config(cfg, "export")
    out = ExportFolder(export(cfg.ckpt_path, cfg.output, format=str(cfg.format), overwrite=bool(cfg.overwrite)))
    config = json.loads(out.config.read_text(encoding="utf-8"))
    files = ", ".join(p.name for p in (out.model, out.tokenizer, out.config) if p.is_file())
    print(
        f"exported the {config['task']} model to {out.path} ({files}); max abs difference to PyTorch on random "
        f"inputs: {config['parity_with_pytorch']['max_abs_diff']:.1e}{' std' if config['task'] == 'forecast' else ''}\n"
        f"run it: textgru.load({str(out.path)!r}), or {out.commands(config['task'])}"
    )
    return str(out.path)


def serve_command(cfg: DictConfig) -> None:
    """`textgru serve`: serve `classifier=` and/or `lm=` on `host:port` until Ctrl+C or SIGTERM."""
    from textgru.serving.limits import Limits
    from textgru.serving.server import serve

    check_config(cfg, "serve")
    limits = Limits.from_mapping(OmegaConf.to_container(cfg.limits, resolve=True))
    serve(
        classifier=cfg.classifier,
        lm=cfg.lm,
        **{k: str(cfg[k]) for k in ("host", "log_level", "root_path")},
        port=int(cfg.port),
        limits=limits,
        max_batch_size=int(cfg.max_batch_size),
        batch_timeout=float(cfg.batch_timeout),
        inner_batch_size=int(cfg.inner_batch_size),
        timeout=float(cfg.timeout),
        threads=None if cfg.threads is None else int(cfg.threads),
        split_rows=int(cfg.split_rows),
        fast_lane=bool(cfg.fast_lane),
        precision=str(cfg.precision),
        request_read_timeout=float(cfg.request_read_timeout),
        limit_concurrency=int(cfg.limit_concurrency),
        allowed_hosts=None if cfg.allowed_hosts is None else [str(name) for name in cfg.allowed_hosts],
    )
