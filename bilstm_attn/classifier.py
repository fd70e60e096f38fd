"""BiLSTMAttentionClassifier: the scikit-learn estimator over raw texts."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from torch import nn

from bilstm_attn._base import RNN_CLASSES, SHARED_CONSTRAINTS, Choices, make_scorer
from bilstm_attn._estimator import TorchEstimator
from bilstm_attn._validation import (
    check_labels,
    check_sample_weight,
    check_texts,
    class_weights,
    encode_labels,
    sorted_classes,
)
from bilstm_attn.nn import (
    Attention,
    AttentionPooling,
    ClassifierNet,
    ClassifierOutput,
    RNNEncoder,
    make_embedding,
)
from bilstm_attn.persistence import PersistenceMixin, decode_classes, encode_classes
from bilstm_attn.text import (
    TRUNCATIONS,
    UNK_TOKEN,
    encode,
    encode_ahead,
    pad_batch,
    pad_id,
    read_word_vectors,
    truncate,
    vocab_size,
)
from bilstm_attn.word_vectors import ppmi_svd_vectors

__all__ = ["BiLSTMAttentionClassifier", "ClassifierBatch"]

T = TypeVar("T")

AUTO_SUBWORD_ABOVE = 0.15
"""``tokenizer="auto"`` trains wordpiece when more than this share of the training words
fall outside the word vocabulary (``benchmarks/RESULTS.md`` has the shares measured on the
benchmark corpora and what wordpiece did to their accuracy)."""


def unknown_share(tokenizer, sequences: list[np.ndarray]) -> float:
    """Share of the pieces in ``sequences`` that are the tokenizer's ``[UNK]``."""
    unk = tokenizer.token_to_id(UNK_TOKEN)
    total = sum(len(ids) for ids in sequences)
    if unk is None or total == 0:
        return 0.0
    return sum(int(np.count_nonzero(ids == unk)) for ids in sequences) / total


@dataclass
class ClassifierBatch:
    """One batch of training or validation texts, as ``get_loss`` and ``validation_step``
    receive it (tensors on the device of the fit).

    Attributes
    ----------
    ids : Tensor of shape (B, S), long
        Token ids, right-padded with the tokenizer's ``[PAD]``.
    lengths : Tensor of shape (B,), long
        Pieces of each text.
    targets : Tensor of shape (B,), long
        Position of each label in ``classes_``.
    weights : Tensor of shape (B,)
        ``sample_weight`` times ``class_weight``, scaled to a mean of 1 over the texts
        trained on.
    """

    ids: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor
    weights: torch.Tensor


@dataclass
class _LabelledTexts:
    """The checked training data of one fit (see ``_check_fit_data``)."""

    texts: list[str]
    classes: np.ndarray
    targets: np.ndarray  # (N,) positions in classes
    weights: np.ndarray  # (N,) sample_weight times class_weight

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class _EncodedTexts:
    """The training data encoded: what batches are cut from."""

    sequences: list[np.ndarray]
    lengths: np.ndarray
    targets: torch.Tensor  # (N,) on the device of the fit
    weights: torch.Tensor  # (N,)
    pad: int

    def batch(self, index: np.ndarray) -> ClassifierBatch:
        ids, lengths = pad_batch([self.sequences[i] for i in index], self.pad)  # (B, S), (B,)
        device = self.targets.device
        return ClassifierBatch(
            ids.to(device), lengths.to(device), self.targets[index], self.weights[index]
        )


