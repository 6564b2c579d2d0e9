"""The two staged corpora: Tiny Shakespeare (characters, shipped) and Mikolov's Penn Treebank (words)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from gatelab.errors import ConfigError, DataError
from gatelab.files import data_dir, data_root, download_checked, file_sha256
from jsonargparse.typing import OpenUnitInterval

from tasks.lm.corpus import Corpus, Level, read_text, sha256_of

__all__ = ["PTB_FILES", "PennTreebank", "TINY_SHAKESPEARE", "TinyShakespeare", "ptb_default_root"]

TINY_SHAKESPEARE = Path(__file__).with_name("data") / "tinyshakespeare.txt"
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

# sha256 of the gzip files as staged and as served at the pinned commit (see tasks/lm/data/README.md).
PTB_FILES = {
    "train": ("ptb.train.txt.gz", "270e0c1de69c076ee9be3fb389e0a6a3c849a03664d9a05550c6a98afd63bf4e"),
    "valid": ("ptb.valid.txt.gz", "2c532ce295a2a82b986b0ab85f39422d4c1a6211cc78d9d4c3b647eb827d56a5"),
    "test": ("ptb.test.txt.gz", "c186c58140c532dcf89939356c67f0ceaad98baac97c3eab733c14c9ce427ffa"),
}
PTB_URL = ("https://raw.githubusercontent.com/Lasagne/Recipes/d616658de38e69f5036b236b6acbaf6e465ec9bd/"
           "examples/penntree/{name}")


@dataclass(frozen=True)
class TinyShakespeare(Corpus):
    """Karpathy's Tiny Shakespeare (public domain), character level, split by position.

    The first ``1 - valid_fraction - test_fraction`` of the text trains, the next ``valid_fraction``
    validates, the last ``test_fraction`` tests (char-rnn / nanoGPT keep 90% for training).

    Args:
        path: another copy of the text; None: the copy shipped in ``tasks/lm/data`` (sha256-checked).
        valid_fraction: share of the text for validation.
        test_fraction: share of the text for testing.
    """

    path: str | None = None
    valid_fraction: OpenUnitInterval = 0.05
    test_fraction: OpenUnitInterval = 0.05
    level: ClassVar[Level] = "char"

    def __post_init__(self) -> None:
        if self.valid_fraction + self.test_fraction >= 1:
            raise ConfigError("data.init_args.corpus: valid_fraction + test_fraction must be below 1.")

    def files(self) -> dict[str, Path]:
        return {"text": Path(self.path) if self.path is not None else TINY_SHAKESPEARE}

    def _text(self) -> tuple[str, Path]:
        path = self.files()["text"]
        text = read_text(path)
        if self.path is None and sha256_of(text.encode()) != TINY_SHAKESPEARE_SHA256:
            raise DataError(f"{path}: sha256 does not match Tiny Shakespeare; restore it: `git checkout -- {path}`.")
        return text, path

    def texts(self) -> dict[str, tuple[str, str]]:
        text, path = self._text()
        first = round(len(text) * (1 - self.valid_fraction - self.test_fraction))
        second = round(len(text) * (1 - self.test_fraction))
        return {"train": (text[:first], f"{path} (first {first} characters)"),
                "valid": (text[first:second], f"{path} (characters {first}..{second})"),
                "test": (text[second:], f"{path} (characters {second}..)")}

    def fingerprint(self) -> str:
        text, _ = self._text()
        return sha256_of(f"{sha256_of(text.encode())}:{self.valid_fraction}:{self.test_fraction}".encode())[:16]


def ptb_default_root() -> Path:
    """``$GATELAB_DATA/lm/ptb`` when ``GATELAB_DATA`` is set, else ``~/.cache/gatelab/lm/ptb``."""
    return data_dir("lm", "ptb")


@dataclass(frozen=True)
class PennTreebank(Corpus):
    """Mikolov's word-level Penn Treebank split (``ptb.{train,valid,test}.txt.gz``), 10,000 words.

    The text has no open license and is never shipped: it is read from ``root``, by default
    ``$GATELAB_DATA/lm/ptb``, or, with ``GATELAB_DATA`` unset, downloaded once into
    ``~/.cache/gatelab/lm/ptb`` from a pinned commit. The default files are sha256-checked.

    Args:
        root: a folder holding the three files (gzip, or any compression ``tasks.lm.corpus`` reads), read as
            they are; None: the default above.
    """

    root: str | None = None
    level: ClassVar[Level] = "word"

    def files(self) -> dict[str, Path]:
        """Each split's gzip file."""
        root = Path(self.root).expanduser() if self.root is not None else ptb_default_root()
        return {split: root / name for split, (name, _) in PTB_FILES.items()}

    def prepare(self) -> None:
        if self.root is not None or data_root() is not None:
            return
        for split, path in self.files().items():
            name, sha256 = PTB_FILES[split]
            if not path.is_file():
                fix = f"put the PTB files in {path.parent} or set GATELAB_DATA to a folder holding lm/ptb/"
                download_checked(PTB_URL.format(name=name), sha256, path, fix=fix)

    def _check(self, split: str, path: Path) -> None:
        if self.root is None and path.is_file() and file_sha256(path) != PTB_FILES[split][1]:
            raise DataError(f"{path}: sha256 does not match Mikolov's PTB file; replace it with the original "
                            f"(sha256 {PTB_FILES[split][1]}).")

    def texts(self) -> dict[str, tuple[str, str]]:
        result = {}
        for split, path in self.files().items():
            self._check(split, path)
            if not path.is_file():
                raise DataError(f"{path}: no such file. Put Mikolov's ptb.*.txt.gz files in {path.parent}, "
                                "set GATELAB_DATA to a folder holding lm/ptb/, or unset it to download them.")
            result[split] = (read_text(path), str(path))
        return result

    def fingerprint(self) -> str:
        if self.root is None:
            return sha256_of("".join(sha for _, sha in PTB_FILES.values()).encode())[:16]
        return sha256_of("".join(file_sha256(path) for path in self.files().values()).encode())[:16]
