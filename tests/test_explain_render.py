import numpy as np

from bilstm_attn.explain import attention_by_word
from bilstm_attn.render import highlight_ansi


def test_attention_by_word_sums_pieces_onto_the_original_words(fitted):
    texts = ["The acting was SUPERB!", "", "정말 좋아요 😀"]
    result = attention_by_word(fitted, texts)
    assert result[0].words == ["The", "acting", "was", "SUPERB!"]
    np.testing.assert_allclose(result[0].weights.sum(), 1.0, atol=1e-5)
    assert result[1].words == [] and result[1].weights.shape == (0,)
    assert result[2].words == ["정말", "좋아요", "😀"]
    assert result[0].head_weights.shape == (1, 4)


def test_attention_rests_on_deciding_words_of_the_bundled_corpus(fitted, reviews):
    _, test = reviews
    explained = attention_by_word(fitted, test["text"])
    hits = [
        int(np.argmax(e.weights)) in row.rationale for e, row in zip(explained, test.itertuples())
    ]
    chance = np.mean([len(r) / len(t.split()) for r, t in zip(test["rationale"], test["text"])])
    assert chance < 0.06 and np.mean(hits) > 5 * chance


def test_highlight_ansi():
    words = ["a", "great\x1b[2J", "film"]
    plain = highlight_ansi(words, np.array([0.1, 0.8, 0.1]), color=False, top_k=1)
    assert plain == "a [great\\x1b[2J] film"
    colored = highlight_ansi(words, np.array([0.0, 0.8, 0.2]))
    assert colored.count("\x1b[48;5;") == 2 and "\x1b[2J" not in colored
    assert highlight_ansi([], np.array([])) == ""
