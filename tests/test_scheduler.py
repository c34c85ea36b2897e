"""The /generate scheduler alone (`textgru.serving.scheduler.StreamScheduler`, no HTTP): a long prompt is read on the
prompt thread while the running streams go on stepping, and its generation still equals its solo run."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
import torch
from conftest import tok_cfg
from torch import nn

from textgru.data.tokenization import train_tokenizer
from textgru.inference.generation import SamplingOptions, generate
from textgru.models.gru_lm import GRULanguageModel
from textgru.serving.prompt_reader import LONG_PROMPT_TOKENS
from textgru.serving.scheduler import StreamScheduler

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\n\nJULIET:\nO Romeo, Romeo!\n"


class GatedPromptReads(nn.Module):
    """The model, except that reading a long prompt (a call without a hidden state) waits for `gate`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.gate, self.waiting = model, threading.Event(), threading.Event()
        self.long_reads = 0

    def forward(self, ids: torch.Tensor, hidden: torch.Tensor | None = None):
        if hidden is None and ids.shape[1] >= LONG_PROMPT_TOKENS:
            self.long_reads += 1
            self.waiting.set()
            assert self.gate.wait(60), "the long prompt's read was never let go"
        return self.model(ids, hidden)


@pytest.fixture(scope="module")
def lm() -> SimpleNamespace:
    tok = train_tokenizer([TEXT], tok_cfg("char", vocab_size=1000, min_frequency=1, unicode_form=None))
    torch.manual_seed(0)
    model = GRULanguageModel(tok.get_vocab_size(), embedding_dim=8, hidden_size=32, num_layers=2).eval()
    return SimpleNamespace(model=model, tokenizer=tok)


def run(scheduler: StreamScheduler, prompt: str, options: SamplingOptions, tokenizer) -> tuple[threading.Event, dict]:
    """Submit one generation; returns (its end, its final `done` event's data; its `Generation` under "gen")."""
    ended, result = threading.Event(), {}

    def deliver(events: list) -> None:
        for kind, data in events:
            if kind in ("done", "error"):
                result[kind] = data
                ended.set()

    result["gen"] = scheduler.submit(tokenizer.encode(prompt).ids, options.check(), False, deliver)
    return ended, result


