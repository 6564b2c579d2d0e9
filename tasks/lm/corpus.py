"""Text corpora with their own train/valid/test splits, read as UTF-8 and cut into tokens.

A corpus is word level (whitespace-separated words, ``<eos>`` appended at each line end, as in
Mikolov's PTB set-up) or character level (every character a token, newlines included).

Lines end at ``\n``, ``\r\n`` or ``\r`` only, so one ``<eos>`` stands for one line of the file. Other
characters Unicode calls line or paragraph separators (U+2028, U+2029, U+0085, form feed, vertical
tab, U+001C..U+001E; ``str.splitlines`` splits at them) are whitespace inside a line at word level
and ordinary characters at character level. A leading byte-order mark is not text, and ``\r\n`` and
``\r`` read as ``\n``: a file and its plain twin give the same tokens.

Files may be gzip, bz2, xz or a one-file zip, found by their first bytes (``gatelab.files``). Other C0
control characters (NUL, BEL, ESC, ...: U+0000..U+001F but tab, the line ends and the separators above)
are not text: a file holding any is refused, naming where the first one is and how many there are.
"""

from __future__ import annotations

import abc
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gatelab.errors import DataError
from gatelab.files import read_decompressed

__all__ = ["EOS", "INLINE_SEPARATORS", "SPLITS", "Corpus", "Level", "TextFiles", "read_text", "sha256_of",
           "tokenize"]

EOS = "<eos>"
SPLITS = ("train", "valid", "test")
Level = Literal["word", "char"]
INLINE_SEPARATORS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Characters ``str.splitlines`` takes for line ends that end no line here (whitespace inside a line)."""
_LINE_END = re.compile(r"\r\n?")
_BOM = "\ufeff"
_CONTROL = re.compile("[" + "".join(f"\\x{code:02x}" for code in range(0x20)
                             if chr(code) not in "\t\n\r" + INLINE_SEPARATORS) + "]")
"""C0 control characters that are neither whitespace, line ends nor ``INLINE_SEPARATORS``: refused."""


def read_text(path: Path) -> str:
    """A whole text file (plain, gzip, bz2, xz or a one-file zip, by content), decoded as UTF-8, ``\n`` line ends.

    A leading byte-order mark is dropped and ``\r\n`` and ``\r`` become ``\n``; nothing else changes.

    Raises:
        DataError: a missing, empty, damaged (archive) or non-UTF-8 file, or one holding control characters
            (the first one's character offset and line, and their count), naming it and the fix.
    """
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the path of an existing text file.")
    raw = read_decompressed(path).data
    try:
        text = raw.decode("utf-8").removeprefix(_BOM)
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start} is 0x{raw[error.start]:02x}); "
                        "convert it to UTF-8, e.g. with `iconv -t UTF-8`.") from None
    _refuse_control(path, text)
    text = _LINE_END.sub("\n", text)
    if not text.strip():
        raise DataError(f"{path}: the file is empty; give a file with text in it.")
    return text


def _refuse_control(path: Path, text: str) -> None:
    """Raise DataError when ``text`` holds a control character that is neither whitespace nor a line end."""
    found = _CONTROL.search(text)
    if found is None:
        return
    offset, char = found.start(), found.group()
    found_all = _CONTROL.findall(text)
    octals = "".join(f"\\{ord(kind):03o}" for kind in sorted(set(found_all)))
    line = text.count("\n", 0, offset) + 1
    raise DataError(f"{path}: {len(found_all):,} control character(s), the first U+{ord(char):04X} at character "
                    f"{offset:,} (line {line:,}); they are not text and would be read as tokens. Remove them (e.g. "
                    f"`tr -d '{octals}' < file > clean`) or give a clean copy of the file.")


def tokenize(text: str, level: Level) -> list[str]:
    """Word level: each line's words then ``<eos>``; character level: every character.

    Lines end at ``\n`` (``read_text`` has turned ``\r\n`` and ``\r`` into it); a final line without
    one still ends. Words are split at whitespace, ``INLINE_SEPARATORS`` included.
    """
    if level == "char":
        return list(text)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [token for line in lines for token in (*line.split(), EOS)]


def sha256_of(data: bytes) -> str:
    """The sha256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


class Corpus(abc.ABC):
    """A tokenised text corpus with train, valid and test splits.

    Subclasses are frozen dataclasses, so a corpus is hashable and its tokens can be cached per process.
    """

    #: ``word`` or ``char``.
    level: Level

    def prepare(self) -> None:  # noqa: B027 (an optional hook: most corpora have nothing to prepare)
        """Make the files available (download them where that is the corpus's way); default: nothing."""

    @abc.abstractmethod
    def texts(self) -> dict[str, tuple[str, str]]:
        """Each split's text and where it came from (a path, named in errors): ``{split: (text, origin)}``."""

    @abc.abstractmethod
    def files(self) -> dict[str, Path]:
        """The files read, by what each holds (a split's name, or ``text`` for one text cut into splits)."""

    @abc.abstractmethod
    def fingerprint(self) -> str:
        """A short stable id of the corpus's content and splitting."""


@dataclass(frozen=True)
class TextFiles(Corpus):
    """Your own corpus: one UTF-8 text file per split (gzip, bz2, xz or zip allowed, found by content).

    Args:
        train: the training text; the vocabulary comes from it alone.
        valid: the validation text.
        test: the test text.
        level: ``word`` (whitespace-separated words, ``<eos>`` per line) or ``char``.
    """

    train: str
    valid: str
    test: str
    level: Level = "word"

    def files(self) -> dict[str, Path]:
        """Each split's file."""
        return {"train": Path(self.train), "valid": Path(self.valid), "test": Path(self.test)}

    def texts(self) -> dict[str, tuple[str, str]]:
        return {split: (read_text(path), str(path)) for split, path in self.files().items()}

    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.level.encode())
        for path in self.files().values():
            digest.update(read_text(path).encode())
        return digest.hexdigest()[:16]
