"""The web page at / in a real browser (Playwright driving Debian's Chromium): classify as you type, watch a
generation stream in, see a server error on the page; a screenshot is saved beside the test's output."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install -e '.[serve]')")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "no Chromium here (apt-get install -y chromium); the page test needs a real browser", allow_module_level=True
    )

import httpx  # noqa: E402
from serve_helpers import Served, start, stop  # noqa: E402

import textgru  # noqa: E402

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def served(tiny_run: Path, lm_run: Path, tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("page") / "server.log"
    server = start(
        [
            "scripts/serve.py",
            f"classifier={tiny_run}",
            f"lm={lm_run}",
            "port=0",
            "threads=1",
            "limits.max_new_tokens=3000",
        ],
        log,
    )
    yield server
    assert stop(server), "the server did not stop on SIGTERM:\n" + server.log_tail()


def test_page_classifies_as_you_type_and_streams_text(
    served: Served, tiny_run: Path, lm_run: Path, tmp_path: Path
) -> None:
    clf, lm = textgru.Classifier.load(tiny_run), textgru.LanguageModel.load(lm_run)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1000}, bypass_csp=True)  # wait_for_function
            page.goto(served.url + "/")
            page.wait_for_selector("#classify:not([hidden])")
            page.wait_for_selector("#generate:not([hidden])")
            assert "classifier" in page.text_content("#summary") and "language model" in page.text_content("#summary")
            assert page.input_value("#prompt") == "ROMEO:"  # /info's example prompt: this model reads it
            assert str(tiny_run) in page.text_content("#model-info")  # /info: the checkpoint, labels, metrics
            assert "test/macro_f1" in page.text_content("#model-info")
            # an accessibility review: the output unnamed, right-to-left text drawn left-to-right, the classifier's
            # max_length unsaid, the New tokens box without the server's cap, textarea borders 1.35:1 on white
            assert page.get_attribute("#output", "role") == "region"
            assert page.get_attribute("#output", "aria-label") == "Generated text"
            assert [page.get_attribute(f"#{i}", "dir") for i in ("text", "prompt", "output")] == ["auto"] * 3
            assert "256 tokens" in page.text_content("#model-info")
            assert page.get_attribute("#max_new_tokens", "max") == "3000"
            border = page.eval_on_selector("#text", "e => getComputedStyle(e).borderTopColor")
            assert _contrast_on_white(border) >= 3, border

            text = "what a good great wonderful day"
            page.locator("#text").press_sequentially(text, delay=15)  # typed: the request waits for a pause
            expected = clf.predict(text)
            page.wait_for_function(f"document.getElementById('label').textContent === {json.dumps(expected.label)}")
            page.wait_for_function("document.querySelectorAll('#bars .bar').length === 3")
            shown = page.eval_on_selector_all("#bars .value", "els => els.map(e => e.textContent)")
            assert shown == [f"{v:.3f}" for v in expected.probs.values()]
            said = ", ".join(f"{k} {100 * v:.1f}%" for k, v in expected.probs.items())  # the bars read out (a review)
            assert page.get_attribute("#bars", "aria-label") == f"probability per label: {said}"
            page.fill("#text", "good " * 257)  # past max_length=256 tokens: said under the label
            page.wait_for_selector("#cut-note:not([hidden])")
            assert "first 256 tokens" in page.text_content("#cut-note")
            page.fill("#text", "עברית טובה")  # drawn right to left
            assert page.eval_on_selector("#text", "e => e.matches(':dir(rtl)')")
            page.wait_for_selector("#cut-note", state="hidden")
            assert page.text_content("#cut-note") == ""  # a hidden note still describes the box (a review)
            page.fill("#text", "\u0085\u001c \u200b")  # nothing visible: not sent (the server's 422 for empty texts)
            page.wait_for_function("document.getElementById('label').textContent === '\u2013'")
            page.wait_for_timeout(1000)  # past the typing pause: no request, so no error either
            assert page.is_hidden("#classify-error") and page.text_content("#label") == "\u2013"
            assert page.text_content("#score") == "nothing visible to classify"  # said (a review: nothing shown)
            page.fill("#text", "\u3164\u2800\u115f\u1160\uffa0")  # blank fillers (a review: sent and labelled)
            page.wait_for_timeout(1000)
            assert page.text_content("#label") == "\u2013" and "nothing visible" in page.text_content("#score")
            page.fill("#text", "\u0001\u0002\u007f\u009f")  # control characters (a review: sent and labelled)
            page.wait_for_timeout(1000)
            assert page.text_content("#label") == "\u2013" and "nothing visible" in page.text_content("#score")

            page.evaluate("""() => {  // the output's length each time the page changes it, and what is said of it
                window.lengths = [];
                window.said = [];
                const out = document.getElementById('output-text');
                new MutationObserver(() => window.lengths.push(out.textContent.length))
                    .observe(out, {childList: true, characterData: true, subtree: true});
                const live = document.getElementById('gen-said');
                new MutationObserver(() => window.said.push(live.textContent))
                    .observe(live, {childList: true, characterData: true, subtree: true});
            }""")
            page.fill("#prompt", "KING:")
            page.fill("#max_new_tokens", "1500")
            page.fill("#seed", "4")
            others = _background_streams(served.url, 7)  # the page's stream shares the batch with 7 others, so it
            page.click("#go")  # takes long enough to watch it arrive in parts
            page.wait_for_function(
                "document.getElementById('gen-status').textContent.startsWith('done')", timeout=120_000
            )
            others.set()
            final = page.text_content("#output-text")
            lengths = page.evaluate("window.lengths")
            partial = sorted({n for n in lengths if 0 < n < len(final)})
            assert len(partial) >= 2, lengths  # it grew through partial states before it ended
            assert final == lm.generate("KING:", max_new_tokens=1500, seed=4, temperature=0.8, top_p=0.95)[0]
            assert page.text_content("#gen-status").endswith("seed 4")  # shown, so a sample can be drawn again
            # a screen reader hears the finished text once, and which part is the prompt (grey on the screen)
            assert [t for t in page.evaluate("window.said") if t] == [f"Generated text, done: {final}"]
            assert page.text_content("#output") == f"Prompt: KING: Continuation: {final}"
            assert page.eval_on_selector("#prompt-said", "e => e.getBoundingClientRect().width") <= 1
            select = "e => { getSelection().selectAllChildren(e); return getSelection().toString(); }"
            assert page.eval_on_selector("#output", select) == f"KING:{final}"  # copied without the labels (a review)

            shot = tmp_path / "serve_page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            print(f"screenshot: {shot}")
            if os.environ.get("TEXTGRU_SCREENSHOT"):
                shutil.copy(shot, os.environ["TEXTGRU_SCREENSHOT"])

            big = 4938616139797510780  # above 2**53: a JavaScript number would round it, sent and shown
            page.fill("#seed", str(big))
            page.fill("#max_new_tokens", "40")
            page.click("#go")
            page.wait_for_function("document.getElementById('gen-status').textContent.startsWith('done')")
            assert page.text_content("#gen-status").endswith(f"seed {big}")
            assert (
                page.text_content("#output-text")
                == lm.generate("KING:", max_new_tokens=40, seed=big, temperature=0.8, top_p=0.95)[0]
            )

            page.fill("#seed", "007")  # a review: sent as typed, invalid JSON; JSON has no leading zeros
            page.click("#go")
            page.wait_for_function("document.getElementById('gen-status').textContent.startsWith('done')")
            assert page.text_content("#gen-status").endswith("seed 7")
            for bad in ("1.5", "1e3"):  # refused on the page, in one line, nothing sent
                page.fill("#seed", bad)
                page.click("#go")
                page.wait_for_selector("#generate-error:not([hidden])")
                assert page.text_content("#generate-error") == f"Seed: {bad} is not a whole number (empty: random)"
                assert page.text_content("#output-text") == ""  # the earlier text is not left beside it (a review)
            page.fill("#seed", "")
            for typed in ("99999999999999999999999", "9007199254740993"):  # New tokens too go as typed (a review:
                page.fill("#max_new_tokens", typed)  # "not a valid integer" for the first, 9007199254740992 named)
                page.click("#go")
                said = json.dumps(f"New tokens: {typed} is over the cap of 3000")  # the box's name, not the field's
                page.wait_for_function(f"document.getElementById('generate-error').textContent.includes({said})")
                assert "(the server's limit)" in page.text_content("#generate-error")
            page.fill("#max_new_tokens", "40")

            page.fill("#prompt", "KING: ¤")  # a character the tokenizer never saw: the server's 422 on the page
            page.click("#go")
            page.wait_for_function("document.getElementById('generate-error').textContent.includes('has no token for')")
            assert page.text_content("#gen-status") == "failed"
            # its fix in the page's words, and on the page (a review: "pass allow_unknown=true", with no way to)
            assert "tick \u201cRead unknown characters as [UNK]\u201d" in page.text_content("#generate-error")
            page.check("#allow_unknown")
            page.fill("#max_new_tokens", "20")
            page.click("#go")
            page.wait_for_function("document.getElementById('gen-status').textContent.startsWith('done')")
            assert page.is_hidden("#generate-error")
            page.uncheck("#allow_unknown")
            page.click("#go")
            page.wait_for_selector("#generate-error:not([hidden])")

            page.fill("#text", "a" * 20_001)  # over limits.max_chars: the error, and no earlier text's label
            said = "/predict: Text: the text has 20001 characters"  # the page's words (a review: limits.max_chars)
            page.wait_for_function(f"document.getElementById('classify-error').textContent.startsWith({said!r})")
            assert page.text_content("#classify-error").endswith("(the server's limit)")
            assert page.text_content("#label") == "–" and page.text_content("#bars") == ""
            assert "no token for" in page.text_content("#generate-error")  # each part keeps its own error (a review)
            page.fill("#prompt", "KING:")
            page.fill("#max_new_tokens", "5")
            page.click("#go")
            page.wait_for_function("document.getElementById('gen-status').textContent.startsWith('done')")
            assert page.is_hidden("#generate-error") and said in page.text_content("#classify-error")

            # labels such as -1/0/1: a JSON object's number-like keys come first in JavaScript (0, 1, -1); the bars
            # follow the model's label order, as /info gives it (a review)
            page.evaluate(
                "p => { labelOrder = ['-1', '0', '1']; renderPrediction(p); }",
                {"label": "1", "score": 0.5, "probs": {"-1": 0.2, "0": 0.3, "1": 0.5}},
            )
            assert page.eval_on_selector_all("#bars .name", "els => els.map(e => e.textContent)") == ["-1", "0", "1"]
            # 300 labels: the 10 likeliest bars, likeliest first, and how many more (a review: 300 bars in the
            # label order, the winner bar 287)
            many = {f"c{i}": (i + 1) / 45150 for i in range(300)}
            page.evaluate(
                "p => { labelOrder = Object.keys(p.probs); renderPrediction(p); }",
                {"label": "c299", "score": many["c299"], "probs": many},
            )
            shown = page.eval_on_selector_all("#bars .name", "els => els.map(e => e.textContent)")
            assert shown == [f"c{i}" for i in range(299, 289, -1)]
            assert page.text_content("#bars .more").startswith("and 290 more labels, each 0.006 or less")

            # a long label is cut short inside its column (it ran over its bar and value) and a phone-sized page
            # does not scroll sideways (a review: 595 px of content in 375)
            page.set_viewport_size({"width": 375, "height": 800})
            long = "a_very_long_label_name_without_any_spaces_at_all_" * 2
            page.evaluate(
                "p => renderPrediction(p)",
                {"label": long, "score": 0.5, "probs": {long: 0.5, "עברית": 0.3, "neg": 0.2}},
            )
            overlaps = page.evaluate("""() => [...document.querySelectorAll('#bars .bar')].map(row => {
                const r = row.querySelector('.track').getBoundingClientRect();  // what is drawn at the bar's start
                return document.elementFromPoint(r.left + 3, r.top + r.height / 2).closest('.name') !== null;
            })""")
            assert overlaps == [False, False, False]
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
            assert page.get_attribute("#bars .name", "title") == long  # the whole name on hover
            page.set_viewport_size({"width": 320, "height": 800})  # nothing sticks out of its card (a review: 0.8)
            out = page.evaluate("""() => [...document.querySelectorAll('section *')].filter(e => e.closest('#bars')
                === null && e.getBoundingClientRect().right > e.closest('section').getBoundingClientRect().right + 0.5)
                .map(e => e.id || e.tagName)""")
            assert out == []
            widths = page.eval_on_selector_all("#model-info dd", "els => els.map(e => e.getBoundingClientRect().width)")
            assert min(widths) > 200, widths  # each value under its name (a review: 24 px columns, a 7,000 px page)
            page.emulate_media(forced_colors="active")  # the bars kept (a review: forced colours took them away)
            fill = "e => [getComputedStyle(e).forcedColorAdjust, getComputedStyle(e).backgroundColor]"
            adjust, colour = page.eval_on_selector("#bars .fill", fill)
            assert adjust == "none" and colour != "rgba(0, 0, 0, 0)", (adjust, colour)
        finally:
            browser.close()


def test_page_runs_no_script_but_its_own(served: Served) -> None:
    """Were a text ever to reach the page as HTML, its script would not run: the page's policy allows only its own
    files (a security review: the page had no Content-Security-Policy but frame-ancestors)."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            refused = []  # what the policy stopped: none of the page's own doing (loading, classifying)
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            response = page.goto(served.url + "/")
            assert "default-src 'self'" in response.headers["content-security-policy"]
            page.wait_for_selector("#classify:not([hidden])")
            page.locator("#text").press_sequentially("what a good day", delay=15)
            page.wait_for_selector("#bars .bar")  # (a selector: waiting on a function would be refused too)
            assert refused == []
            page.evaluate("""() => {
                document.getElementById('summary').innerHTML = '<img src="x" onerror="window.ran = 1">';
                const s = document.createElement('script');
                s.textContent = 'window.ran = 2';
                document.body.appendChild(s);
            }""")
            page.wait_for_timeout(500)
            assert page.evaluate("window.ran") is None
        finally:
            browser.close()


