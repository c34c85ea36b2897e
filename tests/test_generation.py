"""Sampling: the carried hidden state, greedy/top-k/top-p, seeds, stop strings, streaming and bad options."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import tok_cfg
from hypothesis import given, settings
from hypothesis import strategies as st

from textgru.data.tokenization import train_tokenizer
from textgru.errors import TextgruError
from textgru.inference.generation import (
    SamplingOptions,
    decode_continuation,
    encode_prompt,
    filter_logits,
    generate,
    penalize_repeats,
    stream,
)
from textgru.inference.sampling import Sampler, draw_tokens
from textgru.models.gru_lm import GRULanguageModel

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\n\nJULIET:\nO Romeo, Romeo!\n"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one thread is faster, and far faster on a loaded machine (two threads waiting on each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def lm() -> tuple[GRULanguageModel, object]:
    tok = train_tokenizer([TEXT], tok_cfg("char", vocab_size=1000, min_frequency=1, unicode_form=None))
    torch.manual_seed(0)
    model = GRULanguageModel(tok.get_vocab_size(), embedding_dim=8, hidden_size=32, num_layers=2).eval()
    return model, tok


@pytest.fixture(scope="module")
def trained_lm() -> tuple[GRULanguageModel, object]:
    """A model whose next character depends on its history: 150 Adam steps on TEXT repeated, until it recites it
    (after "Romeo" comes ", " once and "!" once, and after "O" a space or "m": only the state tells which)."""
    tok = train_tokenizer([TEXT], tok_cfg("char", vocab_size=1000, min_frequency=1, unicode_form=None))
    torch.manual_seed(0)
    model = GRULanguageModel(tok.get_vocab_size(), embedding_dim=8, hidden_size=32, num_layers=2)
    stream = torch.tensor(tok.encode(TEXT * 20).ids)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    starts = torch.randint(0, len(stream) - 33, (150, 8), generator=torch.Generator().manual_seed(0))
    for batch in starts:  # 150 steps of 8 windows of 32 characters
        windows = torch.stack([stream[s : s + 33] for s in batch.tolist()])  # (8, 33)
        logits, _ = model(windows[:, :-1])  # (8, 32, vocab)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), windows[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), tok


class Recorder(torch.nn.Module):
    """The model, recording each call's input ids and last-position logits (what the sampler picks from)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, ids: torch.Tensor, hidden: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        logits, hidden = self.model(ids, hidden)
        self.calls.append((ids.clone(), logits[:, -1].float().clone()))  # (samples, time), (samples, vocab)
        return logits, hidden


@pytest.mark.parametrize(
    "options",
    [
        SamplingOptions(max_new_tokens=120, greedy=True),
        SamplingOptions(max_new_tokens=120, temperature=1.5, seed=3, num_samples=2),
    ],
    ids=["greedy", "seeded-sample"],
)
def test_carried_state_equals_rerunning_the_prefix(trained_lm, options: SamplingOptions) -> None:
    """At every step, the logits the sampler draws from (prompt read once, then one GRU step per token with the
    hidden state carried) equal those of re-reading the whole prefix, for every sample of a batch."""
    model, tok = trained_lm
    recorder = Recorder(model)
    texts = generate(recorder, tok, "ROMEO:", options)
    prompt = encode_prompt(tok, "ROMEO:")
    assert prompt == tok.encode("\n").ids + tok.encode("ROMEO:").ids  # the document separator first, as in training
    (first_ids, first_logits), *steps = recorder.calls
    assert first_ids.tolist() == [prompt] and all(ids.shape == (options.num_samples, 1) for ids, _ in steps)
    new = torch.cat([ids for ids, _ in steps], dim=1)  # (samples, 120): the token fed back at each step
    assert new.shape == (options.num_samples, 120)
    assert texts == [decode_continuation(tok, prompt, row) for row in new.tolist()]
    recorded = [first_logits.expand(options.num_samples, -1)] + [logits for _, logits in steps]
    history_mattered = 0
    with torch.no_grad():
        for k, carried in enumerate(recorded):  # the logits that chose new token k (k = 120: after the last one)
            prefix = torch.cat([torch.tensor([prompt]).expand(options.num_samples, -1), new[:, :k]], dim=1)
            rerun = model(prefix)[0][:, -1]  # (samples, vocab): the whole prefix read again
            torch.testing.assert_close(carried, rerun, atol=1e-4, rtol=1e-4, msg=lambda m, k=k: f"step {k}: {m}")
            last_token_only = model(prefix[:, -1:])[0][:, -1]  # what a sampler that dropped the state would see
            history_mattered += bool((last_token_only - rerun).abs().max() > 1.0)
    assert history_mattered > 100  # the test has teeth: without the state the logits are far off at most steps
    assert len(set(texts[0])) > 10  # a real text, not one repeated character


