"""Search properties on a small randomly initialised (and a trained) network."""

import numpy as np
import pytest
import torch

from bilstm_attn._base import make_scorer
from bilstm_attn.decoding import beam_search, greedy_decode, length_penalty
from bilstm_attn.nn import (
    Attention,
    BahdanauDecoder,
    DecoderState,
    LuongDecoder,
    RNNEncoder,
    Seq2SeqNet,
    make_embedding,
)

V, E, H = 12, 8, 6
BOS, EOS = 2, 3


def make_net(decoder_cls, attention="additive", seed=0):
    torch.manual_seed(seed)
    encoder = RNNEncoder(make_embedding(V, E, 0), H)
    scorer = make_scorer(attention, 2 * H, 2 * H)
    decoder = decoder_cls(make_embedding(V, E, 0), Attention(scorer), 2 * H, 2 * H, V)
    return Seq2SeqNet(encoder, decoder).eval()


def sources():
    torch.manual_seed(1)
    lengths = torch.tensor([5, 3, 1, 4])
    ids = torch.randint(4, V, (4, 5))
    for row, n in enumerate(lengths):
        ids[row, n:] = 0
    return ids, lengths


DECODERS = [BahdanauDecoder, LuongDecoder]
ATTENTIONS = ["additive", "dot", "general", "scaled_dot"]


@pytest.mark.parametrize("decoder_cls", DECODERS)
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_greedy_equals_beam_of_one(decoder_cls, attention):
    net = make_net(decoder_cls, attention)
    ids, lengths = sources()
    greedy = greedy_decode(net, ids, lengths, bos=BOS, eos=EOS, max_length=9)
    beam = beam_search(net, ids, lengths, bos=BOS, eos=EOS, max_length=9, beam_size=1)
    assert greedy.tokens == beam.tokens
    np.testing.assert_allclose(greedy.scores, beam.scores, atol=1e-5)
    np.testing.assert_array_equal(greedy.finished, beam.finished)
    for a, b in zip(greedy.attention, beam.attention):
        np.testing.assert_allclose(a, b, atol=1e-5)  # two code paths, float32


@pytest.mark.parametrize("decoder_cls", DECODERS)
@pytest.mark.parametrize("beam_size", [1, 3, 5])
def test_scores_never_increase_and_attention_rows_are_distributions(decoder_cls, beam_size):
    net = make_net(decoder_cls)
    ids, lengths = sources()
    result = beam_search(net, ids, lengths, bos=BOS, eos=EOS, max_length=8, beam_size=beam_size)
    for b in range(4):
        cumulative = result.token_scores[b]
        assert np.all(np.diff(cumulative) <= 1e-7) and np.all(cumulative <= 0)
        assert result.scores[b] <= (cumulative[-1] if len(cumulative) else 0) + 1e-6
        matrix = result.attention[b]
        assert matrix.shape == (len(result.tokens[b]), int(lengths[b]))
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
        assert EOS not in result.tokens[b] and BOS not in result.tokens[b]


def test_batched_search_equals_one_source_at_a_time():
    net = make_net(BahdanauDecoder)
    ids, lengths = sources()
    together = beam_search(net, ids, lengths, bos=BOS, eos=EOS, max_length=7, beam_size=3)
    for b in range(4):
        n = int(lengths[b])
        alone = beam_search(
            net, ids[b : b + 1, :n], lengths[b : b + 1], bos=BOS, eos=EOS, max_length=7, beam_size=3
        )
        assert alone.tokens[0] == together.tokens[b]
        np.testing.assert_allclose(alone.scores[0], together.scores[b], atol=1e-5)


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_max_length_stops_unfinished_outputs(search):
    net = make_net(LuongDecoder)
    ids, lengths = sources()

    def run(max_length: int):
        if search == "greedy":
            return greedy_decode(net, ids, lengths, bos=BOS, eos=EOS, max_length=max_length)
        return beam_search(net, ids, lengths, bos=BOS, eos=EOS, max_length=max_length, beam_size=1)

    short, long = run(2), run(12)
    for b in range(4):
        assert len(short.tokens[b]) <= 2 and len(short.attention[b]) == len(short.tokens[b])
        assert short.tokens[b] == long.tokens[b][:2]  # the same steps, cut after two
        # finished only if it wrote [EOS] within those two steps
        assert bool(short.finished[b]) == (long.finished[b] and len(long.tokens[b]) < 2)
    assert any(len(t) == 2 for t in short.tokens)  # some outputs really were cut


def test_length_penalty():
    assert length_penalty(1, 0.0) == 1.0
    assert length_penalty(7, 1.0) == 2.0


@pytest.mark.parametrize("decoder_cls", DECODERS)
def test_teacher_forcing_matches_stepwise_decoding(decoder_cls):
    net = make_net(decoder_cls)
    ids, lengths = sources()
    target_in = torch.tensor([[BOS, 5, 6, 7]] * 4)
    logits, attention = net(ids, lengths, target_in)  # (B, T, V), (B, T, S)
    encoded = net.encode(ids, lengths)
    state = net.decoder.init_state(encoded)
    projected = net.decoder.project_keys(encoded.states)
    for t in range(4):
        out = net.decoder.step(target_in[:, t], state, encoded, projected)
        state = out.state
        torch.testing.assert_close(out.logits, logits[:, t])
        torch.testing.assert_close(out.attention, attention[:, t])
    assert torch.all(attention[1, :, 3:] == 0)  # padding gets no attention


@pytest.mark.parametrize("decoder_cls", DECODERS)
@pytest.mark.parametrize("num_layers", [1, 3])
def test_the_lstm_step_is_the_decoders_nn_lstm_over_one_step(decoder_cls, num_layers):
    """lstm_step runs the decoder's own nn.LSTM weights through torch.lstm_cell; over one
    step it gives what nn.LSTM gives, to float32 rounding (other kernels)."""
    torch.manual_seed(0)
    scorer = make_scorer("dot", 2 * H, 2 * H)
    decoder = decoder_cls(
        make_embedding(V, E, 0), Attention(scorer), 2 * H, 2 * H, V, num_layers=num_layers,
        dropout=0.3,
    ).eval()  # fmt: skip
    size = decoder.rnn.input_size
    x = torch.randn(4, size)
    hidden, cell = torch.randn(num_layers, 4, 2 * H), torch.randn(num_layers, 4, 2 * H)
    state = DecoderState(hidden, cell, torch.zeros(4, 2 * H))
    out, new_hidden, new_cell = decoder.lstm_step(x, state)
    expected, (expected_hidden, expected_cell) = decoder.rnn(x.unsqueeze(1), (hidden, cell))
    torch.testing.assert_close(out, expected.squeeze(1), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(new_hidden, expected_hidden, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(new_cell, expected_cell, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("decoder_cls", DECODERS)
def test_teacher_forcing_trains_every_weight_of_the_decoder(decoder_cls):
    net = make_net(decoder_cls).train()
    ids, lengths = sources()
    logits, _ = net(ids, lengths, torch.tensor([[BOS, 5, 6, 7]] * 4))
    logits.sum().backward()
    for name, parameter in net.decoder.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