def test_page_waits_for_a_server_that_is_not_ready_and_fetches_its_files_again(served: Served) -> None:
    """A review: /info answering 503 once (a server restarting) left the page saying "Loading" for good; and
    app.js/style.css had no Cache-Control, so after an upgrade the browser ran the new page with its cached app.js."""
    for path in ("/static/app.js", "/static/style.css", "/"):
        assert httpx.get(served.url + path).headers["cache-control"] == "no-cache"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(bypass_csp=True)
            answers = []

            def info(route) -> None:  # the real server behind it, but 503 the first time
                answers.append(len(answers))
                if len(answers) == 1:
                    route.fulfill(status=503, json={"error": "starting"})
                else:
                    route.continue_()

            page.route("**/info", info)
            page.goto(served.url + "/")
            page.wait_for_selector("#error:not([hidden])")
            assert "starting" in page.text_content("#error") and "trying again" in page.text_content("#error")
            assert "next try in 1 s" in page.text_content("#summary")
            page.wait_for_selector("#classify:not([hidden])", timeout=10_000)
            assert page.is_hidden("#error") and "classifier" in page.text_content("#summary") and len(answers) == 2
        finally:
            browser.close()


def test_the_new_tokens_box_starts_within_the_servers_cap(served: Served) -> None:
    """A review: with limits.max_new_tokens=100 the box kept its 300, so Generate failed at its first click."""
    real = httpx.get(served.url + "/info").json()
    capped = {**real, "limits": {**real["limits"], "max_new_tokens": 100}}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(bypass_csp=True)
            page.route("**/info", lambda route: route.fulfill(json=capped))
            page.goto(served.url + "/")
            page.wait_for_selector("#generate:not([hidden])")
            assert (
                page.get_attribute("#max_new_tokens", "max") == "100" and page.input_value("#max_new_tokens") == "100"
            )
        finally:
            browser.close()


