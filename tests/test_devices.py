"""`device=` of the inference commands and the GPU paths of training. On a machine without a CUDA GPU (CI) the
refusals are checked and the GPU tests skip with their reason; on one with a GPU the same commands run there and
give the CPU's answers (bench/gpu_check.sh runs this file on such a machine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import run_script, run_textgru, tiny_run_args

import textgru
from textgru.distributed import check_device
from textgru.errors import TextgruError

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none here)")
without_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="the error for a machine without a GPU")


def one_error_line(r) -> str:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-2000:]
    return lines[0]


@without_gpu
@pytest.mark.parametrize("command", ["predict", "eval"])
def test_device_cuda_without_a_gpu_is_one_line(tiny_run: Path, tmp_path: Path, command: str) -> None:
    extra = ["text=fine"] if command == "predict" else [f"output_dir={tmp_path / 'ev'}"]
    r = run_textgru(command, f"ckpt_path={tiny_run}", "device=cuda", *extra)
    assert "device=cuda but no CUDA GPU is available here; use device=cpu" in one_error_line(r)
    assert r.stdout == "" and not (tmp_path / "ev").exists()


@pytest.mark.parametrize("command", ["predict", "eval"])
def test_a_device_that_is_not_one_is_one_line(tiny_run: Path, command: str) -> None:
    r = run_textgru(command, f"ckpt_path={tiny_run}", "device=gpu", *(["text=fine"] if command == "predict" else []))
    assert "device=gpu: must be cpu, cuda, cuda:N or mps" in one_error_line(r)


def test_the_cpu_by_any_of_its_names_is_the_cpu(tiny_run: Path) -> None:
    assert [check_device(d) for d in ("cpu", "cpu:0", "CPU", "Cpu:0")] == ["cpu"] * 4
    with pytest.raises(TextgruError, match="^device='cpu:1': use cpu"):
        check_device("cpu:1")
    r = run_textgru("predict", f"ckpt_path={tiny_run}", "device=cpu:0", "text=fine")
    assert r.returncode == 0 and r.stdout.strip(), r.stderr[-2000:]
    assert textgru.load(tiny_run, device="CPU:0").device == torch.device("cpu")
    with pytest.raises(TextgruError, match="^device='0': use cpu"):  # not the CPU without a word (a review)
        textgru.load(tiny_run, device=0)


def test_check_device_names_the_gpus_there_are(monkeypatch: pytest.MonkeyPatch) -> None:
    check_device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_device("cuda:1")
    with pytest.raises(TextgruError, match=r"^device=cuda:2 but this machine has 2 GPUs: use cuda:0 to cuda:1$"):
        check_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(TextgruError, match=r"^device=cuda:1 but this machine has 1 GPU: use cuda:0$"):
        check_device("cuda:1")
    if not torch.backends.mps.is_available():
        with pytest.raises(TextgruError, match="device=mps but Apple's Metal"):
            check_device("mps")


@needs_gpu
def test_predict_and_eval_on_the_gpu_give_the_cpus_answers(tiny_run: Path, tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("a fine film\nnot good at all\nit was a film\n" * 20)
    runs = {
        d: run_textgru(
            "predict", f"ckpt_path={tiny_run}", f"input={texts}", f"output={tmp_path / d}.jsonl", f"device={d}"
        )
        for d in ("cpu", "cuda")
    }
    assert all(r.returncode == 0 for r in runs.values()), [r.stderr[-2000:] for r in runs.values()]
    cpu, gpu = ([json.loads(x) for x in (tmp_path / f"{d}.jsonl").read_text().splitlines()] for d in ("cpu", "cuda"))
    assert [p["label"] for p in cpu] == [p["label"] for p in gpu] and len(cpu) == 60
    worst = max(abs(a["probs"][k] - b["probs"][k]) for a, b in zip(cpu, gpu, strict=True) for k in a["probs"])
    assert worst < 1e-4, worst
    for d in ("cpu", "cuda"):
        r = run_textgru("eval", f"ckpt_path={tiny_run}", f"device={d}", f"output_dir={tmp_path / ('ev_' + d)}")
        assert r.returncode == 0, r.stderr[-2000:]
    cpu, gpu = (json.loads((tmp_path / f"ev_{d}" / "test_metrics.json").read_text()) for d in ("cpu", "cuda"))
    assert abs(cpu["macro_f1"] - gpu["macro_f1"]) < 1e-6


@needs_gpu
@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_training_on_the_gpu_writes_a_checkpoint_the_cpu_loads(small_csv: Path, tmp_path: Path, precision: str) -> None:
    import textgru

    run = tmp_path / "run"
    r = run_script(
        "train", *tiny_run_args(small_csv), "trainer=gpu", f"trainer.precision={precision}", f"hydra.run.dir={run}"
    )
    assert r.returncode == 0, r.stderr[-3000:]
    clf = textgru.load(run)  # on the CPU by default: the GPU's tensors are mapped there
    assert clf.device == torch.device("cpu") and clf.predict("a fine film").label in clf.label_names
    assert textgru.load(run, device="cuda").device.type == "cuda"
