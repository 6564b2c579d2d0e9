"""The vocabulary: built from the training split alone, then used to encode every split."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from gatelab.errors import DataError
from torch import Tensor

__all__ = ["UNK", "Vocabulary"]

UNK = "<unk>"


@dataclass(frozen=True)
class Vocabulary:
    """Tokens in id order; ``<unk>``, where the training text has it, stands for unseen tokens."""

    tokens: tuple[str, ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {token: number for number, token in enumerate(self.tokens)})

    @classmethod
    def build(cls, tokens: Sequence[str]) -> Vocabulary:
        """The distinct tokens of a training split, in order of first appearance."""
        return cls(tuple(dict.fromkeys(tokens)))

    def __len__(self) -> int:
        return len(self.tokens)

    def fingerprint(self) -> str:
        """A short hash of the tokens in id order."""
        return hashlib.sha256("\n".join(self.tokens).encode()).hexdigest()[:16]

    def encode(self, tokens: Sequence[str], origin: str) -> Tensor:
        """Token ids as a 1-D int64 tensor.

        Raises:
            DataError: a token the training split never had, where the vocabulary has no ``<unk>``.
        """
        unk = self.index.get(UNK)
        if unk is not None:
            return torch.tensor([self.index.get(token, unk) for token in tokens], dtype=torch.int64)
        try:
            return torch.tensor([self.index[token] for token in tokens], dtype=torch.int64)
        except KeyError as error:
            raise DataError(f"{origin}: token {error.args[0]!r} never occurs in the training split, and the vocabulary "
                            f"has no '{UNK}'; add it to the training text or map rare tokens to '{UNK}'.") from None
