import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from bilstm_attn.nn.encoder import (
    RNNEncoder,
    lengths_to_mask,
    locked_dropout,
    make_embedding,
    permute_rows,
    reversal_index,
    reverse_within_length,
)

VOCAB, E, H = 40, 8, 6


def make_encoder(rnn_cls=nn.LSTM, num_layers=1):
    torch.manual_seed(0)
    return RNNEncoder(make_embedding(VOCAB, E, padding_idx=0), H, num_layers, rnn_cls).eval()


def random_batch(lengths, extra_padding=0):
    torch.manual_seed(1)
    width = max(lengths) + extra_padding
    ids = torch.randint(1, VOCAB, (len(lengths), width))
    for row, length in enumerate(lengths):
        ids[row, length:] = 0
    return ids, torch.tensor(lengths)


def bidirectional_twin(encoder, rnn_cls):
    """One bidirectional multi-layer torch RNN holding the encoder's weights."""
    layers = len(encoder.forward_rnns)
    ref = rnn_cls(E, H, num_layers=layers, bidirectional=True, batch_first=True)
    with torch.no_grad():
        for layer, (fwd, bwd) in enumerate(zip(encoder.forward_rnns, encoder.backward_rnns)):
            for name, param in fwd.named_parameters():
                getattr(ref, name.replace("l0", f"l{layer}")).copy_(param)
            for name, param in bwd.named_parameters():
                getattr(ref, name.replace("l0", f"l{layer}") + "_reverse").copy_(param)
    return ref


def packed_reference(encoder, rnn_cls, ids, lengths):
    """The encoder's outputs computed by its packed bidirectional twin."""
    layers = len(encoder.forward_rnns)
    ref = bidirectional_twin(encoder, rnn_cls)
    packed = pack_padded_sequence(
        encoder.embedding(ids), lengths.clamp(min=1), batch_first=True, enforce_sorted=False
    )
    out, hidden = ref(packed)
    hidden = hidden[0] if isinstance(hidden, tuple) else hidden  # (L*2, B, H)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.size(1))
    final = (
        hidden.view(layers, 2, len(lengths), H)
        .permute(0, 2, 1, 3)
        .reshape(layers, len(lengths), 2 * H)
    )
    return out, final