def test_greedy_text_identical_with_the_state_carried_or_the_prefix_rerun(trained_lm) -> None:
    """The README's claim from bench/generation_speed.py: greedy decoding gives the same text both ways."""
    model, tok = trained_lm
    carried = generate(model, tok, "JULIET:", SamplingOptions(max_new_tokens=150, greedy=True))[0]
    prompt = encode_prompt(tok, "JULIET:")  # after the document separator
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(150):  # what the tutorials do: the whole prefix again for every token
            logits = model(torch.tensor([ids]))[0][0, -1]
            logits[[0, 1]] = float("-inf")  # [PAD], [UNK], as the sampler bans them
            ids.append(int(logits.argmax()))
    assert carried == decode_continuation(tok, prompt, ids[len(prompt) :])
    assert "Romeo, Romeo!" in carried and "ROMEO:" in carried  # it recites the text, which takes memory


def test_top_k_1_equals_greedy(lm) -> None:
    model, tok = lm
    greedy = generate(model, tok, "JULIET:", SamplingOptions(max_new_tokens=50, greedy=True))
    for seed in (1, 2):
        sampled = generate(
            model, tok, "JULIET:", SamplingOptions(max_new_tokens=50, top_k=1, temperature=1.7, seed=seed)
        )
        assert sampled == greedy


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    logits = torch.log(torch.tensor([[0.05, 0.5, 0.15, 0.3]]))
    kept = lambda p: set(torch.nonzero(torch.isfinite(filter_logits(logits, top_p=p))[0]).flatten().tolist())
    assert kept(0.5) == {1}
    assert kept(0.6) == {1, 3}
    assert kept(0.8) == {1, 3}
    assert kept(0.81) == {1, 3, 2}
    assert kept(1.0) == {0, 1, 2, 3}
    assert kept(0.01) == {1}


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.floats(-5, 5), min_size=2, max_size=30), p=st.floats(0.01, 1.0))
def test_top_p_property(values: list[float], p: float) -> None:
    logits = torch.tensor([values])
    probs = torch.softmax(logits, -1)[0]
    keep = torch.isfinite(filter_logits(logits, top_p=p))[0]
    mass = float(probs[keep].sum())
    assert mass >= p - 1e-5 or keep.all()
    # minimal: without its least likely member the kept set falls short of p
    smallest = float(probs[keep].min())
    assert mass - smallest < p + 1e-5
    assert float(probs[~keep].max()) <= smallest + 1e-7 if (~keep).any() else True


def test_top_k_keeps_k() -> None:
    logits = torch.tensor([[0.1, 3.0, -1.0, 2.0, 0.5]])
    assert torch.isfinite(filter_logits(logits, top_k=2)).sum() == 2
    assert torch.isfinite(filter_logits(logits, top_k=50)).sum() == 5


def test_seed_reproduces_and_batch_samples_differ(lm) -> None:
    model, tok = lm
    opts = dict(max_new_tokens=60, num_samples=3, temperature=1.0)
    a = generate(model, tok, "ROMEO:", SamplingOptions(seed=7, **opts))
    b = generate(model, tok, "ROMEO:", SamplingOptions(seed=7, **opts))
    c = generate(model, tok, "ROMEO:", SamplingOptions(seed=8, **opts))
    assert a == b and a != c
    assert len(set(a)) == 3 and all(len(t) == 60 for t in a)


