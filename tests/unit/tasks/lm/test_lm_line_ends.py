"""One ``<eos>`` per line of the file: lines end at \\n, \\r\\n or \\r only; a BOM and CRLF change no token."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tasks.lm import LanguageModelDataModule, TextFiles, TinyShakespeare
from tasks.lm.corpus import EOS, INLINE_SEPARATORS, read_text, tokenize

CASE = Path(__file__).parents[3] / "fixtures" / "cases" / "lm_unicode_separators"
SPLITS = ("train", "valid", "test")


def module(folder: Path, level: str = "word") -> LanguageModelDataModule:
    corpus = TextFiles(*(str(folder / f"{split}.txt") for split in SPLITS), level=level)  # type: ignore[arg-type]
    data = LanguageModelDataModule(corpus, batch_size=4, bptt=10, eval_batch_size=2)
    data.setup("fit")
    return data


def test_unicode_separators_inside_lines_are_whitespace() -> None:
    """Case lm_unicode_separators: U+2028, U+2029 and form feeds inside the lines of a word corpus."""
    data = module(CASE)
    report = data.data_report()
    for split in SPLITS:
        raw = (CASE / f"{split}.txt").read_bytes()
        lines = raw.count(b"\n")
        assert b"\r" not in raw and raw.endswith(b"\n")
        tokens = tokenize(read_text(CASE / f"{split}.txt"), "word")
        assert tokens.count(EOS) == lines == report[f"data.{split}_lines"]  # 300, 60, 60 (not 340, ..., 69)
        assert report[f"data.{split}_tokens"] == len(tokens) == len(data.data.ids[split])
        assert not any(char in token for token in tokens for char in INLINE_SEPARATORS)
        # the words are the file's words split at any whitespace
        assert [token for token in tokens if token != EOS] == raw.decode().split()
    assert [report[f"data.{split}_lines"] for split in SPLITS] == [300, 60, 60]
    texts = [(CASE / f"{split}.txt").read_text(encoding="utf-8") for split in SPLITS]
    assert report["data.inline_separators"] == sum(text.count(char) for text in texts for char in INLINE_SEPARATORS)
    assert report["data.inline_separators"] == 34 + 22  # U+2029 and form feeds (see tests/fixtures/README.md)


TEXT = "the first line\n\n  a line after an empty one \nlast line without an end"
VARIANTS = {
    "crlf_bom": ("\ufeff" + TEXT.replace("\n", "\r\n")).encode(),
    "cr": TEXT.replace("\n", "\r").encode(),
    "crlf_gzip": TEXT.replace("\n", "\r\n").encode(),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("level", ["word", "char"])
def test_bom_and_crlf_files_give_the_tokens_of_their_plain_twin(tmp_path: Path, variant: str, level: str) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_bytes(TEXT.encode())
    other = tmp_path / ("other.txt.gz" if variant.endswith("gzip") else "other.txt")
    other.write_bytes(gzip.compress(VARIANTS[variant]) if variant.endswith("gzip") else VARIANTS[variant])
    assert read_text(other) == read_text(plain) == TEXT
    assert tokenize(read_text(other), level) == tokenize(read_text(plain), level)  # type: ignore[arg-type]
    words = tokenize(read_text(other), "word")
    assert words.count(EOS) == 4 and words[:4] == ["the", "first", "line", EOS] and words[4] == EOS


def test_vertical_tab_next_line_and_file_separators_are_whitespace(tmp_path: Path) -> None:
    lines = ["alpha\x0bbeta gamma", "delta\x85epsilon", "zeta\x1ceta\x1dtheta\x1eiota", "kappa\u2028lambda\x0cmu"]
    for split in SPLITS:
        (tmp_path / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    words = module(tmp_path)
    tokens = tokenize(read_text(tmp_path / "train.txt"), "word")
    assert tokens == ["alpha", "beta", "gamma", EOS, "delta", "epsilon", EOS, "zeta", "eta", "theta", "iota", EOS,
                      "kappa", "lambda", "mu", EOS]
    assert words.data_report()["data.train_lines"] == 4 and words.data_report()["data.inline_separators"] == 3 * 7
    # at character level they are characters like any other, and only the 4 line ends are newlines
    chars = module(tmp_path, "char")
    assert chars.data_report()["data.train_lines"] == 4
    characters = tokenize(read_text(tmp_path / "train.txt"), "char")
    assert characters.count("\n") == 4 and characters.count("\u2028") == 1 and characters.count("\x85") == 1


def test_a_character_corpus_split_by_position_reads_a_crlf_copy_like_the_original(tmp_path: Path) -> None:
    head = Path(__file__).parents[3] / "fixtures" / "tinyshakespeare_head.txt"
    copy = tmp_path / "crlf.txt"
    copy.write_bytes(b"\xef\xbb\xbf" + head.read_bytes().replace(b"\n", b"\r\n"))
    assert TinyShakespeare(path=str(copy)).texts().keys() == TinyShakespeare(path=str(head)).texts().keys()
    for (ours, _), (theirs, _) in zip(TinyShakespeare(path=str(copy)).texts().values(),
                                      TinyShakespeare(path=str(head)).texts().values()):
        assert ours == theirs and "\r" not in ours


def test_words_the_training_split_lacks_are_counted_as_unk(tmp_path: Path) -> None:
    for split, text in (("train", "a b <unk>\nb a\na b\n"), ("valid", "a z y\n"), ("test", "b b a\n")):
        (tmp_path / f"{split}.txt").write_text(text)
    report = module(tmp_path).data_report()
    assert report["data.valid_unseen_as_unk"] == 2 and report["data.test_unseen_as_unk"] == 0
    assert report["data.train_tokens"] == 10 and report["data.valid_lines"] == 1
