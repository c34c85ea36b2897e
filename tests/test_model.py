"""The classifier: padding never changes a text's logits; exact bidirectional reading; it can overfit."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from textgru.data.batching import pad_collate
from textgru.models.bigru import BiGRU, reverse_padded
from textgru.models.gru_classifier import GRUClassifier
from textgru.models.pooling import POOLINGS
from textgru.tasks.sentiment import ClassificationTask


def test_reverse_padded() -> None:
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    assert reverse_padded(x, torch.tensor([3, 2])).tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]


def test_bigru_matches_packed_nn_gru() -> None:
    """Our padded two-pass BiGRU equals nn.GRU over packed sequences with the same weights."""
    torch.manual_seed(0)
    ours = BiGRU(8, 6, num_layers=2, bidirectional=True).eval()
    ref = torch.nn.GRU(8, 6, num_layers=2, bidirectional=True, batch_first=True).eval()
    with torch.no_grad():
        for layer in range(2):
            for direction, mod in (("", ours.forward_layers[layer]), ("_reverse", ours.backward_layers[layer])):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(ref, f"{name}_l{layer}{direction}").copy_(getattr(mod, f"{name}_l0"))
    lengths = torch.tensor([7, 3, 5, 1])
    x = torch.randn(4, 7, 8)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_ref, _ = torch.nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True)
    out = ours(x, lengths)
    mask = (torch.arange(7)[None, :] < lengths[:, None]).unsqueeze(-1)
    torch.testing.assert_close(out * mask, out_ref * mask, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("layers", [1, 2])
def test_padding_invariance(pooling: str, layers: int) -> None:
    """A text's logits are the same alone and batched with much longer texts."""
    torch.manual_seed(0)
    model = GRUClassifier(
        vocab_size=50, num_classes=3, embedding_dim=12, hidden_size=10, num_layers=layers, pooling=pooling
    ).eval()
    short = torch.randint(2, 50, (5,))
    alone = model(short.unsqueeze(0), torch.tensor([5]))
    batch = pad_collate(
        [
            {"input_ids": short.tolist()},
            {"input_ids": torch.randint(2, 50, (40,)).tolist()},
            {"input_ids": torch.randint(2, 50, (17,)).tolist()},
        ]
    )
    together = model(batch["input_ids"], batch["lengths"])
    torch.testing.assert_close(together[0:1], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pooling", ["last", "meanmax", "attention"])
@pytest.mark.parametrize("layers", [1, 2])
def test_inference_over_packed_sequences_equals_padded(pooling: str, layers: int) -> None:
    """Without gradients a mixed-length batch runs over packed sequences; its logits equal the padded run's."""
    torch.manual_seed(0)
    model = GRUClassifier(
        vocab_size=50, num_classes=3, embedding_dim=12, hidden_size=10, num_layers=layers, pooling=pooling
    ).eval()
    batch = pad_collate([{"input_ids": torch.randint(2, 50, (n,)).tolist()} for n in (3, 40, 1, 17, 9, 40)])
    ids, lengths = batch["input_ids"], batch["lengths"]
    padded = model(ids, lengths)  # gradients on: the padded path
    with torch.no_grad():
        assert model.rnn._should_pack(model.embedding(ids), lengths)
        packed = model(ids, lengths)
        alone = torch.cat([model(ids[i : i + 1, : lengths[i]], lengths[i : i + 1]) for i in range(len(lengths))])
    torch.testing.assert_close(packed, padded, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(packed, alone, atol=1e-5, rtol=1e-5)


def test_overfits_64_examples() -> None:
    """Trainer + task + model reach 100% training accuracy on 64 random texts with random labels."""
    L.seed_everything(0)
    examples = [
        {
            "input_ids": torch.randint(2, 200, (int(torch.randint(3, 20, ())),)).tolist(),
            "label": int(torch.randint(0, 3, ())),
        }
        for _ in range(64)
    ]
    loader = DataLoader(examples, batch_size=16, shuffle=True, collate_fn=pad_collate)
    model = GRUClassifier(
        vocab_size=200, num_classes=3, embedding_dim=32, hidden_size=32, dropout=0.0, embedding_dropout=0.0
    )
    task = ClassificationTask(model, 3, optimizer=lambda params: torch.optim.Adam(params, lr=0.01))
    trainer = L.Trainer(
        max_epochs=60,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(task, loader)
    model.eval()
    batch = pad_collate(examples)
    with torch.no_grad():
        acc = (model(batch["input_ids"], batch["lengths"]).argmax(-1) == batch["labels"]).float().mean()
    assert acc.item() == 1.0


def test_a_large_vocabulary_is_warned_about_with_its_cost(caplog: pytest.LogCaptureFixture) -> None:
    from textgru.models.gru_lm import GRULanguageModel
    from textgru.tasks.base import log_model_size

    with caplog.at_level("INFO", logger="textgru"):
        log_model_size(GRUClassifier(vocab_size=20_000, num_classes=3, padding_idx=0), 20_000, ["a", "b", "c"])
    assert "vocabulary 20000" in caplog.text and "labels ['a', 'b', 'c']" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "WARNING"]  # the default: 2.6M rows' parameters
    caplog.clear()
    with caplog.at_level("INFO", logger="textgru"):  # 60k x 64 embedding + 60k x 128 output layer: 11.5M
        log_model_size(GRULanguageModel(vocab_size=60_000, embedding_dim=64, hidden_size=128, num_layers=1), 60_000)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "a vocabulary of 60000 tokens" in warning and "11.6M parameters with a row per token" in warning
    assert "~176 MB" in warning and "tokenizer.vocab_size" in warning


def test_members_are_independent_classifiers_whose_mean_probability_is_the_output() -> None:
    """`members=3`: the first member starts as a single classifier of the same seed does (adding members changes no
    start; a single classifier's checkpoint layout is unchanged), the others elsewhere; each member computes what a
    single classifier of its parts and the shared LM does; the output's softmax is their mean; padding-exact."""
    sizes = {"embedding_dim": 8, "hidden_size": 6, "pooling": "max", "lm_features": [4, 5, 1]}
    torch.manual_seed(0)
    one = GRUClassifier(50, 3, **sizes).eval()
    torch.manual_seed(0)
    three = GRUClassifier(50, 3, **sizes, members=3).eval()
    single_state, state = one.state_dict(), three.state_dict()
    assert not any(k.startswith("others.") for k in single_state)
    assert all(torch.equal(v, state[k]) for k, v in single_state.items())
    assert sum(k.startswith("others.") for k in state) == 2 * (
        len(single_state) - sum(k.startswith("lm.") for k in state)
    )
    assert not torch.equal(three.others[0].head.weight, three.head.weight)
    assert not torch.equal(three.others[0].embedding.weight, three.others[1].embedding.weight)
    batch = pad_collate([{"input_ids": torch.randint(2, 50, (n,)).tolist()} for n in (7, 2, 5)])
    ids, lengths = batch["input_ids"], batch["lengths"]
    with torch.no_grad():
        each = three.member_logits(ids, lengths)  # (members, batch, classes)
        assert each.shape == (3, 3, 3)
        torch.testing.assert_close(three(ids, lengths).softmax(-1), each.softmax(-1).mean(0))
        lm = {k: v for k, v in state.items() if k.startswith("lm.")}
        for k, member in enumerate(three.members):
            own = {n: v for n, v in member.state_dict().items() if not n.startswith(("others.", "lm."))}
            alone = GRUClassifier(50, 3, **sizes).eval()
            alone.load_state_dict({**lm, **own})  # strict: a member has exactly a single classifier's own parts
            torch.testing.assert_close(alone(ids, lengths), each[k])
        torch.testing.assert_close(three(ids, lengths)[1:2], three(ids[1:2, :2], lengths[1:2]))


def test_a_validation_inside_a_training_epoch_is_left_out_of_its_tokens_per_second() -> None:
    """A review: `TokensPerSecond` timed a validation only while `trainer.training`, which Lightning turns off for the
    validation it runs inside a fit (`trainer.validating`): task=lm's three in-epoch validations counted as training
    time (261 tokens/s with a validation every 6 steps, 4,681 with one every 100). A real Trainer's state in each stage."""
    import lightning as L
    from lightning.pytorch.trainer.states import RunningStage, TrainerFn

    from textgru.callbacks import TokensPerSecond

    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    timer = TokensPerSecond()
    timer.start = 0.0  # the epoch's timing has begun
    trainer.state.fn, trainer.state.stage = TrainerFn.FITTING, RunningStage.VALIDATING
    timer.on_validation_start(trainer, None)
    assert timer.validating_since is not None
    timer.on_validation_end(trainer, None)
    assert timer.validation_seconds > 0 and timer.validating_since is None
    for fn, stage in (
        (TrainerFn.FITTING, RunningStage.SANITY_CHECKING),
        (TrainerFn.VALIDATING, RunningStage.VALIDATING),
    ):
        trainer.state.fn, trainer.state.stage = fn, stage
        timer.on_validation_start(trainer, None)
        assert timer.validating_since is None, (fn, stage)  # not a validation inside training
