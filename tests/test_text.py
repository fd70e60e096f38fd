import numpy as np
import pytest
from tokenizers import Tokenizer

from bilstm_attn.datasets import make_reviews
from bilstm_attn.text import (
    TOKENIZER_KINDS,
    bucket_batches,
    build_tokenizer,
    encode,
    encode_ahead,
    encode_with_offsets,
    load_tokenizer,
    pad_batch,
    pad_id,
    piece_word_index,
    sorted_batches,
    truncate,
    vocab_size,
    word_spans,
)

CORPUS = [
    "The film was GREAT, truly great!",
    "영화가 정말 재미있어요 ㅋㅋ 최고의 영화",
    "I love it 😀😀 so much",
    "ﬁne ﬁlm with ﬂair",
    "ctrl\x00\x07 chars here",
    "",
    "   ",
] * 10


@pytest.fixture(scope="module", params=TOKENIZER_KINDS)
def tokenizer(request):
    return build_tokenizer(request.param, CORPUS, vocab_size=120, min_frequency=1)


def test_special_ids(tokenizer):
    assert pad_id(tokenizer) == 0 and tokenizer.token_to_id("[UNK]") == 1
    assert vocab_size(tokenizer) == tokenizer.get_vocab_size()


@pytest.mark.parametrize(
    "text",
    [
        "The film was GREAT, truly great!",
        "영화가 정말 재미있어요 ㅋㅋ",
        "I love it 😀😀 so much",
        "ﬁne ﬁlm",
        "ctrl\x00\x07 chars",
        "never seen: ξένος λόγος",
    ],
)
def test_offsets_map_pieces_back_to_original_words(tokenizer, text):
    ((ids, offsets),) = encode_with_offsets(tokenizer, [text], None)
    assert len(ids) == len(offsets) > 0
    spans = word_spans(text)
    index = piece_word_index(offsets, spans)
    for (start, end), word in zip(offsets, index):
        word_start, word_end = spans[word]
        assert word_start <= start < end <= word_end  # each piece lies inside its word
    # every word that holds a non-space character gets at least one piece
    assert set(index.tolist()) == set(range(len(spans)))


def test_korean_words_are_kept_whole_by_word_tokenizer():
    tok = build_tokenizer("word", CORPUS, min_frequency=1)
    ((ids, offsets),) = encode_with_offsets(tok, ["정말 재미있어요"], None)
    assert [tok.id_to_token(i) for i in ids] == ["정말", "재미있어요"]
    assert offsets == [(0, 2), (3, 8)]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_texts_encode_to_nothing(tokenizer, text):
    assert encode(tokenizer, [text], None)[0].size == 0
    assert piece_word_index([], word_spans(text)).size == 0


def test_unseen_characters_map_to_unknown():
    tok = build_tokenizer("word", CORPUS, min_frequency=1)
    assert encode(tok, ["zzzqqq 🦄"], None)[0].tolist() == [1, 1]


def test_lowercase_and_nfkc():
    lower = build_tokenizer("word", CORPUS, min_frequency=1)
    cased = build_tokenizer("word", CORPUS, min_frequency=1, lowercase=False)
    assert encode(lower, ["GREAT"], None)[0].tolist() == encode(lower, ["great"], None)[0].tolist()
    assert cased.token_to_id("GREAT") is not None and lower.token_to_id("GREAT") is None
    assert lower.token_to_id("fine") is not None  # the "ﬁ" ligature became "fi"


def test_min_frequency_and_vocab_size_limit_the_vocabulary():
    texts = ["common word"] * 5 + ["rare"]
    tok = build_tokenizer("word", texts, min_frequency=2)
    assert tok.token_to_id("common") is not None and tok.token_to_id("rare") is None
    english = make_reviews(200, random_state=0)["text"].str.lower().tolist()
    for kind in TOKENIZER_KINDS:  # 150 is above the sub-word alphabet of this corpus
        size = build_tokenizer(kind, english, vocab_size=150, min_frequency=1).get_vocab_size()
        assert size <= 150


