import math

import pytest
import torch

from bilstm_attn.nn import attention as attention_module
from bilstm_attn.nn.attention import (
    AdditiveScorer,
    Attention,
    AttentionPooling,
    DotScorer,
    GeneralScorer,
    ScaledDotScorer,
    masked_softmax,
    tanh_linear,
)
from bilstm_attn.nn.encoder import Directions, lengths_to_mask, reversal_index

B, Q, S, D = 3, 4, 6, 5


def make_scorer(name):
    torch.manual_seed(0)
    return {
        "dot": DotScorer(),
        "scaled_dot": ScaledDotScorer(),
        "general": GeneralScorer(D, D),
        "additive": AdditiveScorer(D, D, 7),
    }[name]


def direct_score(name, scorer, q, k):
    """The paper's formula, one query and one key at a time."""
    if name == "dot":
        return q @ k
    if name == "scaled_dot":
        return q @ k / math.sqrt(k.numel())
    if name == "general":
        return q @ (scorer.key_proj.weight @ k)
    w1, w2, b2 = scorer.key_proj.weight, scorer.query_proj.weight, scorer.query_proj.bias
    return scorer.energy.weight[0] @ torch.tanh(w1 @ k + w2 @ q + b2)


@pytest.fixture
def inputs():
    torch.manual_seed(1)
    query, keys = torch.randn(B, Q, D), torch.randn(B, S, D)
    values = torch.randn(B, S, 3)
    mask = torch.tensor([[True] * 6, [True, True, True, False, False, False], [False] * 6])
    return query, keys, values, mask


@pytest.mark.parametrize("name", ["dot", "scaled_dot", "general", "additive"])
def test_matches_direct_computation(name, inputs):
    query, keys, values, mask = inputs
    scorer = make_scorer(name)
    out = Attention(scorer)(query, keys, values, mask)
    for b in range(B):
        valid = mask[b].nonzero().flatten()
        for i in range(Q):
            expected = torch.zeros(S)
            if len(valid):
                scores = [direct_score(name, scorer, query[b, i], keys[b, s]) for s in valid]
                expected[valid] = torch.softmax(torch.stack(scores), dim=0)
            torch.testing.assert_close(out.weights[b, i], expected, atol=1e-6, rtol=1e-5)
            torch.testing.assert_close(
                out.context[b, i], expected @ values[b], atol=1e-6, rtol=1e-5
            )


@pytest.mark.parametrize("name", ["dot", "scaled_dot", "general", "additive"])
def test_weights_are_a_distribution_over_real_keys(name, inputs):
    query, keys, _, mask = inputs
    weights = Attention(make_scorer(name))(query * 50, keys, mask=mask).weights
    assert torch.all(weights[~mask[:, None, :].expand_as(weights)] == 0)
    sums = weights.sum(-1)
    torch.testing.assert_close(sums[:2], torch.ones(2, Q))
    assert torch.all(sums[2] == 0)  # no real key: zeros, not NaN
    assert not torch.isnan(weights).any()


@pytest.mark.parametrize("name", ["dot", "scaled_dot", "general", "additive"])
def test_gradients_are_finite_and_skip_masked_keys(name, inputs):
    query, keys, values, mask = inputs
    keys = keys.clone().requires_grad_(True)
    values = values.clone().requires_grad_(True)
    out = Attention(make_scorer(name))(query, keys, values, mask)
    out.context.sum().backward()
    assert torch.isfinite(keys.grad).all() and torch.isfinite(values.grad).all()
    assert torch.all(values.grad[~mask] == 0)
    assert torch.all(keys.grad[~mask] == 0)


@pytest.mark.parametrize("name", ["general", "additive"])
def test_projected_keys_passed_in_give_the_same_result(name, inputs):
    query, keys, values, mask = inputs
    attention = Attention(make_scorer(name))
    plain = attention(query, keys, values, mask)
    projected = attention.project_keys(keys)
    reused = attention(query, keys, values, mask, projected_keys=projected)
    torch.testing.assert_close(plain.context, reused.context)
    assert not any(isinstance(v, torch.Tensor) for v in vars(attention.scorer).values())


