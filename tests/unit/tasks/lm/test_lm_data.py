"""Language-modelling data: corpora, vocabulary, the batchified layout and bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import torch
from conftest import FIXTURES, data_root
from gatelab.errors import DataError

from tasks.lm import LanguageModelDataModule, PennTreebank, TextFiles, TinyShakespeare
from tasks.lm.batching import BpttWindows, batchify
from tasks.lm.corpus import EOS, read_text, tokenize

SHAKESPEARE = FIXTURES / "tinyshakespeare_head.txt"
SYNTHETIC_PTB = FIXTURES / "ptb_synthetic"


def test_batchify_makes_contiguous_streams_and_drops_the_remainder() -> None:
    streams = batchify(torch.arange(26), 4)
    assert streams.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 17],
                                [18, 19, 20, 21, 22, 23]]


def test_windows_read_each_stream_in_order_with_targets_shifted_by_one() -> None:
    streams = batchify(torch.arange(40), 2)  # two streams of 20 tokens: 19 targets each
    windows = BpttWindows(streams, bptt=6)
    assert len(windows) == 4
    items = [windows[i] for i in range(len(windows))]
    assert [item["x"].shape[1] for item in items] == [6, 6, 6, 1]  # the last window is shorter
    assert torch.equal(torch.cat([item["x"] for item in items], 1), streams[:, :-1])
    assert torch.equal(torch.cat([item["y"] for item in items], 1), streams[:, 1:])
    with pytest.raises(IndexError):
        windows[4]


def test_word_level_appends_eos_per_line_and_char_level_keeps_every_character() -> None:
    assert tokenize(" a b \n c\n", "word") == ["a", "b", EOS, "c", EOS]
    assert tokenize("ab\nc", "char") == ["a", "b", "\n", "c"]


def test_vocabulary_comes_from_the_training_split_only(tmp_path: Path) -> None:
    files = {}
    for split, text in (("train", " a b <unk>\n b a\n"), ("valid", " a z\n"), ("test", " b b\n")):
        files[split] = tmp_path / f"{split}.txt"
        files[split].write_text(text)
    data = LanguageModelDataModule(TextFiles(**{k: str(v) for k, v in files.items()}, level="word"),
                                   batch_size=1, eval_batch_size=1)
    data.setup("fit")
    assert data.vocabulary.tokens == ("a", "b", "<unk>", EOS)
    unk = data.vocabulary.index["<unk>"]
    assert data.data.ids["valid"].tolist() == [0, unk, 3]  # 'z' is unseen in training


def test_synthetic_ptb_files_load_as_the_ptb_source_does() -> None:
    data = LanguageModelDataModule(PennTreebank(root=str(SYNTHETIC_PTB)), batch_size=4, bptt=5)
    data.setup("fit")
    assert data.objective == "val/ppl" and data.direction == "minimize"
    lines = gzip.decompress((SYNTHETIC_PTB / "ptb.train.txt.gz").read_bytes()).decode().splitlines()
    assert len(data.data.ids["train"]) == sum(len(line.split()) + 1 for line in lines)
    batch = next(iter(data.train_dataloader()))
    assert batch["x"].shape == (4, 5) and batch["x"].dtype == torch.int64


def test_char_level_splits_by_position_and_reports_bits_per_character() -> None:
    corpus = TinyShakespeare(path=str(SHAKESPEARE))
    texts = corpus.texts()
    assert "".join(texts[split][0] for split in ("train", "valid", "test")) == SHAKESPEARE.read_text()
    assert len(texts["train"][0]) == round(0.9 * len(SHAKESPEARE.read_text()))
    data = LanguageModelDataModule(corpus, batch_size=4, bptt=8, eval_batch_size=2)
    data.setup("fit")
    assert data.objective == "val/bpc"
    assert set(data.vocabulary.tokens) == set(texts["train"][0])


def test_the_shipped_tiny_shakespeare_is_intact() -> None:
    texts = TinyShakespeare().texts()
    assert sum(len(text) for text, _ in texts.values()) == 1_115_394
    assert len(set(texts["train"][0])) == 65


@pytest.mark.full_data
def test_full_ptb_matches_the_canonical_statistics() -> None:
    data = LanguageModelDataModule(PennTreebank(root=str(data_root() / "lm" / "ptb")))
    data.setup("fit")
    assert len(data.vocabulary) == 10_000
    assert {split: len(ids) for split, ids in data.data.ids.items()} == {"train": 929_589, "valid": 73_760,
                                                                        "test": 82_430}


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "train.txt"
    empty.write_text("  \n")
    with pytest.raises(DataError, match=r"train\.txt: the file is empty"):
        read_text(empty)


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    latin = tmp_path / "valid.txt"
    latin.write_bytes("caf\u00e9 cr\u00e8me\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"valid\.txt: not UTF-8 text \(byte 3 is 0xe9\); convert it to UTF-8"):
        read_text(latin)


def test_split_shorter_than_one_batch_is_a_clear_error(tmp_path: Path) -> None:
    for split, text in (("train", SHAKESPEARE.read_text()), ("valid", "First Citizen:\n"), ("test", "Speak.\n")):
        (tmp_path / f"{split}.txt").write_text(text)
    corpus = TextFiles(*(str(tmp_path / f"{split}.txt") for split in ("train", "valid", "test")), level="char")
    data = LanguageModelDataModule(corpus, batch_size=8, eval_batch_size=10)
    with pytest.raises(DataError, match=r"valid\.txt: the valid split has 15 tokens, fewer than one batch of 10 "
                                        r"streams needs \(20.*smaller eval_batch_size"):
        data.setup("fit")


def test_unseen_character_without_unk_is_a_clear_error(tmp_path: Path) -> None:
    for split, text in (("train", "abc\n"), ("valid", "abq\n"), ("test", "cab\n")):
        (tmp_path / f"{split}.txt").write_text(text)
    corpus = TextFiles(*(str(tmp_path / f"{split}.txt") for split in ("train", "valid", "test")), level="char")
    with pytest.raises(DataError, match=r"valid\.txt: token 'q' never occurs in the training split"):
        LanguageModelDataModule(corpus, batch_size=1, eval_batch_size=1).setup("fit")


def test_missing_ptb_files_name_the_folder_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"ptb\.train\.txt\.gz: no such file.*GATELAB_DATA"):
        PennTreebank(root=str(tmp_path)).texts()