def test_max_length_keeps_the_first_pieces():
    tok = build_tokenizer("word", CORPUS, min_frequency=1)
    full = encode(tok, ["the film was great"], None)[0]
    cut = encode(tok, ["the film was great"], 2)[0]
    assert cut.tolist() == full[:2].tolist()
    ((ids, offsets),) = encode_with_offsets(tok, ["the film was great"], 2)
    assert len(ids) == len(offsets) == 2


@pytest.mark.parametrize(
    ("truncation", "kept"),
    [
        ("head", [0, 1, 2, 3, 4, 5, 6, 7]),
        ("tail", [12, 13, 14, 15, 16, 17, 18, 19]),
        ("head_tail", [0, 1, 14, 15, 16, 17, 18, 19]),  # a quarter from the head
    ],
)
def test_truncation_keeps_max_length_pieces_in_order(truncation, kept):
    assert truncate(list(range(20)), 8, truncation) == kept
    assert truncate(list(range(5)), 8, truncation) == list(range(5))  # short: all of it
    assert truncate(list(range(20)), None, truncation) == list(range(20))
    assert truncate(np.arange(20), 8, truncation).tolist() == kept  # arrays too


@pytest.mark.parametrize("truncation", ["head", "tail", "head_tail"])
def test_ids_and_offsets_are_cut_alike(truncation):
    tok = build_tokenizer("word", CORPUS, min_frequency=1)
    text = "the film was great and the acting was awful but the end was great"
    full_ids, full_offsets = encode_with_offsets(tok, [text], None)[0]
    ids, offsets = encode_with_offsets(tok, [text], 6, truncation)[0]
    kept = truncate(list(range(len(full_ids))), 6, truncation)
    assert ids.tolist() == full_ids[kept].tolist() == encode(tok, [text], 6, truncation)[0].tolist()
    assert offsets == [full_offsets[i] for i in kept]


def _ascii_texts(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 128, size=(n, 40))
    texts = ["".join(map(chr, row[: rng.integers(0, 41)])) for row in codes]
    odd = ["The FILM, truly_great!! 42", "[PAD] in [pad] and [Unk]s", "a\x1c\x1fb\x0bc\x00d"]
    return texts + odd


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
def test_ascii_texts_skip_the_normalizer_and_encode_alike(kind, lowercase):
    from bilstm_attn.text import _ascii_twin

    tok = build_tokenizer(kind, CORPUS + _ascii_texts(0, 200), min_frequency=1, lowercase=lowercase)
    assert _ascii_twin(tok) is not None  # the shortcut is taken
    texts = _ascii_texts(1, 300) + CORPUS[:7]  # with non-ASCII texts between them
    expected = tok.encode_batch(texts, add_special_tokens=False)
    assert [ids.tolist() for ids in encode(tok, texts, None)] == [e.ids for e in expected]
    with_offsets = encode_with_offsets(tok, texts, None)
    assert [offsets for _, offsets in with_offsets] == [e.offsets for e in expected]


def test_a_text_with_an_added_token_goes_through_the_tokenizer():
    tok = build_tokenizer("word", CORPUS + ["pad unk"], min_frequency=1)
    (ids,) = encode(tok, ["x [PAD] pad [UNK]"], None)
    assert ids.tolist() == tok.encode("x [PAD] pad [UNK]", add_special_tokens=False).ids
    assert ids.tolist()[1] == pad_id(tok)  # split off as the special token, not "[", "pad"


def test_no_shortcut_where_the_normalizer_changes_ascii_text():
    from tokenizers import normalizers

    from bilstm_attn.text import _ascii_twin

    tok = build_tokenizer("word", CORPUS, min_frequency=1)
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace("a", "b")])
    assert _ascii_twin(tok) is None
    assert encode(tok, ["a banana"], None)[0].tolist() == tok.encode("a banana").ids
    tok.normalizer = None
    assert _ascii_twin(tok) is None