def test_page_reads_info_again_after_a_failed_request(served: Served) -> None:
    """A review: after the server restarted with other models, an open page went on showing the old ones (their
    labels, checkpoints, a Generate section the new server has no model for): a failed request reads /info again.
    The restart is played by the browser: /predict fails once, then /info answers as the new server would."""
    real = httpx.get(served.url + "/info").json()
    restarted = {**real, "models": {"classifier": {**real["models"]["classifier"], "checkpoint": "/new/best.ckpt"}}}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(bypass_csp=True)
            page.goto(served.url + "/")
            page.wait_for_selector("#generate:not([hidden])")
            assert "/new/best.ckpt" not in page.text_content("#model-info")
            page.evaluate(_RECORD_ERRORS)
            page.route("**/predict", lambda route: route.abort(), times=1)  # the server is down a moment
            page.route("**/info", lambda route: route.fulfill(json=restarted))  # then up, with a classifier only
            page.fill("#text", "a good day")
            page.wait_for_selector("#generate", state="hidden", timeout=10_000)
            assert "/new/best.ckpt" in page.text_content("#model-info")
            assert "language model" not in page.text_content("#summary")
            # in the page's words (a review: "Failed to fetch"); then, the server back, the text is classified again
            # (a review: "cannot be reached" stayed up until the next keystroke)
            page.wait_for_selector("#classify-error", state="hidden", timeout=5_000)
            assert page.text_content("#label") not in ("", "\u2013")
            assert page.evaluate("window.said") == [
                "/predict failed: the server cannot be reached: stopped or restarting?"
            ]
        finally:
            browser.close()


