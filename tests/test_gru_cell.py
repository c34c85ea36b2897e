"""ReferenceGRU (the GRU from its equations) against nn.GRU: same outputs, final states and gradients."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textgru.errors import TextgruError
from textgru.models.bigru import BiGRU
from textgru.models.gru_cell import ReferenceGRU, ReferenceGRUCell, build_gru, gru_step


def _random_case(seed: int) -> dict:
    rng = random.Random(seed)
    return {
        "input_size": rng.randint(1, 9),
        "hidden_size": rng.randint(1, 12),
        "num_layers": rng.randint(1, 2),
        "bidirectional": rng.random() < 0.5,
        "batch_first": rng.random() < 0.5,
        "bias": rng.random() < 0.85,
        "batch": rng.randint(1, 6),
        "time": rng.randint(1, 9),
        "mode": rng.choice(["padded", "packed", "lengths"]),
        "hx": rng.random() < 0.5,
    }


def _grads(module: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in module.named_parameters()}


@pytest.mark.parametrize("seed", range(40))
def test_reference_gru_matches_nn_gru(seed: int) -> None:
    case = _random_case(seed)
    torch.manual_seed(seed)
    kwargs = {k: case[k] for k in ("input_size", "hidden_size", "num_layers", "bidirectional", "batch_first", "bias")}
    native = nn.GRU(**kwargs)
    ref = ReferenceGRU(**kwargs)
    ref.load_state_dict(native.state_dict())
    assert [n for n, _ in ref.named_parameters()] == [n for n, _ in native.named_parameters()]
    b, t = case["batch"], case["time"]
    x = torch.randn(b, t, case["input_size"])  # (batch, time, input)
    lengths = torch.randint(1, t + 1, (b,))
    lengths[0] = t
    directions = 2 if case["bidirectional"] else 1
    hx = torch.randn(case["num_layers"] * directions, b, case["hidden_size"]) if case["hx"] else None
    weight = torch.randn(b, t, directions * case["hidden_size"])  # a random loss on the outputs
    outs = []
    for model in (native, ref):
        xi = x.clone().requires_grad_(True)
        h0 = hx.clone().requires_grad_(True) if hx is not None else None
        if case["mode"] == "padded":
            inp = xi if case["batch_first"] else xi.transpose(0, 1)
            out, h_n = model(inp, h0)
            out = out if case["batch_first"] else out.transpose(0, 1)
        else:  # packed, or (reference only) padded with lengths, which must equal the packed result
            packed = pack_padded_sequence(xi, lengths, batch_first=True, enforce_sorted=False)
            if case["mode"] == "lengths" and model is ref:
                out, h_n = model(xi if case["batch_first"] else xi.transpose(0, 1), h0, lengths=lengths)
                out = out if case["batch_first"] else out.transpose(0, 1)
            else:
                out_p, h_n = model(packed, h0)
                assert torch.equal(out_p.batch_sizes, packed.batch_sizes)
                out, _ = pad_packed_sequence(out_p, batch_first=True, total_length=t)
        ((out * weight).sum() + (h_n**2).sum()).backward()
        outs.append((out.detach(), h_n.detach(), xi.grad, h0.grad if h0 is not None else None, _grads(model)))
    (o1, h1, gx1, gh1, g1), (o2, h2, gx2, gh2, g2) = outs
    torch.testing.assert_close(o2, o1, atol=1e-5, rtol=0)
    torch.testing.assert_close(h2, h1, atol=1e-5, rtol=0)
    torch.testing.assert_close(gx2, gx1, atol=1e-4, rtol=0)
    if gh1 is not None:
        torch.testing.assert_close(gh2, gh1, atol=1e-4, rtol=0)
    for name in g1:
        torch.testing.assert_close(g2[name], g1[name], atol=1e-4, rtol=0, msg=name)


def test_unbatched_input_and_cell() -> None:
    torch.manual_seed(0)
    native, ref = nn.GRU(3, 5, num_layers=2), ReferenceGRU(3, 5, num_layers=2)
    ref.load_state_dict(native.state_dict())
    x, h = torch.randn(7, 3), torch.randn(2, 5)  # (time, input), (layers, hidden)
    for a, b in zip(native(x, h), ref(x, h), strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=0)
    cell, ref_cell = nn.GRUCell(3, 5), ReferenceGRUCell(3, 5)
    ref_cell.load_state_dict(cell.state_dict())
    xb, hb = torch.randn(4, 3), torch.randn(4, 5)
    torch.testing.assert_close(ref_cell(xb, hb), cell(xb, hb), atol=1e-5, rtol=0)


def test_the_other_convention_is_z_replaced_by_one_minus_z() -> None:
    """h' = (1 − z') ⊙ h + z' ⊙ n with z' = 1 − z (the update gate's weights and biases negated) is the same cell."""
    torch.manual_seed(1)
    cell = ReferenceGRUCell(3, 4)
    x, h = torch.randn(5, 3), torch.randn(5, 4)
    w_ih, w_hh, b_ih, b_hh = (p.detach() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))
    flip = torch.ones(12)
    flip[4:8] = -1  # the z rows
    gi = nn.functional.linear(x, w_ih * flip[:, None], b_ih * flip)
    gh = nn.functional.linear(h, w_hh * flip[:, None], b_hh * flip)
    z_other = torch.sigmoid(gi[:, 4:8] + gh[:, 4:8])
    r = torch.sigmoid(gi[:, :4] + gh[:, :4])
    n = torch.tanh(gi[:, 8:] + r * gh[:, 8:])
    other = (1 - z_other) * h + z_other * n
    torch.testing.assert_close(other, cell(x, h), atol=1e-6, rtol=0)
    torch.testing.assert_close(gru_step(nn.functional.linear(x, w_ih, b_ih), h, w_hh, b_hh), cell(x, h))


@pytest.mark.parametrize("bidirectional", [True, False])
def test_bigru_lengths_path_same_with_reference(bidirectional: bool) -> None:
    """textgru's BiGRU (reverse within each length) gives the same outputs on either GRU, with the same weights."""
    torch.manual_seed(2)
    native = BiGRU(6, 5, num_layers=2, bidirectional=bidirectional)
    ref = BiGRU(6, 5, num_layers=2, bidirectional=bidirectional, rnn="reference")
    ref.load_state_dict(native.state_dict())
    x, lengths = torch.randn(4, 8, 6), torch.tensor([8, 3, 5, 1])
    out_n, out_r = native(x, lengths), ref(x, lengths)
    mask = (torch.arange(8)[None, :] < lengths[:, None]).unsqueeze(-1)
    torch.testing.assert_close(out_r * mask, out_n * mask, atol=1e-5, rtol=0)


def test_unknown_rnn_is_one_line() -> None:
    with pytest.raises(TextgruError, match="model.rnn=native"):
        build_gru("lstm", 3, 4)
