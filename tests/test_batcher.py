"""The server's dynamic batching (`textgru.serving.batcher.TextBatcher`): concurrent requests share one model call and
each gets its own answers; max_batch_size=1 never batches; a failing batch fails only the request that fails; closing
refuses the waiting ones; a big batch of several requests runs in two halves on two threads, cut between requests."""

from __future__ import annotations

import asyncio
import threading

import pytest

from textgru.serving.batcher import BatcherClosed, TextBatcher


class Recorder:
    """A model that answers each text with (text, its position in the call) and records each call's size."""

    def __init__(self, delay: float = 0.0, fail_on: str | None = None) -> None:
        self.calls: list[int] = []
        self.seen: list[str] = []
        self.threads: set[str] = set()
        self.delay, self.fail_on = delay, fail_on
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, texts: list[str]) -> list[tuple[str, int]]:
        self.gate.wait()
        self.calls.append(len(texts))
        self.seen += texts
        self.threads.add(threading.current_thread().name)
        if self.fail_on in texts:
            raise ValueError(f"cannot read {self.fail_on!r}")
        if self.delay:
            threading.Event().wait(self.delay)
        return [(t, i) for i, t in enumerate(texts)]


def requests(n: int) -> list[list[str]]:
    return [[f"r{i}-t{j}" for j in range(1 + i % 3)] for i in range(n)]  # 1-3 texts each


async def submit_all(batcher: TextBatcher, texts: list[list[str]]) -> list[object]:
    return await asyncio.gather(*(batcher.submit(t) for t in texts), return_exceptions=True)


def test_concurrent_requests_share_calls_and_get_their_own_answers() -> None:
    model = Recorder()
    model.gate.clear()  # hold the first call so that the rest queue up behind it
    batcher = TextBatcher(model, max_batch_size=16, batch_timeout=0.05, timeout=10, name="test")

    async def main() -> list[object]:
        task = asyncio.ensure_future(submit_all(batcher, requests(40)))
        await asyncio.sleep(0.2)
        model.gate.set()
        return await task

    try:
        answers = asyncio.run(main())
    finally:
        batcher.close()
    for sent, got in zip(requests(40), answers, strict=True):
        assert [text for text, _ in got] == sent  # its own texts, in order
    assert sum(model.calls) == sum(len(r) for r in requests(40))
    assert max(model.calls) > 3  # requests were batched (3 texts is the most one request has)
    assert len(model.calls) <= 40 // 16 + 2


def test_max_batch_size_one_never_batches() -> None:
    model = Recorder(delay=0.002)
    batcher = TextBatcher(model, max_batch_size=1, batch_timeout=0.05, timeout=10, name="test")
    try:
        answers = asyncio.run(submit_all(batcher, requests(12)))
    finally:
        batcher.close()
    assert sorted(model.calls) == sorted(len(r) for r in requests(12))  # one call per request
    assert [[text for text, _ in a] for a in answers] == requests(12)


def test_a_failing_batch_fails_only_the_request_that_fails_and_the_next_batch_works() -> None:
    model = Recorder(fail_on="bad")
    model.gate.clear()  # the three requests queue up and meet in one call
    batcher = TextBatcher(model, max_batch_size=8, batch_timeout=0.05, timeout=10, name="test")

    async def main() -> list[object]:
        task = asyncio.ensure_future(submit_all(batcher, [["a"], ["x", "bad"], ["b"]]))
        await asyncio.sleep(0.2)
        model.gate.set()
        return await task

    try:
        first = asyncio.run(main())
        second = asyncio.run(submit_all(batcher, [["c"], ["d", "e"]]))
    finally:
        batcher.close()
    assert model.calls[0] == 4  # they were batched, and that call failed
    assert first[0] == [("a", 0)] and first[2] == [("b", 0)]  # then each ran alone: the innocent ones get answers
    assert isinstance(first[1], ValueError) and "bad" in str(first[1])
    assert second == [[("c", 0)], [("d", 1), ("e", 2)]]


class Panic(BaseException):  # what pyo3 raises for a Rust library's panic (a tokenizer's, say): not an Exception
    pass