def test_a_long_prompt_is_read_beside_the_running_streams(lm: SimpleNamespace) -> None:
    gated = GatedPromptReads(lm.model)
    scheduler = StreamScheduler(SimpleNamespace(model=gated, tokenizer=lm.tokenizer), max_streams=4, threads=1)
    long_prompt = (TEXT * (LONG_PROMPT_TOKENS // len(TEXT) + 2))[: LONG_PROMPT_TOKENS + 10]
    options = [SamplingOptions(max_new_tokens=30, seed=s, temperature=0.9) for s in (1, 2)]
    try:
        long_end, long_result = run(scheduler, long_prompt, options[0], lm.tokenizer)
        assert gated.waiting.wait(30)  # its read has begun, on the prompt thread, and is held there
        short_end, short_result = run(scheduler, "ROMEO:", options[1], lm.tokenizer)
        assert short_end.wait(30), "a short generation waited for the long prompt's read"  # it stepped meanwhile
        assert not long_end.is_set()
        gated.gate.set()
        assert long_end.wait(30)
    finally:
        gated.gate.set()
        scheduler.close()
    with torch.inference_mode():
        alone = [generate(lm.model, lm.tokenizer, p, o) for p, o in ((long_prompt, options[0]), ("ROMEO:", options[1]))]
    assert long_result["done"]["samples"][0]["text"] == alone[0][0]
    assert short_result["done"]["samples"][0]["text"] == alone[1][0]
    assert scheduler.stats()["active"] == 0


def test_a_cancelled_long_prompt_holds_its_slot_until_its_read_ends_and_a_queued_one_is_not_read(
    lm: SimpleNamespace,
) -> None:
    """Clients that send long prompts and leave must not queue reads beyond `max_streams` (a flood of them stalled
    the prompt thread for 40 s): a read cannot stop, so its slot is held until it ends; a read not begun is dropped
    and its slot freed at once (it was held until the reads before it ended: abandoned long prompts got others 429s)."""
    gated = GatedPromptReads(lm.model)
    scheduler = StreamScheduler(SimpleNamespace(model=gated, tokenizer=lm.tokenizer), max_streams=2, threads=1)
    long_prompt = (TEXT * (LONG_PROMPT_TOKENS // len(TEXT) + 2))[: LONG_PROMPT_TOKENS + 10]
    options = SamplingOptions(max_new_tokens=5, seed=1)
    try:
        _, first = run(scheduler, long_prompt, options, lm.tokenizer)
        assert gated.waiting.wait(30)  # the first read is held; the second waits behind it
        second_end, second = run(scheduler, long_prompt, options, lm.tokenizer)
        deadline = time.monotonic() + 30
        while second["gen"] not in scheduler.prompts.reading and time.monotonic() < deadline:
            time.sleep(0.01)  # queued on the prompt thread behind the first
        for result in (first, second):
            scheduler.cancel(result["gen"])  # both clients leave
        assert scheduler.stats()["active"] == 1  # the read in progress holds its slot; the queued one's is free
        gated.gate.set()
        deadline = time.monotonic() + 30
        while scheduler.stats()["active"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert scheduler.stats()["active"] == 0  # freed once the reads ended
    finally:
        gated.gate.set()
        scheduler.close()
    assert gated.long_reads == 1 and not second_end.is_set()  # the second prompt was never read, nor answered


def test_batch_rows_stay_one_batch_until_a_generation_joins_or_leaves() -> None:
    """The running rows are read as the last step left them while nobody joins or leaves (no copy); when a
    generation leaves and another joins, each keeps its own rows (its samples' logits and hidden state)."""
    from textgru.serving.batch_rows import BatchRows
    from textgru.serving.generation import Generation

    def gen(samples: int) -> Generation:
        return Generation([1], SamplingOptions(num_samples=samples).check(), False, lambda events: None)

    a, b, c = gen(1), gen(2), gen(1)
    logits = torch.arange(3.0)[:, None].expand(3, 4)  # (rows, vocab): row r holds r
    hidden = torch.arange(3.0)[None, :, None].expand(2, 3, 5)  # (layers, rows, hidden)
    rows = BatchRows()
    rows.update([a, b], logits, hidden)
    assert rows.logits([a, b]) is logits and rows.hidden([a, b]) is hidden
    c.logits, c.hidden = torch.full((1, 4), 9.0), torch.full((2, 1, 5), 9.0)  # just joined: its prompt read
    assert rows.logits([b, c])[:, 0].tolist() == [1.0, 2.0, 9.0]  # a left: b's two rows, then c's
    assert rows.hidden([b, c])[1, :, 0].tolist() == [1.0, 2.0, 9.0]
    assert rows.logits([a, c])[:, 0].tolist() == [0.0, 9.0]


def test_a_step_of_one_row_is_never_cut_in_two(lm: SimpleNamespace) -> None:
    """A review: a step of one row was cut into halves of 0 and 1 rows, and onnxruntime aborts the whole server on
    a batch of 0 (`textgru serve lm=<export> split_rows=1`); build_server and the command line refuse 1 too."""
    from textgru.errors import TextgruError
    from textgru.serving.limits import check_batching
    from textgru.serving.two_threads import TwoThreads, split_step

    rows_seen: list[int] = []

    class Counted(nn.Module):
        def forward(self, ids: torch.Tensor, hidden: torch.Tensor):
            rows_seen.append(ids.shape[0])
            return lm.model(ids, hidden)

    two = TwoThreads(1)
    try:
        for rows in (1, 2):
            hidden = torch.zeros(2, rows, 32)
            with torch.inference_mode():
                logits, new_hidden = split_step(two, Counted(), torch.full((rows,), 3), hidden)
            assert logits.shape[0] == rows and new_hidden.shape == (2, rows, 32)
    finally:
        two.close()
    assert rows_seen == [1, 1, 1] and two.splits == 1  # one row whole; two rows one each, on two threads
    with pytest.raises(TextgruError, match=r"^split_rows=1 must be 0 \(never split a model call in two halves\) or"):
        check_batching(64, 0.005, 32, 30, 1, 1, True)
    check_batching(64, 0.005, 32, 30, 2, 1, True)
    check_batching(64, 0.005, 32, 30, 0, 1, True)
