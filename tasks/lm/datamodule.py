"""The language-modelling DataModule: contiguous streams, windows of ``bptt`` tokens, its own LightningModule."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Literal

from gatelab.errors import ConfigError, DataError
from gatelab.files import compression_note, compression_of
from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig
from gatelab.training.baselines import Baseline
from gatelab.training.task import SequenceDataModule
from torch import Tensor
from torch.utils.data import DataLoader
from torchmetrics import MetricCollection

from tasks.lm.batching import BpttWindows, batchify
from tasks.lm.corpus import INLINE_SEPARATORS, SPLITS, Corpus, tokenize
from tasks.lm.metrics import BitsPerCharacter, Perplexity
from tasks.lm.module import LanguageModule
from tasks.lm.ngram import ORDER, KneserNeyBaseline
from tasks.lm.options import LanguageModelOptions
from tasks.lm.vocab import UNK, Vocabulary

__all__ = ["EncodedCorpus", "LanguageModelDataModule", "encode_corpus"]


@dataclass(frozen=True)
class EncodedCorpus:
    """Each split's token ids and origin, the training split's vocabulary, and what reading did to the text."""

    vocabulary: Vocabulary
    ids: dict[str, Tensor]
    origins: dict[str, str]
    report: dict[str, int | float | str]


@functools.lru_cache(maxsize=2)
def encode_corpus(corpus: Corpus) -> EncodedCorpus:
    """Tokenise every split and encode it with the vocabulary of the training split; cached per process."""
    texts = corpus.texts()
    tokens = {split: tokenize(text, corpus.level) for split, (text, _) in texts.items()}
    vocabulary = Vocabulary.build(tokens["train"])
    origins = {split: origin for split, (_, origin) in texts.items()}
    ids = {split: vocabulary.encode(tokens[split], origins[split]) for split in SPLITS}
    read = [compression_note(path, compression_of(path)) for path in corpus.files().values()]
    report: dict[str, int | float | str] = {
        "data.read": "; ".join(note for note in read if note) or "as written",
        "data.inline_separators": sum(text.count(char) for text, _ in texts.values() for char in INLINE_SEPARATORS)}
    for split in SPLITS:
        text = texts[split][0]
        report[f"data.{split}_lines"] = text.count("\n") + (not text.endswith("\n"))
        report[f"data.{split}_tokens"] = len(tokens[split])
        if split != "train" and UNK in vocabulary.index:
            report[f"data.{split}_unseen_as_unk"] = sum(token not in vocabulary.index for token in tokens[split])
    return EncodedCorpus(vocabulary, ids, origins, report)


class LanguageModelDataModule(LanguageModelOptions, SequenceDataModule[EncodedCorpus]):
    """Next-token prediction on a corpus's own splits, with truncated backpropagation through time.

    Each split is cut into ``batch_size`` contiguous streams (``eval_batch_size`` for validation and
    test) read in consecutive windows of ``bptt`` tokens; the model carries its hidden state from one
    window to the next. Word-level corpora report perplexity, character-level ones bits per character.
    """

    direction: Literal["maximize", "minimize"] = "minimize"

    def prepare_data(self) -> None:
        self.corpus.prepare()

    def load(self) -> EncodedCorpus:
        data = encode_corpus(self.corpus)
        batches = {"train": self.batch_size, "valid": self.eval_batch_size, "test": self.eval_batch_size}
        for split, batch in batches.items():
            if len(data.ids[split]) < 2 * batch:
                raise DataError(
                    f"{data.origins[split]}: the {split} split has {len(data.ids[split])} tokens, fewer than "
                    f"one batch of {batch} streams needs ({2 * batch}: an input and a target each); use more text "
                    f"or a smaller {'batch_size' if split == 'train' else 'eval_batch_size'}.")
        return data

    def data_report(self) -> dict[str, int | float | str]:
        """What reading the corpus did to its text; call after ``setup``. Keys:

        - ``data.read``: the files read decompressed, and their compression (found by content), or ``as written``.
        - ``data.{train,valid,test}_lines``: lines of each split's text; at word level each ends in one
          ``<eos>`` (lines end at ``\n``, ``\r\n`` or ``\r`` only; a leading byte-order mark is dropped).
        - ``data.{train,valid,test}_tokens``: tokens of each split.
        - ``data.inline_separators``: U+2028, U+2029, U+0085, form feeds, vertical tabs and U+001C..U+001E
          inside lines, read as whitespace at word level and kept as characters at character level.
        - ``data.{valid,test}_unseen_as_unk``: tokens the training split never has, read as ``<unk>``
          (only where the vocabulary has ``<unk>``; without it such a token is an error).
        """
        return dict(self.prepared.report)


    @property
    def vocabulary(self) -> Vocabulary:
        """The training split's vocabulary."""
        return self.prepared.vocabulary

    @property
    def input_size(self) -> int:
        return len(self.vocabulary)

    @property
    def output_size(self) -> int:
        return len(self.vocabulary)

    def fingerprint(self) -> str:
        text = f"{type(self.corpus).__name__}:{self.corpus.fingerprint()}:{self.vocabulary.fingerprint()}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def make_metrics(self) -> MetricCollection:
        """Perplexity (words) or bits per character (characters), as the corpus's level asks."""
        return MetricCollection({self.metric: Perplexity() if self.metric == "ppl" else BitsPerCharacter()})

    def make_module(self, model: ModelConfig, optim: OptimConfig) -> LanguageModule:
        if model.bidirectional:
            raise ConfigError("model.bidirectional: a language model reads left to right; set it to false.")
        if self.tie_weights and (self.embedding_size or model.hidden_size) != model.hidden_size:
            raise ConfigError(f"data.init_args.tie_weights: tied weights need embedding_size ({self.embedding_size}) "
                              f"= model.hidden_size ({model.hidden_size}); drop embedding_size or untie.")
        return LanguageModule(self.vocabulary, model, optim, self.make_metrics(), self.embedding_size,
                              self.tie_weights, self.init_range, self.lr_schedule, self.loss_per)

    def baselines(self) -> list[Baseline]:
        """An interpolated Kneser-Ney 5-gram on the training tokens, scored on the test streams the cells read
        (``tasks.lm.ngram``)."""
        data = self.prepared
        test = batchify(data.ids["test"], self.eval_batch_size).numpy()
        return [KneserNeyBaseline(f"Kneser-Ney {ORDER}-gram", ORDER, len(self.vocabulary), data.ids["train"].numpy(),
                                  test, self.make_metrics)]

    def windows(self, split: str, batch_size: int) -> BpttWindows:
        """The ``bptt`` windows over ``split`` cut into ``batch_size`` streams."""
        return BpttWindows(batchify(self.prepared.ids[split], batch_size), self.bptt)

    def _loader(self, split: str, batch_size: int) -> DataLoader:
        return DataLoader(self.windows(split, batch_size), batch_size=None, shuffle=False)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size)
