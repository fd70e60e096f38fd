"""Choose the attention score and the model size by cross-validation in a Pipeline.

    python examples/grid_search_pipeline.py [--data-home DIR]

BiLSTMAttentionClassifier is an ordinary scikit-learn estimator over raw texts, so it
goes into ``Pipeline`` and ``GridSearchCV`` unchanged; here a FunctionTransformer strips
the trailing " ?" of TREC questions before the classifier sees them. Uses TREC (6 answer
types) from ``load_dataset``; about a minute on 2 CPU cores with 2 parallel jobs (each
worker gets one torch thread).
"""

import argparse

import pandas as pd
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset


def strip_question_mark(texts):
    return [text.removesuffix(" ?") for text in texts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()

    train = load_dataset("trec", "train", args.data_home)
    test = load_dataset("trec", "test", args.data_home)

    pipeline = make_pipeline(
        FunctionTransformer(strip_question_mark),
        BiLSTMAttentionClassifier(embedding_dim=64, max_epochs=8, random_state=0),
    )
    grid = {
        "bilstmattentionclassifier__attention": ["dot", "additive"],
        "bilstmattentionclassifier__hidden_size": [32, 64],
    }
    search = GridSearchCV(pipeline, grid, cv=3, n_jobs=args.n_jobs, verbose=1)
    search.fit(train["text"], train["label"])

    results = pd.DataFrame(search.cv_results_)
    columns = [
        "param_bilstmattentionclassifier__attention",
        "param_bilstmattentionclassifier__hidden_size",
        "mean_test_score",
        "std_test_score",
    ]
    print(results[columns].sort_values("mean_test_score", ascending=False).to_string(index=False))
    print(f"best: {search.best_params_}")
    print(
        f"test accuracy of the refitted best pipeline: "
        f"{search.score(test['text'], test['label']):.4f}"
    )


if __name__ == "__main__":
    main()