def test_page_says_when_the_server_answers_again_without_asking_it_over_and_over(served: Served) -> None:
    """A review: after an outage the error boxes said "cannot be reached" until the next request. A generation that
    failed so is said to be over (not sent again: the user chooses); a /predict that keeps failing while /info
    answers is sent again once, not in a loop."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(bypass_csp=True)
            page.goto(served.url + "/")
            page.wait_for_selector("#generate:not([hidden])")
            page.route("**/generate", lambda route: route.abort(), times=1)
            page.fill("#max_new_tokens", "5")
            page.click("#go")
            page.wait_for_function("document.getElementById('generate-error').textContent.includes('answers again')")
            assert page.text_content("#generate-error") == "The server answers again: Generate to try again."
            page.click("#go")  # and it does
            page.wait_for_function("document.getElementById('gen-status').textContent.startsWith('done')")
            assert page.is_hidden("#generate-error")

            sent = []
            page.route("**/predict", lambda route: (sent.append(1), route.fulfill(status=500, json={"error": "boom"})))
            page.fill("#text", "a good day")
            page.wait_for_function("document.getElementById('classify-error').textContent.includes('boom')")
            for _ in range(100):  # sent again once /info has answered (on a busy machine, not at once)
                if len(sent) >= 2:
                    break
                page.wait_for_timeout(100)
            page.wait_for_timeout(1500)  # /info answers at once each time: a loop would have sent dozens by now
            assert len(sent) == 2 and page.text_content("#classify-error") == "/predict: boom"
        finally:
            browser.close()


def on_a_paused_clock(browser: Any, served: Served, shown: str) -> Any:
    """A new page of the server's, its timers on the browser's fake clock, paused once `shown` (a section) shows: a
    timer fires only when the test moves the clock on."""
    page = browser.new_page(bypass_csp=True)
    page.clock.install(time=1_000_000)
    page.goto(served.url + "/")
    page.wait_for_selector(f"{shown}:not([hidden])")
    page.clock.pause_at(2_000_000)
    return page


def test_page_marks_the_label_stale_until_the_current_texts_answer(served: Served, tiny_run: Path) -> None:
    """A review: with the server slow (or stopped), the previous text's label stayed beside a new text, unmarked, for
    up to the 30 s request timeout. The browser holds each /predict until the test lets it go, on a paused clock (the
    typing pause passes when the test moves it on): the label is greyed and "classifying…" from the keystroke until
    the answer for the text in the box; an earlier text's answer is not shown, even one that comes in the typing pause."""
    clf = textgru.Classifier.load(tiny_run)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = on_a_paused_clock(browser, served, "#classify")
            held = []  # the /predict requests not sent on to the server yet, oldest first
            page.route("**/predict", lambda route: held.append(route))

            def type_text(text: str) -> None:  # then past the typing pause: its request held
                before = len(held)
                page.fill("#text", text)
                page.clock.run_for(300)
                for _ in range(100):
                    if len(held) > before:
                        return
                    page.wait_for_timeout(50)
                raise AssertionError(f"no /predict for {text!r}")

            def release() -> None:  # the oldest held request answered, and its answer read by the page
                with page.expect_response("**/predict") as answer:
                    held.pop(0).continue_()
                answer.value.finished()
                page.wait_for_timeout(300)

            def shown() -> tuple[str, str, bool, bool]:
                stale = "e => e.classList.contains('stale')"
                marked = [page.eval_on_selector(f"#{i}", stale) for i in ("label", "bars")]
                return (page.text_content("#label"), page.text_content("#score"), *marked)

            def expected(text: str) -> tuple[str, str, bool, bool]:
                answer = clf.predict(text)
                return (answer.label, f"({100 * answer.score:.1f}%)", False, False)

            type_text("great wonderful happy")
            release()
            assert shown() == expected("great wonderful happy")
            pending = (expected("great wonderful happy")[0], "classifying\u2026", True, True)
            page.fill("#text", "hate sad bad horrible")  # marked at the keystroke, not when the request goes
            assert shown() == pending
            page.clock.run_for(300)
            page.wait_for_timeout(500)  # the server slow: still marked
            assert shown() == pending and len(held) == 1
            page.fill("#text", "a fine day")  # the previous text's answer comes in the typing pause: not shown
            release()
            assert shown() == pending
            type_text("a fine day")
            type_text("the king and the queen")  # two on their way: the older's answer, come first, is dropped
            release()
            assert shown() == pending
            release()
            assert shown() == expected("the king and the queen") and held == []
        finally:
            browser.close()