def test_stop_truncates_and_streaming_matches(lm) -> None:
    model, tok = lm
    full = generate(model, tok, "O", SamplingOptions(max_new_tokens=80, seed=3))[0]
    stop = full[30:33]
    pieces: list[str] = []
    cut = generate(
        model, tok, "O", SamplingOptions(max_new_tokens=80, seed=3, stop=[stop, "never-in-text"]), on_text=pieces.append
    )[0]
    assert cut == full[: full.index(stop)] and stop not in cut
    assert "".join(pieces) == cut and len(pieces) > 1
    streamed: list[str] = []
    assert generate(model, tok, "O", SamplingOptions(max_new_tokens=80, seed=3), on_text=streamed.append)[0] == full
    assert "".join(streamed) == full


def test_generate_with_on_text_returns_the_text_cut_before_a_lone_stop(lm) -> None:
    """A review: a stop string's start held back, then a token that completed it (nothing more streamed), left that
    start in the text `generate(on_text=...)` returned (and output= wrote), unlike the pieces and plain generate."""
    model, tok = lm
    full = generate(model, tok, "O", SamplingOptions(max_new_tokens=80, seed=3))[0]
    for stop in (full[30:32], full[30:33]):
        options = SamplingOptions(max_new_tokens=80, seed=3, stop=[stop])
        pieces: list[str] = []
        text = generate(model, tok, "O", options, on_text=pieces.append)[0]
        assert text == "".join(pieces) == "".join(stream(model, tok, "O", options)) == full[: full.index(stop)]
        assert text == generate(model, tok, "O", options)[0]


def test_repetition_penalty_rule() -> None:
    logits = torch.tensor([[2.0, -2.0, 1.0]])
    seen = torch.tensor([[True, True, False]])
    assert penalize_repeats(logits, seen, 2.0).tolist() == [[1.0, -4.0, 1.0]]


def test_unknown_prompt_characters(lm) -> None:
    model, tok = lm
    with pytest.raises(TextgruError, match=r"has no token for: 'ß', '€'.*allow_unknown=true"):
        generate(model, tok, "ROMEO: ß€", SamplingOptions(max_new_tokens=3))
    assert len(generate(model, tok, "ROMEO: ß€", SamplingOptions(max_new_tokens=3, seed=0), allow_unknown=True)[0]) == 3
    for bad in ("false", "no", 1, None):  # a review: "false", a true string, read them as [UNK] without a word
        for call in (generate, stream):
            with pytest.raises(TextgruError, match=f"^allow_unknown={re.escape(repr(bad))} must be true or false$"):
                call(model, tok, "ROMEO: ß€", SamplingOptions(max_new_tokens=3), allow_unknown=bad)


@pytest.mark.parametrize(
    "options,match",
    [
        (dict(temperature=0.0), "greedy=true"),
        (dict(temperature=-1.0), "greedy=true"),
        (dict(top_p=0.0), r"top_p=0.0 must be from 1e-06 to 1"),
        (dict(top_p=1.5), r"top_p=1.5 must be from 1e-06 to 1"),
        # beyond float32 (0 or inf there): they once turned a server's shared sampling step into an error for all
        (dict(temperature=1e308), r"temperature=1e\+308 must be from 1e-06 to 1e\+06"),
        (dict(temperature=1e-300), "temperature=1e-300"),
        (dict(temperature=float("nan")), "temperature=nan"),
        (dict(top_p=1e-300), "top_p=1e-300"),
        (dict(repetition_penalty=1e-300), "repetition_penalty=1e-300"),
        (dict(repetition_penalty=float("inf")), "repetition_penalty=inf"),
        (dict(top_k=-1), "top_k=-1"),
        (dict(max_new_tokens=-1), "max_new_tokens=-1"),
        (dict(num_samples=0), "num_samples=0"),
        (dict(num_samples=10**8), r"num_samples=100000000 must be from 1 to 10,000 \(they run as one batch\)"),
        (dict(repetition_penalty=0.0), "repetition_penalty"),
        (dict(max_new_tokens=10**8 + 1), r"^num_samples=1 x max_new_tokens=100000001 is more than 100,000,000 tokens"),
        (dict(max_new_tokens=10**6, num_samples=101), "num_samples=101 x max_new_tokens=1000000 is more than"),
    ],
)
def test_bad_options(options: dict, match: str) -> None:
    with pytest.raises(TextgruError, match=match):
        SamplingOptions(**options).check()


