"""The bf16 classifier forward (`textgru.inference.fused_bigru`, `Classifier.with_precision`) and batches run side by
side on CPU threads (`textgru.inference.parallel_batches`)."""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from conftest import run_textgru

import textgru
from textgru.errors import TextgruError
from textgru.inference import fused_weights
from textgru.inference.fused_bigru import FusedGRUClassifier
from textgru.inference.parallel_batches import run_batches
from textgru.models.gru_classifier import GRUClassifier


def random_batch(n: int, longest: int, vocab: int = 50, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (n, longest) of random lengths 1..longest in no order, padded with 0."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, longest + 1, (n,), generator=g)
    lengths[0] = longest
    ids = torch.randint(2, vocab, (n, longest), generator=g)
    ids[torch.arange(longest) >= lengths.unsqueeze(1)] = 0
    return ids, lengths


def model(layers: int, bidirectional: bool, pooling: str, seed: int = 0) -> GRUClassifier:
    torch.manual_seed(seed)
    return GRUClassifier(
        50, 3, embedding_dim=16, hidden_size=24, num_layers=layers, bidirectional=bidirectional, pooling=pooling
    ).eval()


@pytest.mark.parametrize("table", [True, False])
@pytest.mark.parametrize("pooling", ["mean", "max", "meanmax", "last"])
@pytest.mark.parametrize("layers,bidirectional", [(1, True), (2, True), (1, False), (2, False)])
def test_the_loop_in_fp32_is_the_model(
    layers: int, bidirectional: bool, pooling: str, table: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same loop with fp32 products gives the model's logits: the equations, the first layer's input part looked
    up per token (or, over `TABLE_BYTES`, multiplied at each step), the in-length reversal, the shrinking set of
    running texts (more than SHAPE_STEP rows), the layers' hand-over and the pooling."""
    if not table:
        monkeypatch.setattr(fused_weights, "TABLE_BYTES", 0)
    m = model(layers, bidirectional, pooling)
    ids, lengths = random_batch(70, 40)
    with torch.inference_mode():
        expected = m(ids, lengths)
        fused = FusedGRUClassifier(m, torch.float32)
        got = fused(ids, lengths)
    assert fused.table is table and hasattr(fused, "token_table") is table
    assert (got - expected).abs().max().item() < 1e-5


@pytest.mark.parametrize("layers", [1, 2])
def test_bf16_is_close_and_padding_exact(layers: int) -> None:
    m = model(layers, True, "meanmax")
    fused = FusedGRUClassifier(m)
    ids, lengths = random_batch(64, 30, seed=1)
    with torch.inference_mode():
        expected = torch.softmax(m(ids, lengths), -1)
        together = torch.softmax(fused(ids, lengths), -1)  # (64, classes)
        alone = torch.cat(
            [torch.softmax(fused(ids[i : i + 1, : lengths[i]], lengths[i : i + 1]), -1) for i in range(16)]
        )
    assert (together - expected).abs().max().item() < 1e-2  # bf16 products: ~1e-3 measured
    assert (together - expected).abs().max().item() > 0  # it did compute in bf16
    assert (together[:16] - alone).abs().max().item() < 1e-6  # a text's answer does not depend on its batch


def test_what_the_loop_cannot_run_is_one_line() -> None:
    with pytest.raises(TextgruError, match="pools by 'attention'.*precision=fp32"):
        FusedGRUClassifier(model(1, True, "attention"))
    torch.manual_seed(0)
    reference = GRUClassifier(50, 3, embedding_dim=8, hidden_size=8, rnn="reference").eval()
    with pytest.raises(TextgruError, match="reference GRU"):
        FusedGRUClassifier(reference)


@pytest.fixture(scope="module")
def clf(tiny_run: Path) -> textgru.Classifier:
    return textgru.load(tiny_run)


def test_classifier_in_bf16(clf: textgru.Classifier) -> None:
    texts = ["a fine film", "dull and slow", "", "ok " * 200] + [f"text number {i} good" for i in range(40)]
    bf16 = clf.with_precision("bf16")
    assert clf.precision == "fp32" and bf16.precision == "bf16" and "precision=bf16" in repr(bf16)
    assert isinstance(bf16.forward, FusedGRUClassifier) and clf.forward is clf.model
    p32, p16 = clf.predict_proba(texts, batch_size=8), bf16.predict_proba(texts, batch_size=8)
    assert (p32 - p16).abs().max().item() < 1e-2
    assert [p.label for p in clf.predict(texts)] == [p.label for p in bf16.predict(texts)]
    assert clf.with_precision("fp32").predict_proba(texts).equal(clf.predict_proba(texts))
    with pytest.raises(TextgruError, match="precision='fp16' is not one of fp32, bf16"):
        clf.with_precision("fp16")


class Spy(torch.nn.Module):
    """A classifier's model that records which thread ran each batch on how many torch threads, and can fail."""

    def __init__(self, inner: torch.nn.Module, fail_at: int = 0) -> None:
        super().__init__()
        self.inner, self.fail_at, self.calls = inner, fail_at, []

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        self.calls.append((threading.current_thread().name, torch.get_num_threads()))
        if len(self.calls) == self.fail_at:
            raise RuntimeError("a batch broke")
        time.sleep(0.01)
        return self.inner(ids, lengths)


def test_batches_side_by_side_give_the_same_answers(clf: textgru.Classifier) -> None:
    """With 2 torch threads, 8+ batches run on 2 threads of one core each: the same probabilities as one thread
    running them all; the caller's thread count, and that of threads started later, untouched; an error in a batch
    raised to the caller, the other thread stopping early."""
    texts = [("great fun " * (i % 7)) + f"word{i}" for i in range(80)]  # 10 batches of 8
    before = torch.get_num_threads()
    later: list[int] = []
    try:
        torch.set_num_threads(1)
        one = clf.predict_proba(texts, batch_size=8)
        torch.set_num_threads(2)
        spied = copy.copy(clf)
        spied.model = Spy(clf.model)
        assert spied.predict_proba(texts, batch_size=8).equal(one)
        assert torch.get_num_threads() == 2
        thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        calls = spied.model.calls
        assert len(calls) == 10 and {n for _, n in calls} == {1} and len({name for name, _ in calls}) == 2
        assert spied.predict_proba(texts[:24], batch_size=8).equal(one[:24])  # 3 batches: here, on both cores
        assert [n for _, n in calls[10:]] == [2, 2, 2] and {name for name, _ in calls[10:]} == {"MainThread"}
        spied.model = Spy(clf.model, fail_at=2)
        with pytest.raises(RuntimeError, match="a batch broke"):
            spied.predict_proba(texts, batch_size=8)
        assert len(spied.model.calls) <= 4  # the other thread stopped after its current batch
    finally:
        torch.set_num_threads(before)
    assert later == [2]


def test_predict_after_the_main_thread_ends(tiny_run: Path) -> None:
    """A thread still predicting while Python shuts down (no new threads then) runs its batches itself."""
    code = (
        "import sys, threading, time, torch, textgru\n"
        "torch.set_num_threads(2)\n"
        "clf = textgru.load(sys.argv[1])\n"
        "texts = [f'text {i} ' + 'good ' * (i % 20) for i in range(100)]\n"
        "def work():\n"
        "    time.sleep(0.5)\n"
        "    print('shape', tuple(clf.predict_proba(texts, batch_size=8).shape), flush=True)\n"
        "threading.Thread(target=work).start()\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(tiny_run)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "shape (100, " in r.stdout, r.stderr[-2000:]


def test_the_bf16_forward_follows_the_model(clf: textgru.Classifier) -> None:
    """Replacing `clf.model` changes the answers in either precision (the bf16 forward is rebuilt for it)."""
    texts = ["a fine film", "dull and slow"]
    for precision in ("fp32", "bf16"):
        other = clf.with_precision(precision)
        other.model = copy.deepcopy(clf.model)
        with torch.no_grad():
            other.model.head.weight.zero_()
            other.model.head.bias.zero_()
        classes = len(clf.label_names)
        assert torch.allclose(other.predict_proba(texts), torch.full((2, classes), 1 / classes))
        assert not torch.allclose(clf.with_precision(precision).predict_proba(texts), other.predict_proba(texts))


def fused_adam_step(gru: torch.nn.Module) -> None:
    """One step of a fused optimizer: it writes the weights without bumping autograd's version counter."""
    for p in gru.parameters():
        p.grad = torch.randn_like(p)
    torch.optim.Adam(gru.parameters(), lr=0.05, fused=True).step()


def test_the_bf16_forward_follows_changed_gru_weights(clf: textgru.Classifier) -> None:
    """Any change to the GRU's weights (an optimizer step, fused or not, `load_state_dict`, a `.data` write) or to
    the embedding (which the first layer's table holds) is seen by the next bf16 prediction; a pooling the loop
    cannot take, swapped in, is one line."""
    texts = ["a fine film", "dull and slow", "what a day"]
    fp32 = clf.with_precision("fp32")
    fp32.model = copy.deepcopy(clf.model)
    bf16 = clf.with_precision("bf16")
    bf16.model = fp32.model
    before = bf16.predict_proba(texts)
    changes = [
        lambda gru: gru.weight_hh_l0.mul_(-1.0),  # in place, as an optimizer step writes
        lambda gru: gru.load_state_dict({k: 0.2 * torch.randn_like(v) for k, v in gru.state_dict().items()}),
        lambda gru: gru.weight_ih_l0.data.copy_(0.2 * torch.randn_like(gru.weight_ih_l0)),  # bypasses autograd
        fused_adam_step,
    ]
    for change in [*changes, lambda _: fp32.model.embedding.weight.data.mul_(-1.0)]:
        with torch.no_grad():
            change(fp32.model.rnn.forward_layers[0])
        now, after = fp32.predict_proba(texts), bf16.predict_proba(texts)
        stale = (before - now).abs().max().item()  # what the copy made before the change would be off by
        assert (after - now).abs().max().item() < stale / 5, stale
        before = after
    fp32.model.pool.kind = "attention"
    with pytest.raises(TextgruError, match="pools by 'attention'"):
        bf16.predict_proba(texts)


class Doubled(torch.nn.Embedding):
    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return 2 * super().forward(ids)


def test_when_the_table_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-token table is made only for a plain embedding lookup (no `max_norm`, no hooks: the table would skip
    them) whose table and copy fit in TABLE_BYTES; otherwise the per-step product gives the model's answers too. A
    weight swapped in with another number of rows (`num_embeddings` left stale) is read by its shape, and a NaN
    weight does not make `current` false at every call."""
    ids, lengths = random_batch(20, 12)

    def check(m: GRUClassifier, table: bool) -> FusedGRUClassifier:
        fused = FusedGRUClassifier(m, torch.float32)
        assert fused.table is table
        with torch.inference_mode():
            assert (fused(ids, lengths) - m(ids, lengths)).abs().max().item() < 1e-5
        return fused

    m = model(1, True, "meanmax")
    size = 50 * (2 * 3 * 24 + 16) * 4  # rows x (directions x 3 hidden + embedding) x 4 bytes
    monkeypatch.setattr(fused_weights, "TABLE_BYTES", size)
    check(m, True)
    monkeypatch.setattr(fused_weights, "TABLE_BYTES", size - 1)
    check(m, False)
    monkeypatch.undo()
    m.embedding.max_norm = 0.5  # the lookup renormalises rows: only the embedding's own forward does that
    check(m, False)
    m.embedding.max_norm = None
    fused = check(m, True)
    hook = m.embedding.register_forward_hook(lambda module, args, out: out * 2)
    assert not fused.current  # a hook added after the table was made: rebuilt, without the table
    check(m, False)
    hook.remove()
    embedding, m.embedding = m.embedding, Doubled(50, 16)  # a subclass with its own forward: run as it is
    check(m, False)
    m.embedding = torch.nn.Sequential(embedding)  # not an embedding at all: one line
    with pytest.raises(TextgruError, match="reads an nn.Embedding; this classifier's embedding is a Sequential"):
        FusedGRUClassifier(m)
    m.embedding = embedding
    m.embedding.weight = torch.nn.Parameter(torch.randn(60, 16))  # num_embeddings still says 50
    check(m, True)
    with torch.no_grad():
        m.embedding.weight[59, 0] = float("nan")  # a row no text here reads
    assert check(m, True).current


def test_fused_module_edges() -> None:
    torch.manual_seed(0)
    m = GRUClassifier(50, 3, embedding_dim=16, hidden_size=24).eval()
    for gru in (*m.rnn.forward_layers, *m.rnn.backward_layers):  # a GRU without biases: zeros where they would be
        gru.bias = False
        del gru.bias_ih_l0, gru.bias_hh_l0
        gru._flat_weights_names = ["weight_ih_l0", "weight_hh_l0"]
        gru._init_flat_weights()
    ids, lengths = random_batch(20, 12)
    fused = FusedGRUClassifier(m, torch.float32)
    with torch.inference_mode():
        assert (fused(ids, lengths) - m(ids, lengths)).abs().max().item() < 1e-5
    assert "layer0" in dict(fused.named_buffers())  # `.to(device)` moves the stacked weights
    with pytest.raises(ValueError, match="at least one token"):
        fused(ids, torch.where(torch.arange(20) == 3, 0, lengths))
    with pytest.raises(TextgruError, match="float32 model; this one is torch.float64"):
        FusedGRUClassifier(model(1, True, "mean").double())


def test_predict_and_eval_take_precision(tiny_run: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return run_textgru(*args)

    r = run("predict", f"ckpt_path={tiny_run}", "text=a fine film", "precision=bf16")
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"label"' in r.stdout
    r = run("eval", f"ckpt_path={tiny_run}", "precision=bf16", f"output_dir={tmp_path / 'ev'}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"precision": "bf16"' in (tmp_path / "ev" / "test_metrics.json").read_text()
    r = run("predict", f"ckpt_path={tiny_run}", "text=x", "precision=fp16")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == ["error: precision=fp16: must be one of fp32, bf16"]


def test_serve_takes_precision(tiny_run: Path) -> None:
    pytest.importorskip("fastapi", reason="serving needs the serve extra")
    from fastapi.testclient import TestClient

    from textgru.serving import build_server

    texts = ["a fine film", "dull and slow", "ok"]
    expected = [p.label for p in textgru.load(tiny_run).predict(texts)]
    with TestClient(build_server(tiny_run, precision="bf16", threads=None), base_url="http://localhost") as client:
        assert client.get("/info").json()["models"]["classifier"]["precision"] == "bf16"
        answer = client.post("/predict", json={"texts": texts}).json()["predictions"]
    assert [p["label"] for p in answer] == expected


def test_ctrl_c_waits_for_the_batches_in_flight() -> None:
    """Ctrl+C while batches run side by side: KeyboardInterrupt reaches the caller only after every worker has left
    its batch (else Python may exit with one inside torch: an abort), and the rest of the batches are skipped."""
    ran: list[int] = []

    def run(batch: int) -> None:
        time.sleep(0.1)
        ran.append(batch)

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Python runs signal handlers in the main thread only")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    main = threading.get_ident()
    timer = threading.Timer(0.25, lambda: signal.pthread_kill(main, signal.SIGINT))  # Ctrl+C, to the waiting thread
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)  # pytest-xdist's workers ignore SIGINT
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            run_batches(run, list(range(40)), torch.nn.Linear(1, 1))
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, handler)
        torch.set_num_threads(before)
    assert not [t for t in threading.enumerate() if t.name.startswith("textgru-batches")]
    assert 2 <= len(ran) < 20