def test_page_reads_info_at_once_when_the_server_answers_again(served: Served) -> None:
    """A review: after a restart the page said "Waiting for the server" for ~25 s though the server was back: while
    a retry of /info waited (its wait grew to 30 s), neither a 404 nor an answered request read /info again. The
    page's timers are the browser's fake clock, paused, so a retry comes only when the test moves the clock on."""
    real = httpx.get(served.url + "/info").json()
    restarted = {**real, "models": {"classifier": real["models"]["classifier"]}}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = on_a_paused_clock(browser, served, "#generate")

            def type_text(text: str) -> None:  # past the typing pause, on the paused clock
                page.fill("#text", text)
                page.clock.run_for(300)

            page.route("**/info", lambda route: route.abort())  # the server stops
            page.route("**/predict", lambda route: route.abort())
            type_text("a good day")
            page.wait_for_function("document.getElementById('summary').textContent.includes('next try in 1 s')")
            # it comes back with a classifier only: Generate's 404 reads /info now, not when the retry is due
            page.unroute("**/predict")
            page.unroute("**/info")
            page.route("**/info", lambda route: route.fulfill(json=restarted))
            page.route("**/generate", lambda route: route.fulfill(status=404, json={"error": "no language model"}))
            page.fill("#max_new_tokens", "5")
            page.click("#go")
            page.wait_for_selector("#generate", state="hidden", timeout=5_000)
            assert page.is_hidden("#error") and "language model" not in page.text_content("#summary")

            page.unroute("**/info")  # down again; then back with both models: an answered /predict reads /info
            page.route("**/info", lambda route: route.abort())
            page.route("**/predict", lambda route: route.abort(), times=1)
            type_text("a bad day")
            page.wait_for_function("document.getElementById('summary').textContent.includes('next try in 1 s')")
            page.unroute("**/info")
            type_text("a fine day")
            page.wait_for_selector("#generate:not([hidden])", timeout=5_000)
            assert page.is_hidden("#error") and page.text_content("#summary").startswith("Serving")

            page.route("**/info", lambda route: route.abort())  # down for long: a try at least every 5 s
            page.route("**/predict", lambda route: route.abort(), times=1)
            type_text("a long wait")
            page.wait_for_selector("#error:not([hidden])")
            alert = page.text_content("#error")
            reached = "the server cannot be reached: stopped or restarting?"
            assert alert == f"/info could not be read ({reached}); trying again until it answers"
            page.evaluate("""() => {  // the alert is said again each time it changes (a review: each try rewrote it)
                window.alerts = 0;
                new MutationObserver(() => window.alerts++).observe(document.getElementById('error'),
                    {childList: true, characterData: true, subtree: true, attributes: true});
            }""")
            waits = []
            for _ in range(5):  # the wait counted down where it is not read out: the summary
                page.wait_for_function("document.getElementById('summary').textContent.includes('next try')")
                said = page.text_content("#summary")
                waits.append(int(said.split("next try in ")[1].split(" ")[0]))
                page.evaluate("document.getElementById('summary').textContent = ''")
                page.clock.run_for(1000 * waits[-1])
            assert waits == [1, 2, 4, 5, 5]
            assert page.evaluate("window.alerts") == 0 and page.text_content("#error") == alert
        finally:
            browser.close()


_RECORD_ERRORS = """() => {  // each text the classify error box shows, in window.said
    window.said = [];
    const box = document.getElementById('classify-error');
    new MutationObserver(() => { if (box.textContent) window.said.push(box.textContent); })
        .observe(box, {childList: true, characterData: true, subtree: true});
}"""


def _contrast_on_white(css: str) -> float:
    """WCAG's contrast ratio of a computed "rgb(r, g, b)" colour on white."""
    channels = [int(c) / 255 for c in css.removeprefix("rgb(").rstrip(")").split(",")[:3]]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def _background_streams(url: str, n: int) -> threading.Event:
    """`n` long streams read in threads until the returned event is set (then their clients go away)."""
    stop_reading = threading.Event()

    def read(seed: int) -> None:
        body = {"prompt": "ROMEO:", "max_new_tokens": 3000, "seed": seed, "stream": True}
        with httpx.Client(base_url=url, timeout=120) as c, c.stream("POST", "/generate", json=body) as r:
            for _ in r.iter_lines():
                if stop_reading.is_set():
                    return

    for seed in range(n):
        threading.Thread(target=read, args=(seed,), daemon=True).start()
    return stop_reading