def test_a_long_prompt_is_read_in_pieces_with_the_state_carried(lm) -> None:
    """A review: a 3 MB prompt_file was read in one GRU call holding every position's outputs (18 GB asked). In
    pieces of STEPS_AT_ONCE the logits and state are those of one call."""
    from textgru.inference.sampling import STEPS_AT_ONCE, read_prompt

    model, _ = lm
    ids = torch.randint(2, model.embedding.num_embeddings, (2 * STEPS_AT_ONCE + 5,)).tolist()
    seen = []

    def counting(x: torch.Tensor, hidden: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        seen.append(x.size(1))
        return model(x, hidden)

    with torch.inference_mode():
        logits, hidden = read_prompt(counting, ids, 3)
        whole_logits, whole_hidden = model(torch.tensor([ids]))
    assert seen == [STEPS_AT_ONCE, STEPS_AT_ONCE, 5] and logits.shape[0] == 3 and hidden.shape[1] == 3
    torch.testing.assert_close(logits[0], whole_logits[0, -1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(hidden[:, :1], whole_hidden, atol=1e-5, rtol=1e-5)


def test_greedy_ignores_temperature_and_zero_tokens(lm) -> None:
    model, tok = lm
    assert SamplingOptions(greedy=True, temperature=0.0).check().greedy
    assert generate(model, tok, "ROMEO:", SamplingOptions(max_new_tokens=0, num_samples=2)) == ["", ""]


def test_repetition_penalty_in_generation(lm) -> None:
    model, tok = lm
    plain = generate(model, tok, "ROMEO:", SamplingOptions(max_new_tokens=30, greedy=True))[0]
    penalized = generate(
        model, tok, "ROMEO:", SamplingOptions(max_new_tokens=30, greedy=True, repetition_penalty=20.0)
    )[0]
    assert len(set(penalized)) > len(set(plain))


def test_byte_level_streaming_never_splits_a_character() -> None:
    text = "naïve café 😀 — ROMEO: ünïcödé ✓\n" * 5
    tok = train_tokenizer([text], tok_cfg("byte_bpe", vocab_size=300, min_frequency=1, unicode_form=None))
    torch.manual_seed(1)
    model = GRULanguageModel(tok.get_vocab_size(), embedding_dim=8, hidden_size=16, num_layers=1).eval()
    for seed in range(5):
        pieces: list[str] = []
        out = generate(
            model, tok, "café", SamplingOptions(max_new_tokens=60, seed=seed, stop=["✓"]), on_text=pieces.append
        )[0]
        assert "".join(pieces) == out and "✓" not in out


def test_bpe_continuation_keeps_the_space_after_the_prompt() -> None:
    tok = train_tokenizer(["the cat sat on the mat\n"] * 30, tok_cfg("bpe", vocab_size=60, min_frequency=1))
    ids = tok.encode("the").ids, tok.encode("cat").ids
    assert decode_continuation(tok, ids[0], ids[1]) == " cat"


@pytest.mark.parametrize(
    "knobs",
    [
        dict(temperature=0.7, seed=5, num_samples=3),
        dict(temperature=1.2, top_k=5, top_p=0.8, seed=6, num_samples=2),
        dict(temperature=0.9, repetition_penalty=1.5, seed=7),
        dict(greedy=True, repetition_penalty=1.5, num_samples=2),
    ],
    ids=["temperature", "top-k-top-p", "penalty", "greedy"],
)
def test_sampling_is_torch_multinomial_with_the_request_generator(knobs: dict) -> None:
    """`draw_tokens` writes out `torch.multinomial`'s one-draw method; a seeded request draws what the plain recipe
    (ban, penalize, temperature, filter, softmax, multinomial from the request's generator) draws, so seeds give the
    texts they gave before the draw was batched."""
    tok = train_tokenizer([TEXT], tok_cfg("char", vocab_size=1000, min_frequency=1, unicode_form=None))
    vocab = tok.get_vocab_size()
    options = SamplingOptions(**knobs).check()
    sampler = Sampler(tok, [1, 2], options, vocab)
    reference = torch.Generator().manual_seed(options.seed or 0)
    seen = sampler.seen.clone()  # (samples, vocab)
    logits = torch.randn(40, options.num_samples, vocab, generator=torch.Generator().manual_seed(0)) * 4
    for step in logits:  # (samples, vocab) per step
        scores = step.masked_fill(sampler.banned, float("-inf"))
        if options.repetition_penalty != 1.0:
            scores = penalize_repeats(scores, seen, options.repetition_penalty)
        if options.greedy:
            expected = scores.argmax(-1)
        else:
            scores = filter_logits(scores / options.temperature, options.top_k, options.top_p)
            expected = torch.multinomial(torch.softmax(scores, -1), 1, generator=reference).squeeze(1)
        seen[torch.arange(options.num_samples), expected] = True
        assert torch.equal(sampler.step(step), expected)


def test_requests_drawn_together_draw_what_they_draw_alone() -> None:
    """The server's shared batch: one `draw_tokens` call for requests with different knobs, seeds and sample
    counts gives every request the ids it gets drawn alone, step after step."""
    tok = train_tokenizer([TEXT], tok_cfg("char", vocab_size=1000, min_frequency=1, unicode_form=None))
    vocab, prompt = tok.get_vocab_size(), tok.encode("ROMEO").ids
    knobs = [
        dict(temperature=0.8, seed=1),
        dict(greedy=True),
        dict(temperature=1.3, top_k=4, seed=2, num_samples=2),
        dict(top_p=0.7, seed=3),
        dict(repetition_penalty=1.4, temperature=0.9, seed=4),
        dict(greedy=True, repetition_penalty=2.0, num_samples=2),
        dict(temperature=0.5, top_k=3, top_p=0.9, seed=5),
    ]

    def samplers() -> list[Sampler]:
        return [Sampler(tok, prompt, SamplingOptions(**k).check(), vocab) for k in knobs]

    together, alone = samplers(), samplers()
    counts = [s.options.num_samples for s in together]
    noise = torch.Generator().manual_seed(0)
    for _ in range(60):
        logits = torch.randn(sum(counts), vocab, generator=noise) * 3  # (rows, vocab)
        drawn = draw_tokens(together, logits)
        start = 0
        for a, b, n in zip(together, alone, counts, strict=True):
            a.record(drawn[start : start + n])
            assert torch.equal(drawn[start : start + n], b.step(logits[start : start + n]))
            start += n
    assert [s.new_ids for s in together] == [s.new_ids for s in alone]
    assert len({tuple(s.new_ids[0]) for s in together}) == len(knobs)  # the requests really drew differently


def test_draw_refuses_non_finite_probabilities_and_bans_per_request() -> None:
    """NaN logits (or every allowed token at -inf) are an error, as `torch.multinomial` made them, not a silent
    banned token; requests whose tokenizers ban different ids each keep their own ban in one draw."""
    tok = train_tokenizer([TEXT], tok_cfg("char", vocab_size=1000, min_frequency=1, unicode_form=None))
    vocab = tok.get_vocab_size()
    sampler = Sampler(tok, [1], SamplingOptions(seed=1).check(), vocab)
    with pytest.raises(TextgruError, match="not finite"):
        draw_tokens([sampler], torch.full((1, vocab), float("nan")))
    other = Sampler(tok, [1], SamplingOptions(greedy=True).check(), vocab)
    other.banned = torch.zeros(vocab, dtype=torch.bool)  # as if its tokenizer had no [PAD]/[UNK]
    logits = torch.zeros(2, vocab)
    logits[:, 0] = 50.0  # id 0 ([PAD], banned for the first request) is by far the most likely
    ids = draw_tokens([sampler, other], logits)
    assert ids[0] != 0 and ids[1] == 0


@pytest.mark.parametrize(
    "knob,message",
    [
        ({"greedy": "false"}, "greedy='false' must be true or false"),  # a true string: it decoded greedily
        ({"temperature": "0.7"}, "temperature='0.7' must be a finite number"),
        ({"temperature": float("nan")}, "temperature=nan must be a finite number"),
        ({"max_new_tokens": None}, "max_new_tokens=None must be an integer"),
        ({"num_samples": 2.0}, "num_samples=2.0 must be an integer"),
        ({"num_samples": True}, "num_samples=True must be an integer"),
        ({"top_k": 2.5}, "top_k=2.5 must be an integer"),
        ({"stop": 5}, "stop=5 must be a string or a list of strings"),
        ({"stop": ["a", ""]}, "stop: an empty string would end every sample"),  # a review: dropped without a word
        ({"seed": 2**70}, "must be from -2**63 to 2**64-1"),
    ],
)
def test_sampling_options_of_the_wrong_type_are_one_line(knob: dict, message: str) -> None:
    with pytest.raises(TextgruError, match=re.escape(message)):
        SamplingOptions(**knob).check()


def test_a_numpy_bool_is_a_bool() -> None:
    """A review: greedy=np.True_ (from an array or a DataFrame cell) was "must be true or false", while numpy integers
    pass as seed and top_k."""
    import numpy as np

    assert SamplingOptions(greedy=np.bool_(True)).check().greedy is True
    assert SamplingOptions(greedy=np.bool_(False)).check().greedy is False


def test_a_language_model_whose_tokenizer_drops_the_separator_is_one_line() -> None:
    """A word-level tokenizer drops the newline between documents: such an LM (trained before training refused it)
    has no document start, so every score and every empty prompt failed ('the prompt encodes to no tokens', a 500
    on /score); now loading it says why, once."""
    from textgru.inference.language_model import NO_SEPARATOR, LanguageModel

    word = train_tokenizer(["the king is dead\n"] * 5, tok_cfg("word", vocab_size=100, min_frequency=1))
    assert word.encode("\n").ids == []
    model = GRULanguageModel(word.get_vocab_size(), embedding_dim=8, hidden_size=8).eval()
    with pytest.raises(TextgruError, match="drops the newline that separates documents") as e:
        LanguageModel.from_parts(model, {"tokenizer": word.to_str()})
    assert str(e.value) == NO_SEPARATOR and "\n" not in NO_SEPARATOR
    char = train_tokenizer(["the king is dead\n"] * 5, tok_cfg("char", vocab_size=100, min_frequency=1))
    lm = LanguageModel.from_parts(GRULanguageModel(char.get_vocab_size(), 8, 8).eval(), {"tokenizer": char.to_str()})
    assert len(lm.generate("", max_new_tokens=5, seed=1)[0]) == 5 and len(lm.score(["the king"])) == 1


def test_a_stop_string_completed_by_the_first_new_token_stops_the_sample() -> None:
    """BPE's decoder drops the word-start space of the first token it decodes: " lord" as the first new token read
    "lord" alone, so stop=" lord" was missed and sampling ran on (the text was cut, the tokens were drawn)."""
    tok = train_tokenizer(["the lord and the king lord\n"] * 50, tok_cfg("bpe", vocab_size=60, min_frequency=1))
    lord = tok.token_to_id("▁lord")
    assert lord is not None
    sampler = Sampler(
        tok, encode_prompt(tok, "the king"), SamplingOptions(stop=[" lord"]).check(), tok.get_vocab_size()
    )
    sampler.record(torch.tensor([lord]))
    assert sampler.finished == [True] and sampler.done
    other = Sampler(tok, encode_prompt(tok, "the king"), SamplingOptions(stop=["lord the"]).check(), 60)
    other.record(torch.tensor([lord]))
    assert other.finished == [False]


def test_repetition_penalty_sees_the_prompt_not_the_separator_before_it(lm) -> None:
    """The separator read before every prompt is not a token the user wrote: penalising it cut a char model's
    newlines by 8% (a review), where before the separator was read only the prompt's tokens counted."""
    _, tok = lm
    ids = encode_prompt(tok, "Romeo")
    sampler = Sampler(tok, ids, SamplingOptions(repetition_penalty=1.3).check(), tok.get_vocab_size())
    newline = tok.token_to_id("\n")
    assert ids[0] == newline and not sampler.seen[0, newline]
    assert sampler.seen[0, ids[1:]].all() and int(sampler.seen[0].sum()) == len(set(ids[1:]))
    again = Sampler(tok, encode_prompt(tok, "Romeo\n"), SamplingOptions(repetition_penalty=1.3).check(), 100)
    assert again.seen[0, newline]  # a newline the prompt itself holds counts
