"""The deterministic BPE learner, and trained tokenizers that are the same in every process."""

import json
import random
import subprocess
import sys
from collections import Counter

import pytest
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from bilstm_attn.datasets import make_reviews
from bilstm_attn.subword import count_words, learn_bpe
from bilstm_attn.text import TOKENIZER_KINDS, build_tokenizer


def _word_level_pipeline(lowercase: bool = True) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return tokenizer


def test_count_words_counts_what_the_pre_tokenizer_makes():
    texts = ["The film, the FILM!", "ﬁlm noir", "", "   ", "영화 영화가"] * 3
    pipeline = _word_level_pipeline()
    expected = Counter()
    for text in texts:
        normalized = pipeline.normalizer.normalize_str(text)
        expected.update(word for word, _ in pipeline.pre_tokenizer.pre_tokenize_str(normalized))
    assert count_words(pipeline, texts) == sorted(expected.items())


def test_merges_by_hand():
    counts = [("hug", 10), ("pug", 5), ("pun", 12), ("bun", 4), ("hugs", 5)]
    learnt = learn_bpe(counts, vocab_size=100, min_frequency=5)
    # ##u ##g 20; then ##u ##n 16 (p ##u fell to 12); h ##ug 15; p ##un 12; two pairs
    # of 5, p ##ug before hug ##s (p has the smaller id); b ##un (4) is under min_frequency
    assert learnt.merges == [
        ("##u", "##g"),
        ("##u", "##n"),
        ("h", "##ug"),
        ("p", "##un"),
        ("p", "##ug"),
        ("hug", "##s"),
    ]
    assert learnt.vocab["hugs"] == len(learnt.vocab) - 1 and "bun" not in learnt.vocab


def test_ties_go_to_the_smallest_ids_whatever_the_order_of_the_words():
    counts = [("ab", 3), ("cd", 3), ("ef", 3)]  # three pairs seen 3 times each
    learnt = learn_bpe(counts, vocab_size=100)
    assert learnt.merges == [("a", "##b"), ("c", "##d"), ("e", "##f")]
    words = [(f"w{i}x{i % 7}y", 1 + i % 3) for i in range(200)]
    shuffled = list(words)
    random.Random(0).shuffle(shuffled)
    assert learn_bpe(shuffled, vocab_size=300) == learn_bpe(words, vocab_size=300)


def test_vocab_size_stops_the_merges_and_specials_come_first():
    counts = count_words(_word_level_pipeline(), make_reviews(200, random_state=0)["text"])
    learnt = learn_bpe(counts, vocab_size=150, special_tokens=["[PAD]", "[UNK]"])
    assert len(learnt.vocab) == 150
    assert learnt.vocab["[PAD]"] == 0 and learnt.vocab["[UNK]"] == 1
    assert sorted(learnt.vocab.values()) == list(range(150))


@pytest.mark.parametrize("vocab_size", [300, 2000])
def test_without_a_prefix_it_equals_hf_bpe_trainer(vocab_size):
    """HF's BpeTrainer is deterministic without a continuing prefix (its ids come from a
    sorted alphabet): there the two must agree piece for piece and merge for merge."""
    texts = list(make_reviews(1000, random_state=0)["text"])
    specials = ["[PAD]", "[UNK]"]
    hf = _word_level_pipeline()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=specials, show_progress=False
    )
    hf.train_from_iterator(texts, trainer=trainer)
    state = json.loads(hf.to_str())["model"]
    hf_merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["merges"]]
    ours = learn_bpe(
        count_words(_word_level_pipeline(), texts),
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=specials,
        continuing_subword_prefix=None,
    )
    assert ours.vocab == state["vocab"]
    assert ours.merges == hf_merges


def test_empty_and_blank_texts_give_the_specials_only():
    learnt = learn_bpe(count_words(_word_level_pipeline(), ["", "  "]), vocab_size=50,
                       special_tokens=["[PAD]", "[UNK]"])  # fmt: skip
    assert learnt.vocab == {"[PAD]": 0, "[UNK]": 1} and learnt.merges == []
    for kind in TOKENIZER_KINDS:
        tokenizer = build_tokenizer(kind, ["", "   "], vocab_size=50, min_frequency=1)
        assert set(tokenizer.encode("anything").ids) <= {1}  # [UNK]s (none for unigram)


# Texts full of ties: the same few words, and Korean words that share their syllables.
_TIED = ["a wonderful film", "an awful film", "wonderful acting", "awful acting"] * 6 + [
    "정말 재미있어요",
    "너무 지루해요",
    "최고의 영화 재미있어요",
    "지루하고 별로예요",
] * 8
_KINDS = [(kind, generation) for kind in ("bpe", "wordpiece", "unigram", "word")
          for generation in (False, True)]  # fmt: skip
_BUILD = """
import json, sys
from bilstm_attn.text import build_tokenizer
texts, kinds = json.loads(sys.stdin.read())
options = dict(vocab_size=200, min_frequency=1)
built = [build_tokenizer(k, texts, generation=g, **options).to_str() for k, g in kinds]
print(json.dumps(built))
"""


@pytest.fixture(scope="module")
def built_in_two_processes() -> list[list[str]]:
    def run() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", _BUILD],
            input=json.dumps([_TIED, _KINDS]),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    return [run(), run()]


@pytest.mark.parametrize(("kind", "generation"), _KINDS)
def test_the_same_texts_give_the_same_tokenizer_in_every_process(
    built_in_two_processes, kind, generation
):
    """HF's BPE, WordPiece and Unigram trainers iterate hash maps seeded per process."""
    at = _KINDS.index((kind, generation))
    first, second = (built[at] for built in built_in_two_processes)
    assert first == second
    here = build_tokenizer(kind, _TIED, vocab_size=200, min_frequency=1, generation=generation)
    assert here.to_str() == first
