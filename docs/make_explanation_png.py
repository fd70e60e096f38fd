"""Draw docs/explanation.png, the README's picture of an explanation report.

    python docs/make_explanation_png.py [--data-home ../shared/data]

Trains BiLSTMAttentionClassifier with default parameters on SST-2's training split
(about 2 minutes on 2 CPU cores), explains three sentences by attention and by
integrated gradients, writes the report with ``save_html`` and photographs it with
headless Chromium (``chromium`` must be on the PATH).
"""

import argparse
import subprocess
import tempfile
from pathlib import Path

from bilstm_attn import BiLSTMAttentionClassifier
from bilstm_attn.datasets import load_dataset
from bilstm_attn.explain import save_html

HERE = Path(__file__).resolve().parent
SENTENCES = [
    "a gorgeous , witty , seductive movie .",
    "the story is far too thin and the jokes fall flat .",
    "it 's not a great film , but it is a charming and often moving one .",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=str(HERE.parent / ".." / "shared" / "data"))
    args = parser.parse_args()
    train = load_dataset("sst2", "train", args.data_home)
    clf = BiLSTMAttentionClassifier(random_state=0).fit(train["text"], train["label"])
    explanations = []
    for method in ("attention", "integrated_gradients"):
        explanations += clf.explain(SENTENCES, method=method, n_steps=200)
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.html"
        save_html(explanations, report)
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--hide-scrollbars",
             f"--screenshot={HERE / 'explanation.png'}", "--window-size=900,520",
             report.as_uri()],
            check=True, capture_output=True,
        )  # fmt: skip
    print(f"wrote {HERE / 'explanation.png'}")


if __name__ == "__main__":
    main()