@pytest.mark.parametrize("rnn_cls", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_matches_packed_bidirectional_rnn(rnn_cls, num_layers):
    encoder = make_encoder(rnn_cls, num_layers)
    ids, lengths = random_batch([9, 4, 1, 7, 2])
    with torch.no_grad():
        ours = encoder(ids, lengths)
        states, final = packed_reference(encoder, rnn_cls, ids, lengths)
    torch.testing.assert_close(ours.states, states, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.final, final, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("rnn_cls", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_gradients_match_packed_bidirectional_rnn(rnn_cls, num_layers):
    encoder = make_encoder(rnn_cls, num_layers)
    ids, lengths = random_batch([9, 4, 1, 7, 2])
    ref = bidirectional_twin(encoder, rnn_cls)
    weights = torch.randn(len(lengths), ids.size(1), 2 * H)  # a loss that weighs every state
    (encoder(ids, lengths).states * weights).sum().backward()
    ours = encoder.embedding.weight.grad.clone()
    encoder.embedding.weight.grad = None
    packed = pack_padded_sequence(
        encoder.embedding(ids), lengths, batch_first=True, enforce_sorted=False
    )
    out, _ = pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=ids.size(1))
    (out * weights).sum().backward()
    torch.testing.assert_close(ours, encoder.embedding.weight.grad, atol=1e-5, rtol=1e-4)
    for layer, bwd in enumerate(encoder.backward_rnns):
        name = f"weight_hh_l{layer}"
        torch.testing.assert_close(
            bwd.weight_hh_l0.grad, getattr(ref, name + "_reverse").grad, atol=1e-5, rtol=1e-4
        )


def test_permute_rows_passes_gradients_back_through_the_inverse():
    x = torch.randn(5, 3, requires_grad=True)
    index = torch.tensor([3, 0, 4, 1, 2])
    inverse = torch.argsort(index)
    upstream = torch.randn(5, 3)
    (permute_rows(x, index, inverse) * upstream).sum().backward()
    torch.testing.assert_close(x.grad, upstream[inverse])
    assert torch.equal(permute_rows(x, index, inverse), x[index])


def test_time_major_reversal_matches_batch_major():
    lengths = torch.tensor([4, 6, 0])
    x = torch.randn(3, 6, 2)  # (B, S, D)
    flat_tm = x.transpose(0, 1).reshape(-1, 2)  # (S * B, D)
    reversed_tm = permute_rows(flat_tm, reversal_index(lengths, 6, time_major=True))
    expected = reverse_within_length(x, lengths).transpose(0, 1).reshape(-1, 2)
    assert torch.equal(reversed_tm, expected)


def test_locked_dropout_uses_one_mask_per_sequence():
    torch.manual_seed(0)
    x = torch.ones(4, 50, 30)  # (B, S, D)
    dropped = locked_dropout(x, 0.5, training=True)
    assert torch.equal(dropped, dropped[:, :1].expand_as(dropped))  # the same at every step
    assert set(dropped.unique().tolist()) == {0.0, 2.0}  # kept features scaled by 1 / (1 - p)
    assert 0.3 < (dropped == 0).float().mean() < 0.7
    assert locked_dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize("variational", [True, False])
def test_encoder_dropout_masks_per_sequence_or_per_element(variational):
    embedding = make_embedding(VOCAB, E, padding_idx=0)
    with torch.no_grad():
        embedding.weight[1:] = 1.0
    encoder = RNNEncoder(embedding, H, dropout=0.5, variational=variational).train()
    seen = []
    encoder.forward_rnns[0].register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    ids, lengths = random_batch([20, 20, 20])
    torch.manual_seed(0)
    encoder(ids, lengths)
    dropped = seen[0]  # (S, B, E), what the forward LSTM read
    assert set(dropped.unique().tolist()) == {0.0, 2.0}
    same_every_step = torch.equal(dropped, dropped[:1].expand_as(dropped))
    assert same_every_step == variational


@pytest.mark.parametrize("rnn_cls", [nn.LSTM, nn.GRU])
def test_outputs_do_not_change_with_padding(rnn_cls):
    encoder = make_encoder(rnn_cls, num_layers=2)
    ids, lengths = random_batch([5, 3, 1])
    padded_ids = torch.cat([ids, torch.zeros(3, 11, dtype=torch.long)], dim=1)
    with torch.no_grad():
        short = encoder(ids, lengths)
        long = encoder(padded_ids, lengths)
        alone = encoder(ids[1:2, :3], lengths[1:2])
    torch.testing.assert_close(long.states[:, : ids.size(1)], short.states, atol=1e-6, rtol=1e-5)
    assert torch.all(long.states[:, ids.size(1) :] == 0)
    torch.testing.assert_close(long.final, short.final, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(alone.states[0], short.states[1, :3], atol=1e-6, rtol=1e-5)


def test_padding_is_zero_with_and_without_autograd():
    """Padding is zeroed in place by index without autograd, by the mask with it."""
    encoder = make_encoder(num_layers=1)
    ids, lengths = random_batch([5, 3, 1], extra_padding=2)
    with torch.no_grad():
        inference = encoder(ids, lengths).states
    training = encoder(ids, lengths).states
    assert training.requires_grad
    torch.testing.assert_close(training.detach(), inference)
    assert torch.all(inference[1, 3:] == 0) and torch.all(inference[2, 1:] == 0)
    training.sum().backward()  # the in-place zeroing keeps the graph usable


def test_mask_and_empty_sequences():
    encoder = make_encoder()
    ids, lengths = random_batch([3, 0])
    out = encoder(ids, lengths)
    assert out.mask.tolist() == [[True, True, True], [False, False, False]]
    assert torch.all(out.states[1] == 0) and torch.all(out.final[:, 1] == 0)
    assert out.states.shape == (2, 3, 2 * H) and out.final.shape == (1, 2, 2 * H)


def test_reverse_within_length_is_its_own_inverse():
    x = torch.arange(12.0).view(2, 6, 1)
    lengths = torch.tensor([4, 6])
    reversed_x = reverse_within_length(x, lengths)
    assert reversed_x[0, :, 0].tolist() == [3, 2, 1, 0, 4, 5]
    assert torch.equal(reverse_within_length(reversed_x, lengths), x)


def test_gradients_reach_embeddings_but_not_padding_row():
    encoder = make_encoder()
    encoder.train()
    ids, lengths = random_batch([4, 2])
    encoder(ids, lengths).states.sum().backward()
    grad = encoder.embedding.weight.grad
    assert torch.all(grad[0] == 0) and grad[ids[0, 0]].abs().sum() > 0


def test_pretrained_vectors_frozen_or_not():
    vectors = torch.randn(VOCAB, E)
    frozen = make_embedding(VOCAB, E, 0, pretrained=vectors, freeze=True)
    assert torch.equal(frozen.weight[1:], vectors[1:]) and torch.all(frozen.weight[0] == 0)
    assert not frozen.weight.requires_grad
    assert make_embedding(VOCAB, E, 0, pretrained=vectors).weight.requires_grad
    with pytest.raises(ValueError, match=r"shape \(40, 3\); expected \(40, 8\)"):
        make_embedding(VOCAB, E, 0, pretrained=torch.randn(VOCAB, 3))


@pytest.mark.parametrize("num_layers", [1, 2])
def test_directions_are_the_states_before_their_join(num_layers):
    """The halves of the states (checked against a packed RNN above): the forward one
    as written, the backward one reversed within each length."""
    torch.manual_seed(0)
    encoder = RNNEncoder(make_embedding(20, 4, 0), 3, num_layers)
    lengths = torch.tensor([4, 0, 2, 5])
    ids = torch.randint(1, 20, (4, 5)) * lengths_to_mask(lengths, 5)
    out = encoder(ids, lengths)
    directions = encoder.directions(ids, lengths)
    for b, n in enumerate(lengths.tolist()):
        states = out.states[b, :n]  # (n, 6)
        assert torch.equal(directions.forward[:n, b], states[:, :3])
        assert torch.equal(directions.backward[:n, b], states.flip(0)[:, 3:])