def test_a_panic_fails_its_request_and_the_batcher_goes_on() -> None:
    """A review: a tokenizer's panic (pyo3's PanicException, a BaseException) ended the batching thread for good;
    every later request waited for its timeout (504) while /health said ok."""

    def panicking(texts: list[str]) -> list[str]:
        if "boom" in texts:
            raise Panic("Regex search error")
        return list(texts)

    batcher = TextBatcher(panicking, max_batch_size=8, batch_timeout=0.01, timeout=5, name="test")
    try:
        first = asyncio.run(submit_all(batcher, [["boom"]]))
        second = asyncio.run(submit_all(batcher, [["fine"]]))
    finally:
        batcher.close()
    assert isinstance(first[0], RuntimeError) and "Panic: Regex search error" in str(first[0])
    assert second == [["fine"]]


def test_timeout_and_close() -> None:
    model = Recorder()
    model.gate.clear()
    batcher = TextBatcher(model, max_batch_size=4, batch_timeout=0.0, timeout=0.3, name="test")

    async def main() -> list[object]:
        return await submit_all(batcher, [["slow"]])

    try:
        (late,) = asyncio.run(main())
        assert isinstance(late, TimeoutError)
    finally:
        model.gate.set()
        batcher.close()
    with pytest.raises(BatcherClosed):
        asyncio.run(batcher.submit(["after close"]))


def test_a_request_that_timed_out_in_the_queue_is_not_computed() -> None:
    model = Recorder()
    model.gate.clear()  # the first request's call blocks; the second waits in the queue past its timeout
    batcher = TextBatcher(model, max_batch_size=1, batch_timeout=0.0, timeout=0.3, name="test")

    async def main() -> list[object]:
        first = asyncio.ensure_future(batcher.submit(["first"]))
        await asyncio.sleep(0.05)
        second = await asyncio.gather(batcher.submit(["gave up"]), return_exceptions=True)
        model.gate.set()
        await asyncio.gather(first, return_exceptions=True)
        return [*second, await batcher.submit(["after"])]

    try:
        gave_up, after = asyncio.run(main())
    finally:
        batcher.close()
    assert isinstance(gave_up, TimeoutError) and after == [("after", 0)]
    assert "gave up" not in model.seen


def test_a_long_batch_runs_in_pieces_and_stops_once_its_requests_gave_up() -> None:
    """Found by a review: one /score request of 40 long texts ran ~75 s after its 504 at 30 s, and every /score
    request behind it timed out too. Long batches now run in pieces of `piece_chars` characters, dropped once no
    request waits; a short batch is one call as before."""
    model = Recorder(delay=0.1)
    batcher = TextBatcher(
        model, max_batch_size=4, batch_timeout=0.0, timeout=0.25, name="test", piece_size=10, cost=len
    )

    async def main() -> list[object]:
        gave_up = await asyncio.gather(batcher.submit([f"text {i:03d}" for i in range(20)]), return_exceptions=True)
        await asyncio.sleep(0.3)  # the piece running at the timeout ends; no other starts
        return [*gave_up, await batcher.submit(["a", "b"]), await batcher.submit(["12345678", "123"])]

    try:
        gave_up, short, two = asyncio.run(main())
    finally:
        batcher.close()
    assert isinstance(gave_up, TimeoutError)
    assert model.calls[:2] == [1, 1] and len(model.calls) <= 6  # 8-character texts: one a piece; not all 20 run
    assert short == [("a", 0), ("b", 1)] and model.calls[-3:] == [2, 1, 1]  # 2 characters: one call; 11: two
    assert two == [("12345678", 0), ("123", 0)]


@pytest.mark.parametrize("split_rows", [4, 0])
def test_a_big_batch_runs_in_two_halves_on_two_threads_cut_between_requests(split_rows: int) -> None:
    model = Recorder(delay=0.05)  # each half takes a while: the two are computed at once
    batcher = TextBatcher(model, 16, batch_timeout=0.2, timeout=10, name="test", split_rows=split_rows)
    try:
        answers = asyncio.run(submit_all(batcher, requests(6)))  # 1, 2, 3, 1, 2, 3 texts: one batch of 12
        lone = asyncio.run(submit_all(batcher, [[f"t{i}" for i in range(12)]]))  # one request is never split
    finally:
        batcher.close()
    assert [[text for text, _ in a] for a in answers] == requests(6)  # each its own texts, in order
    assert lone == [[(f"t{i}", i) for i in range(12)]]
    if split_rows:  # cut at the request boundary nearest the middle: after the third request (6 texts)
        assert model.calls == [6, 6, 12] and len(model.threads) == 2
        assert batcher.stats() == {"batches": 2, "split_batches": 1}
    else:
        assert model.calls == [12, 12] and len(model.threads) == 1
        assert batcher.stats() == {"batches": 2, "split_batches": 0}


