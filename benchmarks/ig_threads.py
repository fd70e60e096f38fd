"""Integrated gradients from several threads: the embeddings as the network's input (what
``explain`` does) against captum's layer hook on the shared embedding behind a lock.

    python benchmarks/ig_threads.py --model benchmarks/out/explain-memory-model \
        [--n-docs 40] [--threads 2] [--callers 1 4] [--rounds 3]

Both ways attribute the same thing (the gradient path from the embeddings to the
predicted class's probability, 50 steps from an all-[PAD] baseline); the hook cannot be
shared between concurrent calls, so that way needs a lock, and calls take turns. For
each number of calling threads, ``--rounds`` rounds alternate the two ways; each caller
explains the same ``--n-docs`` IMDB test reviews. Reports reviews per second (all callers
together), the median over rounds, and the largest difference between the two ways'
word weights. Writes ``benchmarks/results/ig-threads.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from bilstm_attn import load
from bilstm_attn.datasets import load_dataset
from bilstm_attn.explain import GRADIENT_PIECES, _to_words
from bilstm_attn.text import pad_batch, pad_id, sorted_batches

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from versions import machine  # noqa: E402

DATA = (HERE.parent / ".." / "shared" / "data").resolve()
# The layer the hook is attached to, shared by every call as a model's layer is (the
# library had one, nn.Identity over the embedded batch, until issue 21): hence the lock.
_EMBEDDED = torch.nn.Identity()
_LOCK = threading.Lock()


def hooked_integrated_gradients(clf, texts: list[str], n_steps: int = 50) -> list[np.ndarray]:
    """The baseline: captum's ``LayerIntegratedGradients`` on the shared embedding layer,
    one call at a time, with the library's batching."""
    from captum.attr import LayerIntegratedGradients

    encoded = clf.encode(texts)
    predicted = clf.predict_proba_ids([e.ids for e in encoded]).argmax(axis=1)
    module, pad = clf.module_, pad_id(clf.tokenizer_)

    def probability(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = _EMBEDDED(module.encoder.embed(ids))  # (B, S, E), hooked
        return module.classify(embedded, lengths).logits.softmax(-1)  # (B, C)

    scores: dict[int, np.ndarray] = {}
    lengths = np.array([len(e.ids) for e in encoded], dtype=np.int64)
    most = max(1, 512 // n_steps)  # the library's batching, to compare the hook alone
    batches = [
        part[start : start + most]
        for part in sorted_batches(lengths, GRADIENT_PIECES)
        for start in range(0, len(part), most)
    ]
    with _LOCK, torch.enable_grad():
        method = LayerIntegratedGradients(probability, _EMBEDDED)
        for chosen in batches:
            ids, lengths_t = pad_batch([encoded[r].ids for r in chosen], pad)  # (B, S), (B,)
            steps_at_once = max(1, GRADIENT_PIECES // ids.numel())
            attributions = method.attribute(
                ids,
                baselines=torch.full_like(ids, pad),
                target=predicted[chosen].tolist(),
                additional_forward_args=(lengths_t,),
                n_steps=n_steps,
                internal_batch_size=len(chosen) * min(n_steps, steps_at_once),
            )  # (B, S, E)
            per_piece = attributions.sum(-1).detach().double().numpy()  # (B, S)
            for row, r in enumerate(chosen):
                e = encoded[r]
                scores[r] = _to_words(per_piece[row, : len(e.ids)], e.word_index, len(e.words))
    return [scores[r] for r in range(len(encoded))]


def explicit_integrated_gradients(clf, texts: list[str]) -> list[np.ndarray]:
    """What the library does: ``explain(method="integrated_gradients")``."""
    return [e.weights for e in clf.explain(texts, method="integrated_gradients")]


WAYS = {"explicit input": explicit_integrated_gradients, "hook + lock": hooked_integrated_gradients}


def throughput(way, clf, texts: list[str], callers: int) -> float:
    """Reviews per second with ``callers`` threads each explaining all of ``texts``."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=callers) as pool:
        for future in [pool.submit(way, clf, texts) for _ in range(callers)]:
            future.result()
    return callers * len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a directory save() wrote")
    parser.add_argument("--n-docs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--callers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clf = load(args.model)
    texts = list(load_dataset("imdb", "test", DATA)["text"][: args.n_docs])
    first, second = (way(clf, texts) for way in WAYS.values())
    difference = max(float(np.abs(a - b).max(initial=0)) for a, b in zip(first, second))
    rows = []
    for callers in args.callers:
        runs: dict[str, list[float]] = {name: [] for name in WAYS}
        for _ in range(args.rounds):
            for name, way in WAYS.items():
                runs[name].append(throughput(way, clf, texts, callers))
        rows.append(
            {
                "callers": callers,
                "reviews_per_s": {name: float(np.median(r)) for name, r in runs.items()},
                "runs": runs,
            }
        )
        print(callers, {name: f"{np.median(r):.2f}" for name, r in runs.items()}, flush=True)
    result = {
        "benchmark": "ig_threads",
        "command": "python " + " ".join(["benchmarks/ig_threads.py", *sys.argv[1:]]),
        "machine": machine(),
        "threads": args.threads,
        "n_docs": args.n_docs,
        "max_weight_difference": difference,
        "rows": rows,
    }
    out = HERE / "results" / "ig-threads.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}; largest difference between the ways: {difference:.2e}")


if __name__ == "__main__":
    main()
