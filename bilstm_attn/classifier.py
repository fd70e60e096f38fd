"""BiLSTMAttentionClassifier: the scikit-learn estimator over raw texts."""

from __future__ import annotations

import os
from numbers import Integral, Real
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval
from torch import nn

from bilstm_attn._base import RNN_CLASSES, SHARED_CONSTRAINTS, Choices, make_scorer
from bilstm_attn._classifier_inference import ClassifierInference, EncodedText, ProbaAndWeights
from bilstm_attn._estimator import TorchEstimator
from bilstm_attn.fit_data import ClassifierBatch, EncodedTexts, LabelledTexts
from bilstm_attn.nn import (
    Attention,
    AttentionPooling,
    ClassifierNet,
    RNNEncoder,
    make_embedding,
)
from bilstm_attn.persistence import (
    PersistenceMixin,
    decode_classes,
    decode_share,
    encode_classes,
    float_or_none,
)
from bilstm_attn.text import (
    TRUNCATIONS,
    encode,
    pad_id,
    truncate,
    vocab_size,
)
from bilstm_attn.word_vectors import starting_vectors

__all__ = ["BiLSTMAttentionClassifier", "ClassifierBatch", "EncodedText", "ProbaAndWeights"]

T = TypeVar("T")


class BiLSTMAttentionClassifier(
    ClassifierInference, PersistenceMixin, TorchEstimator, ClassifierMixin, BaseEstimator
):
    """Text classifier: a bidirectional LSTM encoder with attention pooling.

    Raw texts go in; the estimator trains its own tokenizer on them, encodes them with a
    bidirectional LSTM (or GRU), pools the states with learned attention queries
    (Yang et al., 2016; Lin et al., 2017) and classifies the pooled vector. The pooling
    weights say where the model looked (not by themselves why: see ``explain``).

    Parameters
    ----------
    tokenizer : {"auto", "word", "bpe", "wordpiece", "unigram"}, tokenizers.Tokenizer \
or path, default="auto"
        A kind trained on the texts given to ``fit``, or a ready ``tokenizers.Tokenizer``
        or ``tokenizer.json`` path, copied (never changed). ``"auto"`` trains ``"word"``,
        or ``"wordpiece"`` when more than 15% of the training words are out of the word
        vocabulary (as in Korean, whose words carry particles).
    vocab_size : int, default=60000
        Largest vocabulary of a trained tokenizer; words left out become ``[UNK]``.
    min_frequency : int, default=2
        Pieces seen fewer times in training are left out of a trained vocabulary.
    lowercase : bool, default=True
        Lowercase texts (after NFKC normalisation) in a trained tokenizer.
    max_length : int or None, default=800
        Longest sequence of pieces the model reads; None reads every piece.
    truncation : {"head_tail", "head", "tail"}, default="head_tail"
        Which pieces of a longer text are read: the first ``max_length // 4`` and the
        last ``max_length - max_length // 4``, the first or the last ``max_length``.
    embedding_dim : int, default=128
    hidden_size : int, default=128
        State size of each direction (the pooled vector has 2 * hidden_size).
    num_layers : int, default=1
        Stacked bidirectional layers, 1 to 100.
    rnn : {"lstm", "gru"}, default="lstm"
    attention : {"dot", "additive", "general", "scaled_dot"}, default="dot"
        Score of the pooling attention: a state's dot product with a learned query,
        ``v^T tanh(W h + U q)`` (additive), ``q^T W h`` (general) or the scaled dot.
    attention_size : int or None, default=64
        Size of the additive score's tanh layer (None: 2 * hidden_size).
    attention_heads : int, default=1
        Learned pooling queries; their contexts are concatenated.
    dropout : float, default=0.3
        Dropout on embeddings, between layers and on the pooled vector.
    pretrained_embeddings : "ppmi", str, path or None, default="ppmi"
        Where the embeddings start: ``"ppmi"`` learns word vectors from the texts given
        to ``fit`` (:mod:`bilstm_attn.word_vectors`); a path names a word2vec or GloVe
        text file of ``embedding_dim`` numbers a vector; None is random.
    freeze_embeddings : bool, default=False
        Keep pretrained embeddings fixed.
    learning_rate : float, default=1e-3
        AdamW learning rate.
    lr_schedule : {"constant", "warmup_linear"}, default="constant"
        The learning rate over training: constant, or up linearly over the first 5% of
        ``max_epochs`` and down linearly to 0 at its end
        (:func:`~bilstm_attn.training.warmup_linear`; early stopping may end it sooner).
    weight_decay : float, default=0.0
        AdamW decoupled weight decay.
    batch_size : int, default=64
        Texts per training batch (batches group texts of similar length).
    max_epochs : int, default=30
    grad_clip : float or None, default=5.0
        Largest gradient norm; None turns clipping off.
    average_decay : float or None, default=0.999
        Validate, keep and predict with an exponential moving average of the weights
        (:class:`~bilstm_attn.training.ParameterAverage`: about the last
        ``1 / (1 - average_decay)`` steps); training itself is unchanged. None keeps the
        last step's weights.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
    validation_fraction : float or None, default=0.1
        Share of the training texts held out (stratified) to pick the epoch of the best
        validation accuracy and stop early; None trains on all, stopping on the
        training loss.
    n_iter_no_change : int or None, default=3
        Stop after this many epochs without improvement; None never stops early.
    warm_start : bool, default=False
        Continue training the fitted model (same tokenizer and classes) instead of
        starting anew. The optimizer and the weight average start fresh.
    checkpoint_dir : str, path or None, default=None
        Write a checkpoint there after every epoch (:mod:`bilstm_attn._checkpoint`); a
        later ``fit`` on the same data with the same parameters resumes from it and ends
        with the model an uninterrupted fit gives. Other data or parameters are an error.
    random_state : int, RandomState instance or None, default=None
        The same value, data and torch thread count give the same model bit for bit on
        the CPU, in any process; another thread count agrees to the rounding of the
        precision (float32 or bf16), another CPU may round differently (CUDA has
        nondeterministic kernels of its own).
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where to train and predict; "auto" picks CUDA when available.
    precision : {"auto", "fp32", "bf16"}, default="auto"
        Floating-point format of training and prediction: ``"bf16"`` computes matrix
        products and recurrent layers in bfloat16 under ``torch.autocast``, while the
        weights, the optimizer state, the attention softmax, the logits and the loss stay
        float32; ``"auto"`` picks ``"bf16"`` where the device has native bf16 units (AMX
        or AVX-512-BF16 on a CPU, a CUDA device that supports bf16), ``"fp32"`` elsewhere,
        at each fit and each prediction (:mod:`bilstm_attn._precision`). On a CPU
        without such units ``"bf16"`` works, slower than ``"fp32"``. Explanations
        compute in float32 in every precision. Each record of ``history_`` says which
        precision its epoch trained in.
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
        Per epoch: ``epoch``, ``precision`` (``"fp32"`` or ``"bf16"``), ``train_loss``,
        ``valid_loss``, ``valid_accuracy`` (with a validation split) and ``seconds``.
    device_ : torch.device
        Where the network lives.
    best_epoch_ : int or None
        Epoch whose weights were kept (with a validation split).
    embedding_coverage_ : float or None
        Share of the vocabulary found in ``pretrained_embeddings`` (that co-occurs with
        another piece, for ``"ppmi"``).

    Notes
    -----
    A text without pieces (empty, whitespace) is classified from the model's bias alone.

    ``fit`` checks data and parameters before it changes anything, and a fit that fails
    (a bad value, :class:`~bilstm_attn.exceptions.TrainingDivergedError`) leaves the
    model there was. Its steps are methods to override (:mod:`bilstm_attn._estimator`):
    ``initialize_tokenizers``, ``initialize_module``, ``initialize_optimizer``,
    ``get_loss`` (the README has a focal loss) and ``validation_step``.

    On CPU, prediction runs its batches in ``torch.get_num_threads()`` one-thread workers.

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
        lr_schedule="constant",
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
        precision="auto",
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
        self.lr_schedule = lr_schedule
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
        self.precision = precision
        self.verbose = verbose

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

    def _check_fit_data(self, X, y, *, continuing: bool, sample_weight=None) -> LabelledTexts:
        classes = self.classes_ if continuing else None
        return LabelledTexts.check(X, y, sample_weight, self.class_weight, classes)

    def _monitor(self, record: dict[str, float]) -> float:
        """Validation error rate: accuracy rather than loss, which bottoms out an epoch
        or two before accuracy does (the model grows confident on what it gets right)."""
        return 1.0 - record["valid_accuracy"]

    def _initialize(self, data: LabelledTexts, seed: int) -> list[np.ndarray]:
        """Classes, tokenizer and network of a new model; the texts encoded, truncated."""
        self.classes_ = data.classes
        whole = self.initialize_tokenizers(data.texts)  # untruncated: for word vectors
        if whole is None:
            whole = encode(self.tokenizer_, data.texts, None)
        self.embedding_coverage_ = None
        self._planned_module()  # a ValueError before anything large is allocated
        self.module_ = self.initialize_module(np.random.default_rng(seed), sequences=whole)
        return [np.asarray(truncate(ids, self.max_length, self.truncation)) for ids in whole]

    def initialize_tokenizers(self, texts: list[str]) -> list[np.ndarray] | None:
        """Set ``tokenizer_``; return the texts encoded whole by it (or None, and they are
        encoded after)."""
        if self.tokenizer == "auto":
            self.tokenizer_, whole = self._auto_tokenizer(texts)
            return whole
        self.tokenizer_ = self._fit_tokenizer(texts, self.tokenizer, also=("auto",))
        return encode(self.tokenizer_, texts, None)

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
            vocab = self.tokenizer_.get_vocab(with_added_tokens=True)
            matrix, self.embedding_coverage_ = starting_vectors(
                self.pretrained_embeddings, sequences or [], vocab, n_vocab, pad,
                self.embedding_dim, rng, type(self).__name__,
            )  # fmt: skip
            pretrained = torch.from_numpy(matrix)
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

    def _encode_training_data(self, data: LabelledTexts) -> list[np.ndarray]:
        return encode(self.tokenizer_, data.texts, self.max_length, self.truncation)

    def _training_set(
        self, data: LabelledTexts, sequences: list[np.ndarray], train_idx: np.ndarray
    ) -> EncodedTexts:
        return data.encoded(sequences, train_idx, pad_id(self.tokenizer_), self.device_)

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
        ``valid_accuracy``). It runs under ``torch.inference_mode``, on CPU in worker
        threads, several batches at once: an override keeps no state of its own."""
        logits = self.module_(batch.ids, batch.lengths).logits  # (B, C)
        loss = F.cross_entropy(logits, batch.targets, reduction="sum").item()
        correct = (logits.argmax(-1) == batch.targets).sum().item()
        return {"loss": loss, "accuracy": correct, "count": len(batch.targets)}

    # ----------------------------------------------------------------- save / load
    _TOKENIZER_PARAMS = {"tokenizer": "tokenizer_"}
    # truncation, attention_size and average_decay came in bilstm_attn 0.2, precision and
    # lr_schedule after it (models saved before trained in float32 at a constant rate)
    _ADDED_PARAMS = {
        "truncation": "head",
        "attention_size": None,
        "average_decay": None,
        "precision": "fp32",
        "lr_schedule": "constant",
    }
    _FITTED_VALUES = {
        "classes_": (encode_classes, decode_classes),
        "embedding_coverage_": (float_or_none, decode_share),
    }

    def _tokenizer_files(self) -> dict[str, str]:
        return {"tokenizer_": "tokenizer.json"}

    def _loaded_module(self) -> ClassifierNet:
        return self.initialize_module(read_pretrained=False)
