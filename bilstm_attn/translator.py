"""Seq2SeqTranslator: an attentive encoder-decoder with the scikit-learn conventions."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from tokenizers import Tokenizer

from bilstm_attn._base import RNN_CLASSES, SHARED_CONSTRAINTS, Choices, make_scorer
from bilstm_attn._estimator import TorchEstimator
from bilstm_attn._validation import check_texts, check_unicode
from bilstm_attn.decoding import DecodeResult, Translation, beam_search, greedy_decode
from bilstm_attn.fit_data import EncodedPairs, TextPairs, TranslationBatch
from bilstm_attn.nn import (
    Attention,
    BahdanauDecoder,
    LuongDecoder,
    RNNEncoder,
    Seq2SeqNet,
    make_embedding,
)
from bilstm_attn.persistence import PersistenceMixin
from bilstm_attn.text import (
    BOS_TOKEN,
    EOS_TOKEN,
    bucket_batches,
    detokenize,
    encode,
    pad_id,
    special_id,
    vocab_size,
)

__all__ = ["Seq2SeqTranslator", "Translation", "TranslationBatch"]

_DECODERS = {"bahdanau": BahdanauDecoder, "luong": LuongDecoder}


class Seq2SeqTranslator(PersistenceMixin, TorchEstimator, BaseEstimator):
    """Sequence-to-sequence translator: BiLSTM encoder, attentive LSTM decoder.

    The encoder is the classifier's exact bidirectional encoder; the decoder attends with
    the same attention core (Bahdanau et al. 2015; Luong et al. 2015). Trained with teacher
    forcing; translates by greedy or beam search.

    Parameters
    ----------
    tokenizer : {"char", "word", "bpe", "wordpiece", "unigram"}, tokenizers.Tokenizer \