def test_masked_softmax_without_mask_is_softmax():
    scores = torch.randn(2, 3, 4)
    torch.testing.assert_close(masked_softmax(scores, None), torch.softmax(scores, -1))


def test_padding_does_not_change_attention(inputs):
    query, keys, values, _ = inputs
    attention = Attention(make_scorer("additive"))
    mask = torch.ones(B, S, dtype=torch.bool)
    padded_keys = torch.cat([keys, torch.randn(B, 4, D)], dim=1)
    padded_values = torch.cat([values, torch.randn(B, 4, 3)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(B, 4, dtype=torch.bool)], dim=1)
    short = attention(query, keys, values, mask)
    long = attention(query, padded_keys, padded_values, padded_mask)
    torch.testing.assert_close(short.context, long.context)
    torch.testing.assert_close(short.weights, long.weights[:, :, :S])


@pytest.mark.parametrize("heads", [1, 3])
def test_pooling_concatenates_one_context_per_head(heads, inputs):
    _, keys, _, mask = inputs
    torch.manual_seed(0)
    pooling = AttentionPooling(Attention(AdditiveScorer(D, D, 7)), query_size=D, heads=heads)
    out = pooling(keys, mask)
    assert out.context.shape == (B, heads * D)
    assert out.weights.shape == (B, heads, S)
    for h in range(heads):
        expected = torch.bmm(out.weights[:, h : h + 1], keys).squeeze(1)  # (B, D)
        torch.testing.assert_close(out.context[:, h * D : (h + 1) * D], expected)
    torch.testing.assert_close(out.weights[:2].sum(-1), torch.ones(2, heads))


@pytest.mark.parametrize("name", ["dot", "scaled_dot", "general", "additive"])
@pytest.mark.parametrize("n_queries", [1, 2])
@pytest.mark.parametrize("grad", [True, False])
def test_shared_queries_score_as_the_same_query_in_every_row(name, n_queries, grad, inputs):
    """A (Q, Dq) query (pooling) scores like the (B, Q, Dq) query repeated per row."""
    _, keys, _, mask = inputs
    query = torch.randn(n_queries, D)
    scorer = make_scorer(name)
    attention = Attention(scorer)
    with torch.set_grad_enabled(grad):
        shared = attention(query, keys, mask=mask)
        repeated = attention(query.expand(B, -1, -1), keys, mask=mask)
    torch.testing.assert_close(shared.weights, repeated.weights)
    torch.testing.assert_close(shared.context, repeated.context)
    expected = direct_score(name, scorer, query[0], keys[0, 2])
    torch.testing.assert_close(scorer.score_shared(query, keys)[0, 0, 2], expected)


@pytest.mark.parametrize("name", ["dot", "scaled_dot", "general", "additive"])
@pytest.mark.parametrize("grad", [True, False])
def test_keys_in_time_major_memory_attend_alike(name, grad, inputs):
    """The encoder's states are (B, S, D) views of (S, B, D) memory."""
    _, keys, _, mask = inputs
    time_major = keys.transpose(0, 1).contiguous().transpose(0, 1)  # (B, S, D)
    assert torch.equal(time_major, keys) and not time_major.is_contiguous()
    attention = Attention(make_scorer(name))
    for query in (torch.randn(1, D), torch.randn(2, D), torch.randn(B, Q, D)):
        with torch.set_grad_enabled(grad):
            expected = attention(query, keys, mask=mask)
            out = attention(query, time_major, mask=mask)
        torch.testing.assert_close(out.weights, expected.weights)
        torch.testing.assert_close(out.context, expected.context)


