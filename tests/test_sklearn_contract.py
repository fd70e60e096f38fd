"""The scikit-learn contract. sklearn's common checks skip raw-text estimators, so the
data-free ones run here by name, next to our own checks with texts."""

import pickle

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, cross_val_score
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
    train, _ = reviews
    X, y = train["text"][:200], train["label"][:200]
    grid = GridSearchCV(
        make_pipeline(BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 2})),
        {"bilstmattentionclassifier__attention": ["dot", "additive"]},
        cv=2,
        n_jobs=2,
        error_score="raise",
    ).fit(X, y)
    assert set(grid.cv_results_["param_bilstmattentionclassifier__attention"]) == {
        "dot",
        "additive",
    }
    assert grid.best_estimator_.predict(X[:3]).shape == (3,)
    scores = cross_val_score(
        BiLSTMAttentionClassifier(**{**tiny_params, "max_epochs": 2}), X, y, cv=3
    )
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


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