or path, default="char"
        Source tokenizer: a kind trained in ``fit`` (characters suit dates and other
        short strings; sub-words suit natural language), or a ready tokenizer with
        ``[PAD]``, ``[UNK]``, ``[BOS]`` and ``[EOS]`` tokens, copied and never changed.
    target_tokenizer : same choices, default=None
        Target tokenizer; None uses the kind of ``tokenizer`` with its own vocabulary.
    share_vocabulary : bool, default=False
        Train one tokenizer on sources and targets together and use it for both.
    vocab_size : int, default=8000
        Largest vocabulary of each trained tokenizer.
    min_frequency : int, default=1
        Pieces seen fewer times are left out of a trained vocabulary.
    lowercase : bool, default=False
        Lowercase texts in trained tokenizers (outputs are then lowercase too).
    max_length : int, default=200
        Longest source, and target, in pieces; longer texts are cut to their first
        ``max_length`` pieces (the rest is neither read nor learnt).
    embedding_dim : int, default=64
    hidden_size : int, default=128
        Size of each encoder direction; the decoder has ``2 * hidden_size``.
    num_layers : int, default=1
        Layers of the encoder and of the decoder, 1 to 100.
    rnn : {"lstm", "gru"}, default="lstm"
        Encoder cell (the decoder is an LSTM).
    attention : {"additive", "dot", "general", "scaled_dot"}, default="additive"
        Score function.
    decoder : {"bahdanau", "luong"}, default="bahdanau"
        Decoder style: attend with the previous state and feed the context into the LSTM
        (Bahdanau), or attend with the current state and feed the attentional state into
        the next step (Luong).
    dropout : float, default=0.1
    learning_rate : float, default=2e-3
    lr_schedule : {"constant", "warmup_linear"}, default="constant"
        The learning rate over training: constant, or up linearly over the first 5% of
        ``max_epochs`` and down linearly to 0 at its end
        (:func:`~bilstm_attn.training.warmup_linear`; early stopping may end it sooner).
    weight_decay : float, default=0.0
    batch_size : int, default=64
    max_epochs : int, default=10
    grad_clip : float or None, default=5.0
    validation_fraction : float or None, default=0.05
        Share of the pairs held out for early stopping on the validation loss.
    n_iter_no_change : int or None, default=2
    beam_size : int, default=1
        1 is greedy search.
    length_penalty : float, default=1.0
        Alpha of the beam search length normalisation ((5 + length) / 6) ** alpha.
    max_output_length : int, default=100
        Most output pieces.
    metric : {"bleu", "exact"}, default="bleu"
        What ``score`` returns: corpus BLEU (sacrebleu, 0-100) or the share of exact
        matches (0-1).
    warm_start : bool, default=False
        Continue training the fitted model (same tokenizers) instead of starting anew.
    checkpoint_dir : str, path or None, default=None
        Write a checkpoint after every epoch and resume from it, as the classifier's
        ``checkpoint_dir`` does.
    random_state : int, RandomState instance or None, default=None
        The same value, data and torch thread count give the same model bit for bit on
        the CPU, in this process or another; another CPU may round differently.
    device : {"auto", "cpu", "cuda"}, default="auto"
    precision : {"auto", "fp32", "bf16"}, default="auto"
        Floating-point format of training and prediction: ``"bf16"`` computes matrix
        products and recurrent layers in bfloat16 under ``torch.autocast``, while the
        weights, the optimizer state, the attention softmax, the logits and the loss stay
        float32; ``"auto"`` picks ``"bf16"`` on a CUDA device that supports bf16 and
        ``"fp32"`` elsewhere, at each fit and each prediction
        (:mod:`bilstm_attn._precision`). On a CPU it is fp32 even where the CPU has
        native bf16 units: the decoder's step-by-step LSTM cells compute in float32
        there, and the casts around them cost what a bf16 encoder saves; ``"bf16"``
        works on any CPU. Explanations compute in float32 in every precision. Each
        record of ``history_`` says which precision its epoch trained in.
    verbose : int, default=0
        0 is silent; 1 prints a line per epoch and, on a terminal, a progress bar.

    Attributes
    ----------
    source_tokenizer_, target_tokenizer_ : tokenizers.Tokenizer
        The same object when ``share_vocabulary=True``.
    module_ : Seq2SeqNet
    history_ : list of dict
        Per epoch: ``epoch``, ``precision`` (``"fp32"`` or ``"bf16"``), ``train_loss``,
        ``valid_loss``, ``valid_accuracy`` (next-token accuracy under teacher forcing)
        and ``seconds``.
    best_epoch_ : int or None
    device_ : torch.device

    Examples
    --------
    >>> from bilstm_attn import Seq2SeqTranslator
    >>> src = ["one two", "two one", "one one", "two two"] * 10
    >>> tgt = ["1 2", "2 1", "1 1", "2 2"] * 10
    >>> tr = Seq2SeqTranslator(tokenizer="word", hidden_size=16, embedding_dim=8,
    ...                        max_epochs=40, validation_fraction=None, random_state=0)
    >>> tr.fit(src, tgt).predict(["two one"])
    ['2 1']
    """

    _parameter_constraints: dict = {
        **SHARED_CONSTRAINTS,
        "target_tokenizer": [str, os.PathLike, Tokenizer, None],
        "share_vocabulary": ["boolean"],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "decoder": [Choices(set(_DECODERS))],
        "beam_size": [Interval(Integral, 1, None, closed="left")],
        "length_penalty": [Interval(Real, 0, None, closed="left")],
        "max_output_length": [Interval(Integral, 1, None, closed="left")],
        "metric": [Choices({"bleu", "exact"})],
    }

    def __init__(
        self,
        *,
        tokenizer="char",
        target_tokenizer=None,
        share_vocabulary=False,
        vocab_size=8000,
        min_frequency=1,
        lowercase=False,
        max_length=200,
        embedding_dim=64,
        hidden_size=128,
        num_layers=1,
        rnn="lstm",
        attention="additive",
        decoder="bahdanau",
        dropout=0.1,
        learning_rate=2e-3,
        lr_schedule="constant",
        weight_decay=0.0,
        batch_size=64,
        max_epochs=10,
        grad_clip=5.0,
        validation_fraction=0.05,
        n_iter_no_change=2,
        beam_size=1,
        length_penalty=1.0,
        max_output_length=100,
        metric="bleu",
        warm_start=False,
        checkpoint_dir=None,
        random_state=None,
        device="auto",
        precision="auto",
        verbose=0,
    ):
        self.tokenizer = tokenizer
        self.target_tokenizer = target_tokenizer
        self.share_vocabulary = share_vocabulary
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.max_length = max_length
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rnn = rnn
        self.attention = attention
        self.decoder = decoder
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.grad_clip = grad_clip
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.beam_size = beam_size
        self.length_penalty = length_penalty
        self.max_output_length = max_output_length
        self.metric = metric
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # ----------------------------------------------------------------- fit
    def fit(self, X, y):
        """Train on parallel texts.

        Parameters
        ----------
        X : list, tuple, ndarray or pandas Series of str, or one-column DataFrame
            Source texts.
        y : same kinds
            Target texts, one per source.

        Returns
        -------
        self : Seq2SeqTranslator
        """
        return self._fit(X, y)

    def _check_fit_data(self, X, y, *, continuing: bool) -> TextPairs:
        return TextPairs.check(X, y)

    def _initialize(self, data: TextPairs, seed: int) -> tuple:
        """Tokenizers and network of a new model; the pairs encoded."""
        self.initialize_tokenizers(data.sources, data.targets)
        self._planned_module()  # a ValueError before anything large is allocated
        self.module_ = self.initialize_module()
        return self._encode_training_data(data)

    def initialize_tokenizers(self, sources: list[str], targets: list[str]) -> None:
        """Set ``source_tokenizer_`` and ``target_tokenizer_`` (one object when shared)."""
        if self.share_vocabulary:
            self.source_tokenizer_ = self._fit_tokenizer(
                sources + targets, self.tokenizer, generation=True
            )
            self.target_tokenizer_ = self.source_tokenizer_
        else:
            self.source_tokenizer_ = self._fit_tokenizer(sources, self.tokenizer, generation=True)
            spec, param = self.target_tokenizer, "target_tokenizer"
            if spec is None:
                spec, param = self.tokenizer, "tokenizer"
            self.target_tokenizer_ = self._fit_tokenizer(targets, spec, param, generation=True)
        for token in (BOS_TOKEN, EOS_TOKEN):  # a ready tokenizer must have them
            special_id(self.target_tokenizer_, token)

    def initialize_module(self) -> Seq2SeqNet:
        """Build the encoder-decoder for the fitted tokenizers."""
        source_embedding = make_embedding(
            vocab_size(self.source_tokenizer_), self.embedding_dim, pad_id(self.source_tokenizer_)
        )
        encoder = RNNEncoder(
            source_embedding,
            self.hidden_size,
            self.num_layers,
            rnn_cls=RNN_CLASSES[self.rnn],
            dropout=self.dropout,
        )
        size = encoder.output_size  # D = 2H; the decoder state has the same size
        target_vocab = vocab_size(self.target_tokenizer_)
        target_embedding = make_embedding(
            target_vocab, self.embedding_dim, pad_id(self.target_tokenizer_)
        )
        attention = Attention(make_scorer(self.attention, size, size))
        decoder = _DECODERS[self.decoder](
            target_embedding, attention, size, size, target_vocab, self.num_layers, self.dropout
        )
        return Seq2SeqNet(encoder, decoder)

    # The decoder's steps run float32 LSTM cells on a CPU: bf16 does not pay there.
    _AUTO_BF16_ON_CPU = False

    # ----------------------------------------------------------------- save / load
    _TOKENIZER_PARAMS = {"tokenizer": "source_tokenizer_", "target_tokenizer": "target_tokenizer_"}
    _REQUIRED_TOKENS = {"target_tokenizer_": (BOS_TOKEN, EOS_TOKEN)}
    # After bilstm_attn 0.2; models saved before trained in float32 at a constant rate.
    _ADDED_PARAMS = {"precision": "fp32", "lr_schedule": "constant"}
    # How it searches and scores, not how it trains: a checkpoint resumes across them.
    _INFERENCE_PARAMS = ("beam_size", "length_penalty", "max_output_length", "metric")

    def _tokenizer_files(self) -> dict[str, str]:
        shared = self.target_tokenizer_ is self.source_tokenizer_
        target = "tokenizer.json" if shared else "target_tokenizer.json"
        return {"source_tokenizer_": "tokenizer.json", "target_tokenizer_": target}

    def _encode_sources(self, texts: list[str]) -> list[np.ndarray]:
        return encode(self.source_tokenizer_, texts, self.max_length)

    def _encode_training_data(self, data: TextPairs) -> tuple:
        bos = special_id(self.target_tokenizer_, BOS_TOKEN)
        eos = special_id(self.target_tokenizer_, EOS_TOKEN)
        targets = [
            np.concatenate([[bos], ids, [eos]])
            for ids in encode(self.target_tokenizer_, data.targets, self.max_length - 1)
        ]
        return self._encode_sources(data.sources), targets

    def _training_set(self, data: TextPairs, encoded: tuple, train_idx: np.ndarray) -> EncodedPairs:
        sources, targets = encoded
        lengths = np.fromiter(map(len, sources), np.int64, len(sources))
        source_pad, target_pad = pad_id(self.source_tokenizer_), pad_id(self.target_tokenizer_)
        return EncodedPairs(sources, targets, lengths, source_pad, target_pad, self.device_)

    def _token_losses(
        self, batch: TranslationBatch
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Summed cross-entropy of the next target piece under teacher forcing, the
        number of real target pieces, and how many of them the argmax gets right."""
        logits, _ = self.module_(batch.source_ids, batch.source_lengths, batch.target_ids[:, :-1])
        gold = batch.target_ids[:, 1:]  # (B, T)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)),  # (B * T, V)
            gold.reshape(-1),
            ignore_index=batch.target_pad,
            reduction="sum",
        )
        real = gold != batch.target_pad
        return loss, real.sum(), ((logits.argmax(-1) == gold) & real).sum()

    def get_loss(self, batch: TranslationBatch) -> torch.Tensor:
        """The training loss of a batch: mean cross-entropy per real target piece."""
        loss, count, _ = self._token_losses(batch)
        return loss / count.clamp(min=1)

    def validation_step(self, batch: TranslationBatch) -> dict[str, float]:
        """Sums over a validation batch: cross-entropy and right next pieces, and the
        ``count`` of real target pieces they are divided by."""
        loss, count, correct = self._token_losses(batch)
        return {"loss": loss.item(), "accuracy": correct.item(), "count": count.item()}

    def _inference_batches(self, lengths: np.ndarray) -> list[np.ndarray]:
        return list(bucket_batches(lengths, self.batch_size * 4))

    # -------------------------------------------------------------------- inference
    def _search(self, texts: list[str]) -> tuple[list[np.ndarray], DecodeResult]:
        """Search every text (in length-sorted batches); results in the input order."""
        check_is_fitted(self)
        bos = special_id(self.target_tokenizer_, BOS_TOKEN)
        eos = special_id(self.target_tokenizer_, EOS_TOKEN)
        source_ids = self._encode_sources(texts)
        options = {"bos": bos, "eos": eos, "max_length": self.max_output_length}

        def search(src: torch.Tensor, src_len: torch.Tensor) -> DecodeResult:
            if self.beam_size == 1:
                return greedy_decode(self.module_, src, src_len, **options)
            return beam_search(
                self.module_,
                src,
                src_len,
                **options,
                beam_size=self.beam_size,
                alpha=self.length_penalty,
            )

        chunks = [(np.arange(len(texts)), source_ids)]
        pad, precision = pad_id(self.source_tokenizer_), self._prediction_precision()
        parts = self._map_batches(chunks, search, pad, precision)
        merged = DecodeResult.gather(parts, len(texts))
        return source_ids, merged

    def predict(self, X) -> list[str]:
        """Translate each source text.

        Returns
        -------
        list of str
        """
        check_is_fitted(self)
        _, result = self._search(check_texts(X, "X"))
        return [detokenize(self.target_tokenizer_, tokens) for tokens in result.tokens]

    def translate(self, text: str) -> Translation:
        """Translate one text and keep its tokens, attention matrix and score.

        Parameters
        ----------
        text : str

        Returns
        -------
        Translation
        """
        check_is_fitted(self)
        if not isinstance(text, str):
            raise TypeError(
                f"text must be a str; got {type(text).__name__}. Use predict() for many texts."
            )
        check_unicode(text, "text")
        source_ids, result = self._search([text])
        to_token = self.source_tokenizer_.id_to_token
        return Translation(
            text=detokenize(self.target_tokenizer_, result.tokens[0]),
            source=text,
            source_tokens=[to_token(int(i)) for i in source_ids[0]],
            tokens=[self.target_tokenizer_.id_to_token(int(i)) for i in result.tokens[0]],
            attention=result.attention[0],
            score=float(result.scores[0]),
        )

    def score(self, X, y, *, metric: str | None = None) -> float:
        """Corpus BLEU (sacrebleu, 0-100) or the share of exact matches (0-1).

        Parameters
        ----------
        X, y : source texts and their reference translations
        metric : {"bleu", "exact"} or None, default=None
            None uses the ``metric`` parameter (which ``GridSearchCV`` scores by).
        """
        metric = self.metric if metric is None else metric
        if metric not in ("bleu", "exact"):
            raise ValueError(f"metric must be 'bleu', 'exact' or None. Got {metric!r} instead.")
        references = check_texts(y, "y")
        hypotheses = self.predict(check_texts(X, "X"))
        if len(hypotheses) != len(references):
            raise ValueError(
                f"X has {len(hypotheses)} source texts but y has {len(references)} references."
            )
        if metric == "exact":
            return float(np.mean([h == r for h, r in zip(hypotheses, references)]))
        import sacrebleu

        return float(sacrebleu.corpus_bleu(hypotheses, [references]).score)
