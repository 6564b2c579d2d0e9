"""Corpus files: compression found by content, damaged archives in one line, control characters refused."""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
from pathlib import Path

import pytest
from gatelab.errors import DataError

from tasks.lm.corpus import TextFiles, read_text
from tasks.lm.datamodule import encode_corpus

LINES = "the cat sat\non the mat\n" * 20


def test_compressed_splits_are_read_and_reported(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_bytes(bz2.compress(LINES.encode()))
    (tmp_path / "valid.dat").write_bytes(gzip.compress(b"the mat\n"))
    (tmp_path / "test.txt").write_text("the cat\n")
    corpus = TextFiles(*(str(tmp_path / name) for name in ("train.txt", "valid.dat", "test.txt")))
    encoded = encode_corpus(corpus)
    assert encoded.report["data.read"] == (f"{tmp_path / 'train.txt'}: bz2-compressed, read decompressed; "
                                           f"{tmp_path / 'valid.dat'}: gzip-compressed, read decompressed")
    assert encoded.report["data.train_lines"] == 40


def test_truncated_gzip_corpus_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(gzip.compress(LINES.encode() * 50)[:-12])
    with pytest.raises(DataError, match=re.escape(f"{path}: its gzip data is cut short (it ends before its "
                                                  f"end-of-stream marker); replace the file with a complete copy "
                                                  f"(check it with `gzip -t {path}`).")):
        read_text(path)


@pytest.mark.parametrize(("char", "octal"), [("\x07", "007"), ("\x1b", "033")])
def test_control_characters_are_refused_with_offset_and_count(tmp_path: Path, char: str, octal: str) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text(f"first line\nsec{char}ond{char}\r\nthird\n")
    with pytest.raises(DataError, match=re.escape(f"{path}: 2 control character(s), the first U+{ord(char):04X} at "
                                                  f"character 14 (line 2); they are not text and would be read as "
                                                  f"tokens. Remove them (e.g. `tr -d '\\{octal}' < file > clean`)")):
        read_text(path)


def test_the_suggested_fix_removes_every_kind_of_control_character_found(tmp_path: Path) -> None:
    path = tmp_path / "tails.txt.xz"
    path.write_bytes(lzma.compress(b"to be or not\n" * 3 + b"\x1b[1m" + b"\x00" * 40))
    with pytest.raises(DataError, match=re.escape("41 control character(s), the first U+001B at character 39 (line 4)")
                       + ".*" + re.escape("`tr -d '\\000\\033' < file > clean`")):
        read_text(path)


def test_separators_read_as_whitespace_are_not_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("a\x0cb\x1dc\td\n")
    assert read_text(path) == "a\x0cb\x1dc\td\n"