def test_stopping_ends_a_long_batch_after_its_current_piece_with_a_503() -> None:
    """Found by a review: a /score of long texts in flight at SIGTERM kept computing piece after piece past uvicorn's
    grace period, and its client got a dropped connection instead of the 503 the README promises."""
    model = Recorder(delay=0.1)
    batcher = TextBatcher(model, max_batch_size=4, batch_timeout=0.0, timeout=30, name="test", piece_size=10, cost=len)

    async def main() -> object:
        task = asyncio.ensure_future(batcher.submit([f"text {i:03d}" for i in range(20)]))
        await asyncio.sleep(0.15)  # the second piece is running
        batcher.stop()
        return (await asyncio.gather(task, return_exceptions=True))[0]

    try:
        refused = asyncio.run(main())
    finally:
        batcher.close()
    assert isinstance(refused, BatcherClosed), refused
    assert len(model.calls) <= 3, model.calls  # not all 20 pieces


def test_requests_join_a_batch_in_pieces_cheapest_first_and_are_answered_when_done() -> None:
    """Found by a review: 64 /predict requests of 256 long texts each became one batch of 16,384 texts; 58 got a 504
    at 30 s while the server computed on for nobody, and a 3-word request waited behind it all (18.8 s). Such a batch
    now runs in pieces: a request is answered once its own texts are done, one that timed out is dropped from the
    pieces after, and a request that arrives meanwhile joins between pieces, the cheapest first."""
    model = Recorder(delay=0.05)
    batcher = TextBatcher(model, max_batch_size=8, batch_timeout=0.0, timeout=1.0, name="test", piece_size=4)
    finished: dict[str, float] = {}

    async def timed(name: str, texts: list[str], after: float = 0.0) -> object:
        await asyncio.sleep(after)
        answer = await asyncio.gather(batcher.submit(texts), return_exceptions=True)
        finished[name] = asyncio.get_running_loop().time()
        return answer[0]

    async def main() -> list[object]:
        long = [f"long-{i}" for i in range(100)]  # 25 pieces of 0.05 s: past the 1 s timeout
        return await asyncio.gather(
            timed("long", long), timed("medium", [f"m-{i}" for i in range(6)]), timed("short", ["hi"], after=0.12)
        )

    try:
        long, medium, short = asyncio.run(main())
    finally:
        batcher.close()
    assert medium == [(f"m-{i}", i) for i in range(4)] + [(f"m-{i}", i - 4) for i in range(4, 6)]  # its own, in order
    assert short == [("hi", 0)]  # joined between pieces, ahead of the long request
    assert finished["short"] < finished["medium"] + 0.2 and finished["short"] < finished["long"] - 0.5
    assert isinstance(long, TimeoutError)
    assert model.seen.index("hi") < model.seen.index("long-10") and len(model.seen) < 6 + 1 + 100, len(model.seen)


def test_a_big_request_is_not_passed_over_until_its_timeout() -> None:
    """Found by a review: cheapest-first let a stream of 300-text requests pass a 600-text one again and again
    until its 504 at 4 s. A request waiting past a quarter of the timeout now goes first."""
    model = Recorder(delay=0.05)
    batcher = TextBatcher(model, max_batch_size=8, batch_timeout=0.0, timeout=2.0, name="test", piece_size=4)

    async def main() -> object:
        stop = False

        async def traffic() -> None:
            while not stop:
                await batcher.submit(["s"] * 3)  # each cheaper than the big request

        big = asyncio.ensure_future(batcher.submit(["b"] * 12))
        clients = [asyncio.ensure_future(traffic()) for _ in range(3)]
        answer = (await asyncio.gather(big, return_exceptions=True))[0]
        stop = True
        await asyncio.gather(*clients, return_exceptions=True)
        return answer

    try:
        answer = asyncio.run(main())
    finally:
        batcher.close()
    assert isinstance(answer, list) and len(answer) == 12, answer