@pytest.mark.parametrize("name", ["dot", "scaled_dot", "general"])
def test_linear_weights_give_the_score(name, inputs):
    query, keys, _, _ = inputs
    scorer = make_scorer(name)
    weights = scorer.linear_weights(query[0])  # (Q, D)
    expected = direct_score(name, scorer, query[0, 1], keys[2, 4])
    torch.testing.assert_close(weights[1] @ keys[2, 4], expected)


def test_additive_scores_have_no_linear_weights(inputs):
    assert make_scorer("additive").linear_weights(inputs[0][0]) is None


def two_directions(lengths, size, grad):
    """A bidirectional encoder's top layer as it writes it, with garbage on padding."""
    torch.manual_seed(2)
    width, batch = int(lengths.max()), len(lengths)
    forward = torch.randn(width, batch, size, requires_grad=grad)
    backward = torch.randn(width, batch, size, requires_grad=grad)  # reversed within length
    flip = reversal_index(lengths, width, time_major=True)
    return Directions(forward, backward, flip, lengths_to_mask(lengths, width), None)


@pytest.mark.parametrize("name", ["dot", "scaled_dot", "general", "additive"])
@pytest.mark.parametrize("heads", [1, 3])
@pytest.mark.parametrize("grad", [True, False])
def test_pooling_two_halves_is_pooling_their_join(name, heads, grad):
    """Scored half by half in each direction's order, or on the joined states: the same
    weights, context and gradients, and the padding rows' values count for nothing."""
    lengths = torch.tensor([5, 0, 2, 6, 1])
    directions = two_directions(lengths, 3, grad)
    torch.manual_seed(0)
    scorer = {"general": GeneralScorer(6, 6), "additive": AdditiveScorer(6, 6, 4)}.get(name)
    scorer = scorer or make_scorer(name)
    pooling = AttentionPooling(Attention(scorer), query_size=6, heads=heads)
    with torch.set_grad_enabled(grad):
        joined = directions.join()  # (B, S, 6)
        expected = pooling(joined, directions.mask)
        out = pooling.pool_halves(
            directions.forward, directions.backward, directions.flip, directions.mask
        )
        if name == "additive":  # not linear in the states: the caller joins them
            assert out is None
            return
    torch.testing.assert_close(out.weights, expected.weights)
    torch.testing.assert_close(out.context, expected.context)
    assert out.context.shape == (5, heads * 6)
    if grad:
        upstream = torch.randn(5, heads * 6)
        params = [directions.forward, directions.backward, pooling.query, *scorer.parameters()]
        got = torch.autograd.grad((out.context * upstream).sum(), params)
        want = torch.autograd.grad((expected.context * upstream).sum(), params)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)
        padding = ~directions.mask.t()  # (S, B); the flip leaves padding rows in place
        assert got[0][padding].abs().sum() == 0 and got[1][padding].abs().sum() == 0


@pytest.mark.parametrize("fused", [True, False])
def test_tanh_linear(fused, monkeypatch):
    if not fused:
        monkeypatch.setattr(attention_module, "_fused_tanh_linear_works", lambda: False)
    x = torch.randn(2, 3, 4, requires_grad=True)
    weight, bias = torch.randn(5, 4, requires_grad=True), torch.randn(5)
    expected = torch.tanh(x @ weight.t() + bias)  # (2, 3, 5)
    with torch.inference_mode():
        torch.testing.assert_close(tanh_linear(x, weight, bias), expected.detach())
    out = tanh_linear(x, weight, bias)  # with autograd: never the inference-only kernel
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    grad_x, grad_w = x.grad.clone(), weight.grad.clone()
    x.grad = weight.grad = None
    expected.sum().backward()
    torch.testing.assert_close(grad_x, x.grad)
    torch.testing.assert_close(grad_w, weight.grad)


def test_checking_the_fused_kernel_leaves_the_random_generator_alone():
    attention_module._fused_tanh_linear_works.cache_clear()
    state = torch.get_rng_state()
    attention_module._fused_tanh_linear_works()
    assert torch.equal(torch.get_rng_state(), state)