def test_encode_ahead_gives_encode_in_doubling_chunks_shortest_first():
    tok = build_tokenizer("word", CORPUS, min_frequency=1)
    texts = [f"{text} {i}" for i, text in enumerate(CORPUS * 3)]  # 210 texts
    chunks = list(encode_ahead(tok, texts, 5, "head_tail", first=8, largest=64))
    assert [len(index) for index, _ in chunks] == [8, 16, 32, 64, 64, 26]
    index = np.concatenate([index for index, _ in chunks])
    assert sorted(index.tolist()) == list(range(len(texts)))  # each text once
    chars = [len(texts[i]) for i in index]
    assert chars == sorted(chars)  # shortest first
    whole = encode(tok, texts, 5, "head_tail")
    for index, sequences in chunks:
        assert [ids.tolist() for ids in sequences] == [whole[i].tolist() for i in index]
    assert list(encode_ahead(tok, [], 5)) == []


def test_encode_ahead_raises_what_the_tokenizer_raised():
    tok = build_tokenizer("word", CORPUS, min_frequency=1)
    with pytest.raises(ValueError, match="unknown truncation"):
        list(encode_ahead(tok, ["a text"] * 20, 1, "middle", first=4))


def test_unknown_truncation_is_refused():
    with pytest.raises(ValueError, match="unknown truncation 'middle'"):
        truncate(list(range(9)), 4, "middle")


def test_ready_tokenizer_is_copied_not_mutated(tmp_path):
    original = build_tokenizer("wordpiece", CORPUS, vocab_size=100, min_frequency=1)
    original.enable_truncation(3)
    before = original.to_str()
    copy = load_tokenizer(original)
    assert copy.truncation is None and original.to_str() == before
    path = tmp_path / "tokenizer.json"
    original.save(str(path))
    assert load_tokenizer(path).get_vocab() == original.get_vocab()


def test_tokenizer_without_pad_token_gets_a_pad_id_past_its_vocabulary():
    from tokenizers import models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"a": 0, "b": 1, "<unk>": 2}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    assert pad_id(tok) == 3 and vocab_size(tok) == 4


def test_pad_batch():
    ids, lengths = pad_batch([np.array([5, 6, 7]), np.array([], dtype=np.int64)], pad=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 0]] and lengths.tolist() == [3, 0]
    ids, lengths = pad_batch([np.array([], dtype=np.int64)], pad=9)
    assert ids.shape == (1, 1) and lengths.tolist() == [0]


def test_bucket_batches_cover_everything_once_and_group_lengths():
    lengths = np.random.default_rng(0).integers(1, 200, size=1000)
    batches = list(bucket_batches(lengths, 32, np.random.default_rng(1), bucket_size=10))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 0.2 * np.ptp(lengths)  # far less padding than random batches
    again = list(bucket_batches(lengths, 32, np.random.default_rng(1), bucket_size=10))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    ordered = list(bucket_batches(lengths, 32))
    assert np.all(np.diff(lengths[np.concatenate(ordered)]) >= 0)


@pytest.mark.parametrize("max_tokens", [1, 50, 640, 10_000])
def test_sorted_batches_fill_a_token_budget(max_tokens):
    lengths = np.random.default_rng(0).integers(0, 120, size=500)
    batches = sorted_batches(lengths, max_tokens)
    order = np.concatenate(batches)
    assert sorted(order.tolist()) == list(range(500))
    assert np.all(np.diff(lengths[order]) >= 0)  # sorted by length
    for batch in batches:  # within the budget, unless a single text is longer
        assert len(batch) == 1 or len(batch) * max(lengths[batch].max(), 1) <= max_tokens
    for i, batch in enumerate(batches[:-1]):  # as full as the budget allows, in eights
        after = np.concatenate(batches[i + 1 :])
        if len(batch) < 8:
            assert (len(batch) + 1) * max(lengths[after[0]], 1) > max_tokens
        else:
            assert len(batch) % 8 == 0
            if len(after) >= 8:
                assert (len(batch) + 8) * max(lengths[after[7]], 1) > max_tokens
            else:  # what is left did not fit beside this batch, or it would be the last
                assert (len(batch) + len(after)) * max(lengths[after[-1]], 1) > max_tokens


@pytest.mark.parametrize("multiple", [0, -8, 2.5, True])
def test_sorted_batches_refuse_a_bad_multiple(multiple):
    with pytest.raises(ValueError, match="multiple must be a positive int"):
        sorted_batches(np.array([3, 1, 2]), 10, multiple)
