"""Same seed, same model: bit for bit in two processes, for every tokenizer kind.

Each fit runs in a fresh process: HF ``tokenizers`` seeds its hash maps per process, so
a nondeterministic trainer agrees with itself within one process and differs across two.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

KINDS = ["word", "bpe", "wordpiece", "unigram", "auto", "auto (switches to wordpiece)"]

_FITS = """
import json, sys
import torch
torch.set_num_threads(int(sys.argv[1]))
from bilstm_attn import BiLSTMAttentionClassifier, Seq2SeqTranslator
from bilstm_attn.datasets import make_dates, make_reviews

reviews = make_reviews(240, random_state=0)
stems = ["영화", "배우", "감독", "연기", "음악", "장면"]
endings = ["이", "가", "을", "를", "은", "는", "도", "와", "과", "로", "에", "의"]
korean = [f"{s}{e} 정말 좋아요" if (i + j) % 2 else f"{s}{e} 너무 지루해요"
          for i, s in enumerate(stems) for j, e in enumerate(endings)]
korean_y = ["positive" if "좋아요" in text else "negative" for text in korean]
mixed, mixed_y = list(reviews["text"]) + korean, list(reviews["label"]) + korean_y
params = dict(embedding_dim=16, hidden_size=16, min_frequency=2, batch_size=32,
              learning_rate=0.01, max_epochs=3, random_state=0, vocab_size=300)
out = {}
for kind in ["word", "bpe", "wordpiece", "unigram", "auto"]:
    clf = BiLSTMAttentionClassifier(**params, tokenizer=kind).fit(mixed, mixed_y)
    out[kind] = [type(clf.tokenizer_.model).__name__, clf.predict_proba(mixed).tolist()]
clf = BiLSTMAttentionClassifier(**params, tokenizer="auto").fit(korean, korean_y)
out["auto (switches to wordpiece)"] = [
    type(clf.tokenizer_.model).__name__, clf.predict_proba(korean).tolist()
]
dates = make_dates(200, random_state=0)
translator = Seq2SeqTranslator(tokenizer="bpe", vocab_size=60, hidden_size=16,
                               embedding_dim=8, max_epochs=2, random_state=0)
translator.fit(dates["source"], dates["target"])
out["translator"] = [translator.predict(list(dates["source"][:50])),
                     [r["valid_loss"] for r in translator.history_]]
print(json.dumps(out))
"""


def _fits_in_a_new_process(threads: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _FITS, str(threads)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": str(threads)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def fits() -> dict[str, dict]:
    return {
        "first": _fits_in_a_new_process(1),
        "second": _fits_in_a_new_process(1),
        "two threads": _fits_in_a_new_process(2),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_seed_gives_the_same_model_in_another_process(fits, kind):
    first, second = fits["first"][kind], fits["second"][kind]
    assert first[0] == second[0]  # the same kind of tokenizer model
    assert first[1] == second[1]  # every probability, bit for bit (JSON keeps 17 digits)


def test_auto_resolves_as_documented(fits):
    assert fits["first"]["auto"][0] == "WordLevel"
    assert fits["first"]["auto (switches to wordpiece)"][0] == "WordPiece"


def test_the_translator_too(fits):
    assert fits["first"]["translator"] == fits["second"]["translator"]


@pytest.mark.parametrize("kind", KINDS)
def test_two_torch_threads_agree_to_float32_rounding(fits, kind):
    """Another thread count sums in another order: equal to float32 rounding (1e-5 on
    probabilities after three epochs of training), not bit for bit."""
    one, two = fits["first"][kind][1], fits["two threads"][kind][1]
    np.testing.assert_allclose(np.array(two), np.array(one), rtol=0, atol=1e-5)