class BiLSTMAttentionClassifier(PersistenceMixin, TorchEstimator, ClassifierMixin, BaseEstimator):
    """Text classifier: a bidirectional LSTM encoder with attention pooling.

    Raw texts go in; the estimator trains its own tokenizer on them, encodes them with a
    bidirectional LSTM (or GRU), pools the states with learned attention queries
    (Yang et al., 2016; Lin et al., 2017) and classifies the pooled vector. The pooling
    weights say which words a prediction rested on (they are not by themselves a
    faithful attribution; compare them with gradient-based ones).

    Parameters
    ----------
    tokenizer : {"auto", "word", "bpe", "wordpiece", "unigram"}, tokenizers.Tokenizer \
or path, default="auto"
        How texts are cut into pieces. A kind is trained on the texts given to ``fit``;
        a ready ``tokenizers.Tokenizer`` or the path of a ``tokenizer.json`` is copied
        (never changed) and used as it is. ``"auto"`` trains ``"word"``, and
        ``"wordpiece"`` instead when more than 15% of the training words are out of the
        word vocabulary (as in Korean, whose words carry particles).
    vocab_size : int, default=60000
        Largest vocabulary of a trained tokenizer. Words left out become ``[UNK]``.
    min_frequency : int, default=2
        Pieces seen fewer times in training are left out of a trained vocabulary.
    lowercase : bool, default=True
        Lowercase texts (after NFKC normalisation) in a trained tokenizer.
    max_length : int or None, default=800
        Longest sequence of pieces; longer texts are cut to ``max_length`` pieces as
        ``truncation`` says (the model does not see the rest). None keeps every piece.
    truncation : {"head_tail", "head", "tail"}, default="head_tail"
        Which pieces of a longer text are kept: the first ``max_length // 4`` and the
        last ``max_length - max_length // 4`` (``"head_tail"``), the first
        ``max_length`` (``"head"``) or the last ``max_length`` (``"tail"``).
    embedding_dim : int, default=128
        Size of the token embeddings.
    hidden_size : int, default=128
        State size of each LSTM direction (the pooled vector has 2 * hidden_size).
    num_layers : int, default=1
        Stacked bidirectional layers.
    rnn : {"lstm", "gru"}, default="lstm"
        Recurrent cell.
    attention : {"dot", "additive", "general", "scaled_dot"}, default="dot"
        Score function of the pooling attention: ``"dot"`` scores each state by its dot
        product with a learned query, ``"additive"`` by ``v^T tanh(W h + U q)``
        (``benchmarks/RESULTS.md`` compares them).
    attention_size : int or None, default=64
        Size of the additive score's tanh layer, ``v^T tanh(W h + U q)`` (None: the size
        of the states, 2 * hidden_size); the other scores have none.
    attention_heads : int, default=1
        Learned pooling queries; their contexts are concatenated.
    dropout : float, default=0.3
        Dropout on embeddings, between layers and on the pooled vector.
    pretrained_embeddings : "ppmi", str, path or None, default="ppmi"
        Where the embeddings start from. ``"ppmi"``: word vectors learned from the texts
        given to ``fit`` (whole, before truncation) before training: positive PMI of
        co-occurrences within 5 pieces and a truncated SVD
        (:mod:`bilstm_attn.word_vectors`). Any other string or path: a word2vec or GloVe
        text file, whose vector size must equal ``embedding_dim`` (write ``"./ppmi"`` for
        a file of that name). None: random.
    freeze_embeddings : bool, default=False
        Keep pretrained embeddings fixed.
    learning_rate : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=0.0
        AdamW decoupled weight decay.
    batch_size : int, default=64
        Texts per training batch (batches group texts of similar length).
    max_epochs : int, default=30
        Most passes over the training data (early stopping usually ends sooner).
    grad_clip : float or None, default=5.0
        Largest gradient norm; None turns clipping off.
    average_decay : float or None, default=0.999
        Validate, keep and predict with an exponential moving average of the weights
        over the training steps (Polyak averaging;
        :class:`~bilstm_attn.training.ParameterAverage`) instead of the weights of the
        last step: after step ``t`` the average moves by ``1 - d`` towards the weights,
        ``d = min(average_decay, (1 + t) / (10 + t))``: until ``d`` reaches
        ``average_decay`` (step 8,990 at 0.999) the average rests on about the last
        fifth of the steps taken, later on about the last ``1 / (1 - average_decay)``.
        Training itself is unchanged. None uses the trained weights as they are.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
    validation_fraction : float or None, default=0.1
        Share of the training texts held out (stratified) to pick the epoch with the
        best validation accuracy and stop early. None trains on everything for
        ``max_epochs`` epochs, or until the training loss stops improving for
        ``n_iter_no_change`` epochs.
    n_iter_no_change : int or None, default=3
        Stop after this many epochs without improvement; None never stops early.
    warm_start : bool, default=False
        Continue training the fitted model (same tokenizer and classes) instead of
        starting anew. The optimizer and the weight average start fresh.
    checkpoint_dir : str, path or None, default=None
        Write a checkpoint of the fit there after every epoch (weights, optimizer, weight
        average, random states, history; safetensors and JSON,
        :mod:`bilstm_attn._checkpoint`). A later ``fit`` on the same data with the same
        parameters resumes from it and gives the model an uninterrupted fit gives (a
        finished fit's checkpoint gives its model back at once); other data or
        parameters are an error. None writes nothing.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and the validation split. The same
        value, data and torch thread count give the same model bit for bit, in this
        process or another, with every kind of tokenizer; another thread count agrees
        to float32 rounding, another CPU may round differently.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where to train and predict; "auto" picks CUDA when available.
    verbose : int, default=0
        0 is silent; 1 prints a line per epoch and, on a terminal, a progress bar.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted.
    tokenizer_ : tokenizers.Tokenizer
        The tokenizer in use.
    module_ : ClassifierNet
        The trained network, in eval mode.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss``, ``valid_accuracy`` (with a
        validation split) and ``seconds``.
    device_ : torch.device
        Where the network lives.
    best_epoch_ : int or None
        Epoch whose weights were kept (with a validation split).
    embedding_coverage_ : float or None
        Share of the vocabulary found in ``pretrained_embeddings`` (that co-occurs with
        another piece, for ``"ppmi"``).

    Notes
    -----
    An empty text, or one that is only whitespace, has no pieces; it is classified from
    the model's bias alone. Texts are never altered, but normalisation (NFKC, lowercase)
    applies to what the model sees.

    ``fit`` checks the data and parameters before it changes anything; if it fails
    (a bad value, a diverging loss, :class:`~bilstm_attn.exceptions.TrainingDivergedError`)
    the estimator keeps the model it had. The steps of a fit are methods a subclass can
    override: ``initialize_tokenizers``, ``initialize_module``, ``initialize_optimizer``,
    ``get_loss`` and ``validation_step`` (:mod:`bilstm_attn._estimator`).

    On CPU, prediction (and ``fit``'s validation pass) runs its batches in
    ``torch.get_num_threads()`` worker threads of one torch thread each, with the same
    results as one thread; ``torch.set_num_threads(1)`` keeps them in the calling thread.

    Examples
    --------
    >>> from bilstm_attn import BiLSTMAttentionClassifier
    >>> X = ["a wonderful film", "an awful film", "wonderful acting", "awful acting"] * 5
    >>> y = ["pos", "neg", "pos", "neg"] * 5
    >>> clf = BiLSTMAttentionClassifier(hidden_size=8, embedding_dim=8, max_epochs=30,
    ...                                 min_frequency=1, learning_rate=0.02,
    ...                                 validation_fraction=None, random_state=0)
    >>> clf.fit(X, y).predict(["wonderful", "awful"]).tolist()
    ['pos', 'neg']

    A loss of your own is a method (here the focal loss of Lin et al., 2017):

    >>> class FocalLossClassifier(BiLSTMAttentionClassifier):
    ...     def get_loss(self, batch):
    ...         logits = self.module_(batch.ids, batch.lengths).logits  # (B, C)
    ...         log_p = logits.log_softmax(-1)
    ...         log_p = log_p.gather(1, batch.targets[:, None]).squeeze(1)  # (B,)
    ...         focal = -((1 - log_p.exp()) ** 2) * log_p
    ...         return (focal * batch.weights).mean()
    >>> FocalLossClassifier(**clf.get_params()).fit(X, y).predict(["awful"]).tolist()
    ['neg']
    """

    _parameter_constraints: dict = {
        **SHARED_CONSTRAINTS,
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "truncation": [Choices(set(TRUNCATIONS))],
        "attention_size": [Interval(Integral, 1, None, closed="left"), None],
        "attention_heads": [Interval(Integral, 1, None, closed="left")],
        "pretrained_embeddings": [str, os.PathLike, None],
        "freeze_embeddings": ["boolean"],
        "class_weight": [dict, Choices({"balanced"}), None],
        "average_decay": [Interval(Real, 0, 1, closed="neither"), None],
    }

    def __init__(
        self,
        *,
        tokenizer="auto",
        vocab_size=60000,
        min_frequency=2,
        lowercase=True,
        max_length=800,
        truncation="head_tail",
        embedding_dim=128,
        hidden_size=128,
        num_layers=1,
        rnn="lstm",
        attention="dot",
        attention_size=64,
        attention_heads=1,
        dropout=0.3,
        pretrained_embeddings="ppmi",
        freeze_embeddings=False,
        learning_rate=1e-3,
        weight_decay=0.0,
        batch_size=64,
        max_epochs=30,
        grad_clip=5.0,
        average_decay=0.999,
        class_weight=None,
        validation_fraction=0.1,
        n_iter_no_change=3,
        warm_start=False,
        checkpoint_dir=None,
        random_state=None,
        device="auto",
        verbose=0,
    ):
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.max_length = max_length
        self.truncation = truncation
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rnn = rnn
        self.attention = attention
        self.attention_size = attention_size
        self.attention_heads = attention_heads
        self.dropout = dropout
        self.pretrained_embeddings = pretrained_embeddings
        self.freeze_embeddings = freeze_embeddings
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.grad_clip = grad_clip
        self.average_decay = average_decay
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

    # ----------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None):
        """Train on raw texts.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str, or one-column DataFrame
            The texts.
        y : array-like of shape (n_samples,)
            Labels of any hashable type; at least two classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each text in the training loss.

        Returns
        -------
        self : BiLSTMAttentionClassifier
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def _check_fit_data(self, X, y, *, continuing: bool, sample_weight=None) -> _LabelledTexts:
        texts = check_texts(X, "X")
        labels = check_labels(y, len(texts), "y")
        weights = check_sample_weight(sample_weight, len(texts))
        classes = self.classes_ if continuing else sorted_classes(labels)
        if len(classes) < 2:
            raise ValueError(
                f"y has a single class ({classes[0]!r}); a classifier needs labels of at "
                f"least 2 classes."
            )
        targets = encode_labels(labels, classes)
        weights = weights * class_weights(self.class_weight, classes, targets)[targets]
        return _LabelledTexts(texts, classes, targets, weights)

    def _stratify(self, data: _LabelledTexts) -> np.ndarray:
        return data.targets

    def _check_training_split(self, data: _LabelledTexts, train_idx: np.ndarray) -> None:
        if data.weights[train_idx].sum() <= 0:
            raise ValueError(
                "sample_weight and class_weight leave every training text with weight 0; "
                "give some texts a positive weight."
            )

    def _fingerprint(self, data: _LabelledTexts) -> Iterator[bytes]:
        yield from (text.encode("utf-8", "surrogatepass") for text in data.texts)
        yield repr(data.classes.tolist()).encode()
        yield data.targets.astype("<i8").tobytes()
        yield data.weights.astype("<f8").tobytes()

    def _monitor(self, record: dict[str, float]) -> float:
        """Validation error rate: accuracy rather than loss, which bottoms out an epoch
        or two before accuracy does (the model grows confident on what it gets right)."""
        return 1.0 - record["valid_accuracy"]

    def _initialize(self, data: _LabelledTexts, seed: int) -> list[np.ndarray]:
        """Classes, tokenizer and network of a new model; the texts encoded, truncated."""
        self.classes_ = data.classes
        whole = self.initialize_tokenizers(data.texts)  # untruncated: for word vectors
        if whole is None:
            whole = encode(self.tokenizer_, data.texts, None)
        self.embedding_coverage_ = None
        self.module_ = self.initialize_module(np.random.default_rng(seed), sequences=whole)
        return [np.asarray(truncate(ids, self.max_length, self.truncation)) for ids in whole]

    def initialize_tokenizers(self, texts: list[str]) -> list[np.ndarray]:
        """Set ``tokenizer_`` (resolving ``"auto"``); return the texts encoded whole.

        A subclass that sets ``tokenizer_`` otherwise may return None.
        """
        auto = self.tokenizer == "auto"
        self.tokenizer_ = self._fit_tokenizer(
            texts, "word" if auto else self.tokenizer, also=("auto",)
        )
        whole = encode(self.tokenizer_, texts, None)
        if not auto:
            return whole
        share = unknown_share(self.tokenizer_, whole)
        chosen = "wordpiece" if share > AUTO_SUBWORD_ABOVE else "word"
        if chosen == "wordpiece":
            self.tokenizer_ = self._fit_tokenizer(texts, chosen)
            whole = encode(self.tokenizer_, texts, None)
        if self.verbose >= 1:
            print(f"tokenizer='auto': {share:.1%} of words are [UNK]; using {chosen!r}")
        return whole

    def initialize_module(
        self,
        rng: np.random.Generator | None = None,
        *,
        read_pretrained: bool = True,
        sequences: list[np.ndarray] | None = None,
    ) -> ClassifierNet:
        """Build the network for the fitted tokenizer and classes.

        With ``read_pretrained=False`` no pretrained vectors are read or learned
        (``load`` fills every weight from the saved model instead); otherwise
        ``pretrained_embeddings="ppmi"`` learns them from ``sequences``, the encoded
        training texts, with ``rng`` for what needs randomness.
        """
        n_vocab, pad = vocab_size(self.tokenizer_), pad_id(self.tokenizer_)
        pretrained = None
        if self.pretrained_embeddings is not None and read_pretrained:
            rng = rng if rng is not None else np.random.default_rng(0)
            pretrained = torch.from_numpy(self._pretrained_vectors(rng, sequences or []))
        embedding = make_embedding(n_vocab, self.embedding_dim, pad, pretrained)
        frozen = self.freeze_embeddings and self.pretrained_embeddings is not None
        embedding.weight.requires_grad_(not frozen)
        encoder = RNNEncoder(
            embedding,
            self.hidden_size,
            self.num_layers,
            rnn_cls=RNN_CLASSES[self.rnn],
            dropout=self.dropout,
            variational=True,
        )
        size = encoder.output_size  # 2H
        attention = Attention(make_scorer(self.attention, size, size, self.attention_size))
        pooling = AttentionPooling(attention, query_size=size, heads=self.attention_heads)
        head = nn.Linear(self.attention_heads * size, len(self.classes_))
        return ClassifierNet(encoder, pooling, head, dropout=self.dropout)

    def _pretrained_vectors(
        self, rng: np.random.Generator, sequences: list[np.ndarray]
    ) -> np.ndarray:
        """The starting embedding matrix named by ``pretrained_embeddings``."""
        if self.pretrained_embeddings == "ppmi":
            n_vocab, pad = vocab_size(self.tokenizer_), pad_id(self.tokenizer_)
            matrix, found = ppmi_svd_vectors(
                sequences, n_vocab, self.embedding_dim, rng, skip=[pad]
            )
            self.embedding_coverage_ = found / n_vocab
            return matrix
        path = self.pretrained_embeddings
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"The 'pretrained_embeddings' parameter of {type(self).__name__} names "
                f"{os.fspath(path)!r}, which is not a file."
            )
        matrix, found = read_word_vectors(path, self.tokenizer_, rng)
        if matrix.shape[1] != self.embedding_dim:
            raise ValueError(
                f"The vectors in pretrained_embeddings have {matrix.shape[1]} dimensions but "
                f"embedding_dim is {self.embedding_dim}; set embedding_dim={matrix.shape[1]}."
            )
        self.embedding_coverage_ = found / matrix.shape[0]
        return matrix

    def _encode_training_data(self, data: _LabelledTexts) -> list[np.ndarray]:
        return encode(self.tokenizer_, data.texts, self.max_length, self.truncation)

    def _training_set(
        self, data: _LabelledTexts, sequences: list[np.ndarray], train_idx: np.ndarray
    ) -> _EncodedTexts:
        lengths = np.fromiter(map(len, sequences), np.int64, len(sequences))
        weights = data.weights / data.weights[train_idx].mean()
        return _EncodedTexts(
            sequences,
            lengths,
            torch.from_numpy(data.targets).to(self.device_),
            torch.from_numpy(weights).float().to(self.device_),
            pad_id(self.tokenizer_),
        )

    def get_loss(self, batch: ClassifierBatch) -> torch.Tensor:
        """The training loss of a batch: cross-entropy weighted by ``batch.weights``.

        Override it for another loss (see the class's example); the module is in
        training mode here.
        """
        logits = self.module_(batch.ids, batch.lengths).logits  # (B, C)
        losses = F.cross_entropy(logits, batch.targets, reduction="none")  # (B,)
        return (losses * batch.weights).mean()

    def validation_step(self, batch: ClassifierBatch) -> dict[str, float]:
        """Sums over a validation batch: cross-entropy, correct predictions, and the
        ``count`` of texts they are divided by (``history_``'s ``valid_loss`` and
        ``valid_accuracy``)."""
        logits = self.module_(batch.ids, batch.lengths).logits  # (B, C)
        loss = F.cross_entropy(logits, batch.targets, reduction="sum").item()
        correct = (logits.argmax(-1) == batch.targets).sum().item()
        return {"loss": loss, "accuracy": correct, "count": len(batch.targets)}

    # ----------------------------------------------------------------- save / load
    _TOKENIZER_PARAMS = {"tokenizer": "tokenizer_"}
    # in bilstm_attn 0.2
    _ADDED_PARAMS = {"truncation": "head", "attention_size": None, "average_decay": None}

    def _tokenizer_files(self) -> dict[str, str]:
        return {"tokenizer_": "tokenizer.json"}

    def _fitted_config(self) -> dict:
        return {
            **super()._fitted_config(),
            "classes": encode_classes(self.classes_),
            "embedding_coverage": self.embedding_coverage_,
        }

    def _restore_fitted(self, fitted: dict) -> None:
        super()._restore_fitted(fitted)
        self.classes_ = decode_classes(fitted["classes"])
        self.embedding_coverage_ = fitted["embedding_coverage"]

    def _loaded_module(self) -> ClassifierNet:
        return self.initialize_module(read_pretrained=False)

    # -------------------------------------------------------------------- inference
    def _chunks(self, X) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
        """Validate X and encode it with the fitted tokenizer (cut to ``max_length``),
        chunk by chunk, each chunk encoded while the network runs the one before."""
        check_is_fitted(self)
        texts = check_texts(X, "X")
        return encode_ahead(self.tokenizer_, texts, self.max_length, self.truncation)

    def _each_batch(
        self,
        chunks: Iterable[tuple[np.ndarray, list[np.ndarray]]],
        pick: Callable[[ClassifierOutput, torch.Tensor], T],
    ) -> Iterator[tuple[np.ndarray, T]]:
        """``pick(output, lengths)`` of the network for every batch of the chunks (see
        ``_map_batches``), with the positions of the batch's sequences."""

        def run(ids: torch.Tensor, lengths: torch.Tensor) -> T:
            return pick(self.module_(ids, lengths), lengths)

        return self._map_batches(chunks, run, pad_id(self.tokenizer_))

    def _collect(
        self,
        chunks: Iterable[tuple[np.ndarray, list[np.ndarray]]],
        pick: Callable[[ClassifierOutput], torch.Tensor],
    ) -> np.ndarray:
        """One row per sequence of ``pick(output)``, in the order of the sequences."""
        rows = list(self._each_batch(chunks, lambda out, _: pick(out).cpu().numpy()))
        n = sum(len(batch) for batch, _ in rows)
        result = np.empty((n, rows[0][1].shape[1]), dtype=np.float64)
        for batch, values in rows:
            result[batch] = values
        return result

    def _proba(self, chunks: Iterable[tuple[np.ndarray, list[np.ndarray]]]) -> np.ndarray:
        """Probabilities of the sequences in ``chunks``, in their order."""
        proba = self._collect(chunks, lambda out: out.logits.double().softmax(-1))
        return proba / proba.sum(axis=1, keepdims=True)

    def _sequence_proba(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Probabilities of already encoded id sequences (explanations' variants)."""
        return self._proba([(np.arange(len(sequences)), sequences)])

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str, or one-column DataFrame

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        return self._proba(self._chunks(X))

    def predict(self, X):
        """Predicted labels, of the same type as the labels given to ``fit``."""
        best = self.predict_proba(X).argmax(axis=1)
        return self.classes_[best]

    def transform(self, X):
        """The attention-pooled document vectors.

        Returns
        -------
        ndarray of shape (n_samples, attention_heads * 2 * hidden_size)
        """
        return self._collect(self._chunks(X), lambda out: out.pooled)

    def explain(self, X, method: str = "attention", *, n_steps: int = 50) -> list:
        """Which words each prediction rested on; see :func:`bilstm_attn.explain.explain`.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str, or one-column DataFrame
        method : {"attention", "integrated_gradients", "occlusion"}, default="attention"
            Attention weights show where the model looked and are not by themselves a
            faithful attribution; integrated gradients and occlusion measure the effect
            of each word on the predicted probability.
        n_steps : int, default=50
            Integration steps of integrated gradients.

        Returns
        -------
        list of Explanation
        """
        check_is_fitted(self)
        from bilstm_attn.explain import explain  # explanations sit above the estimators

        return explain(self, X, method, n_steps=n_steps)

    def attention_weights(self, X) -> list[np.ndarray]:
        """The pooling attention over each text's pieces.

        Returns
        -------
        list of ndarray of shape (attention_heads, n_pieces)
            One per text; each head's row sums to 1 (all zeros for a text without pieces).
        """

        def pick(out: ClassifierOutput, lengths: torch.Tensor) -> list[np.ndarray]:
            weights = out.weights.cpu().numpy()  # (B, heads, S)
            return [weights[row, :, :length] for row, length in enumerate(lengths.tolist())]

        found: dict[int, np.ndarray] = {}
        for batch, weights in self._each_batch(self._chunks(X), pick):
            found.update(zip(batch.tolist(), weights))
        return [found[i] for i in range(len(found))]
