"""The scikit-learn contract. sklearn's common checks skip raw-text estimators, so the
data-free ones run here by name, next to our own checks with texts."""

import pickle

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import estimator_checks

from bilstm_attn import BiLSTMAttentionClassifier, Seq2SeqTranslator

DATA_FREE_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_get_params_invariance",
    "check_set_params",
    "check_parameters_default_constructible",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimator_tags_renamed",
    "check_mixin_order",
]


@pytest.mark.parametrize("estimator", [BiLSTMAttentionClassifier, Seq2SeqTranslator])
@pytest.mark.parametrize("check", DATA_FREE_CHECKS)
def test_sklearn_data_free_checks(check, estimator):
    getattr(estimator_checks, check)(estimator.__name__, estimator())


def test_tags_say_raw_strings():
    tags = BiLSTMAttentionClassifier().__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert is_classifier(BiLSTMAttentionClassifier())


def test_init_is_keyword_only():
    with pytest.raises(TypeError):
        BiLSTMAttentionClassifier("word")


def test_clone_then_fit(fitted, reviews):
    train, test = reviews
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "module_") and not hasattr(copy, "classes_")
    copy.fit(train["text"], train["label"])
    np.testing.assert_array_equal(
        copy.predict_proba(test["text"]), fitted.predict_proba(test["text"])
    )


def test_pickle_round_trip(fitted, reviews):
    _, test = reviews
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        restored.predict_proba(test["text"]), fitted.predict_proba(test["text"])
    )
    assert all(p.device.type == "cpu" for p in restored.module_.parameters())
    assert restored.tokenizer_.get_vocab() == fitted.tokenizer_.get_vocab()
    assert restored.history_ == fitted.history_


def test_unfitted_pickles_too():
    restored = pickle.loads(pickle.dumps(BiLSTMAttentionClassifier(hidden_size=7)))
    assert restored.hidden_size == 7


def test_pipeline(tiny_params, reviews):
    train, test = reviews
    pipe = make_pipeline(
        FunctionTransformer(lambda texts: [t.lower() for t in texts]),
        BiLSTMAttentionClassifier(**tiny_params),
    )
    pipe.fit(train["text"][:300], train["label"][:300])
    assert pipe.predict(test["text"]).shape == (len(test),)
    assert pipe.predict_proba(test["text"]).shape == (len(test), 2)


def test_grid_search_in_parallel_and_cross_val_score(tiny_params, reviews):
    """Two loky workers score exactly what fits in this process score (same seed, same
    one torch thread, the same computation)."""
    train, _ = reviews
    X, y = train["text"][:200].tolist(), train["label"][:200].to_numpy()
    params = {**tiny_params, "max_epochs": 2}
    grid = GridSearchCV(
        make_pipeline(BiLSTMAttentionClassifier(**params)),
        {"bilstmattentionclassifier__attention": ["dot", "additive"]},
        cv=2,
        n_jobs=2,
        error_score="raise",
    ).fit(X, y)
    folds = list(StratifiedKFold(2).split(X, y))
    for attention, score in zip(
        grid.cv_results_["param_bilstmattentionclassifier__attention"],
        grid.cv_results_["mean_test_score"],
        strict=True,
    ):
        here = [
            BiLSTMAttentionClassifier(**params, attention=attention)
            .fit([X[i] for i in fit], y[fit])
            .score([X[i] for i in held], y[held])
            for fit, held in folds
        ]
        assert score == np.mean(here), attention
    assert grid.best_estimator_.predict(X[:3]).tolist() == grid.predict(X[:3]).tolist()
    scores = cross_val_score(BiLSTMAttentionClassifier(**params), X, y, cv=3, n_jobs=2)
    here = [
        BiLSTMAttentionClassifier(**params)
        .fit([X[i] for i in fit], y[fit])
        .score([X[i] for i in held], y[held])
        for fit, held in StratifiedKFold(3).split(X, y)
    ]
    np.testing.assert_array_equal(scores, here)


def _fit_and_count_threads(params, X, y):
    BiLSTMAttentionClassifier(**params).fit(X, y)
    return torch.get_num_threads()


def test_parallel_workers_use_one_torch_thread_each(tiny_params, reviews):
    """Two loky workers on two cores: one torch thread each, no oversubscription."""
    train, _ = reviews
    X, y = list(train["text"][:60]), list(train["label"][:60])
    threads = Parallel(n_jobs=2)(
        delayed(_fit_and_count_threads)({**tiny_params, "max_epochs": 1}, X, y) for _ in range(2)
    )
    assert threads == [1, 1]