def test_after_a_failed_piece_each_request_runs_alone_in_pieces_and_the_gone_are_skipped() -> None:
    """Found by a review: after a failing piece every unanswered request ran again whole, in one call, also those
    whose clients had gone."""
    model = Recorder(fail_on="bad")
    batcher = TextBatcher(model, max_batch_size=8, batch_timeout=0.05, timeout=10, name="test", piece_size=4)
    model.gate.clear()

    async def main() -> list[object]:
        task = asyncio.ensure_future(submit_all(batcher, [["a1", "a2", "a3"], ["x"] * 5 + ["bad"], ["c"] * 9]))
        await asyncio.sleep(0.2)
        model.gate.set()
        return await task

    try:
        short, bad, long = asyncio.run(main())
    finally:
        batcher.close()
    assert [t for t, _ in short] == ["a1", "a2", "a3"] and isinstance(bad, ValueError)
    assert [t for t, _ in long] == ["c"] * 9
    assert max(model.calls) <= 4, model.calls  # the reruns in pieces too, none of 9 texts at once


def test_a_short_request_is_not_held_behind_every_old_big_one() -> None:
    """Found by a review: once the big requests had waited a quarter of the timeout, all of them went first, oldest
    first, and a one-text request sent then waited behind every one (2.9 s of a 4 s timeout). Only the oldest goes
    first, every other piece; the rest stays cheapest first."""
    model = Recorder(delay=0.02)
    batcher = TextBatcher(model, max_batch_size=16, batch_timeout=0.0, timeout=2.0, name="test", piece_size=4)
    finished: list[str] = []

    async def timed(name: str, texts: list[str], after: float = 0.0) -> None:
        await asyncio.sleep(after)
        await asyncio.gather(batcher.submit(texts), return_exceptions=True)
        finished.append(name)

    async def main() -> None:
        bigs = [timed(f"big{i}", [f"b{i}"] * 40) for i in range(6)]  # 60 pieces of 0.02 s: 1.2 s in all
        await asyncio.gather(*bigs, timed("short", ["hi"], after=0.6))  # the big ones waited past 0.5 s

    try:
        asyncio.run(main())
    finally:
        batcher.close()
    assert "short" not in finished[-2:], finished  # ahead of the big requests still going when it came


def test_a_request_past_its_timeout_gets_a_504_saying_why() -> None:
    """The answer named only an overloaded server, also to a request too big to answer in time (a review)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from textgru.serving.apis import add_predict

    model = Recorder(delay=1.0)
    batcher = TextBatcher(lambda texts: [{"text": t} for t, _ in model(texts)], 8, 0.01, timeout=0.2, name="test")
    app = FastAPI()
    add_predict(app, batcher, {})
    try:
        with TestClient(app) as client:
            r = client.post("/predict", json={"texts": ["a", "b"]})
    finally:
        batcher.close()
    assert r.status_code == 504 and r.json()["error"].startswith("no answer within timeout=0.2 s: the server is busy")
    assert "send fewer or shorter texts" in r.json()["error"] and model.calls == [2]


def test_a_dropped_batch_counts_only_the_requests_that_timed_out(caplog: pytest.LogCaptureFixture) -> None:
    """Found by a review of serving: "its 2 request(s) timed out" counted the request answered before the drop too."""
    model = Recorder(delay=0.05)
    batcher = TextBatcher(model, max_batch_size=8, batch_timeout=0.05, timeout=0.5, name="test", piece_size=4)

    async def main() -> list[object]:
        return await submit_all(batcher, [["short"], [f"long-{i}" for i in range(100)]])  # 25 pieces: past 0.5 s

    caplog.set_level("INFO", logger="textgru.serving")
    try:
        short, long = asyncio.run(main())
        for _ in range(100):  # the batching thread logs once it sees that no request waits
            if "was dropped" in caplog.text:
                break
            threading.Event().wait(0.05)
    finally:
        batcher.close()
    assert short == [("short", 0)] and isinstance(long, TimeoutError), (short, long)
    assert "was dropped: 1 of its 2 request(s) timed out" in caplog.text, caplog.text
