"""The physio DataModule's init arguments and their checks, without torch or Lightning."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from gatelab.errors import ConfigError
from gatelab.training.options import TaskOptions
from jsonargparse.typing import NonNegativeInt, PositiveInt

from tasks.physio.aami import AAMI_CLASSES
from tasks.physio.cache import default_cache_dir
from tasks.physio.database import database_dir
from tasks.physio.preprocess import Preprocessing
from tasks.physio.splits import PatientSplit

__all__ = ["PhysioOptions"]


class PhysioOptions(TaskOptions):
    """The init arguments of ``PhysioDataModule``.

    Args:
        path: folder of the WFDB records; None: ``$GATELAB_DATA/physio/mitdb``, or with ``GATELAB_DATA``
            unset the download cache ``~/.cache/gatelab/physio/mitdb`` (filled from PhysioNet on first use).
        preprocess: filtering, normalisation, window, leads and downsampling.
        split: the protocol (inter-patient by default) and its records; with ``split.val_folds`` the
            DataModule has ``folds`` validation folds and ``fold`` picks one.
        fold: the validation fold, 0 .. ``split.folds`` - 1 (the search sets it; a selection seed trains
            on fold 0's training records, is selected on its validation records and scored once on the
            test records).
        classes: the AAMI classes kept, in label order; beats of other classes are left out. Q (15 beats
            in DS1 and DS2 together) is left out by default, as in most inter-patient papers.
        rr_features: append the beat's RR-interval features (pre, post, local, ratio) to every step.
        record_rr: with ``rr_features``, also its pre, post and local RR over its record's mean RR
            (``record_relative_rr``).
        features: the beat features carried beside the window. ``rr``: the RR features alone, as ``rr_features``
            and ``record_rr`` choose. ``rr_morphology``: also the morphology samples of the linear discriminant
            (``baselines``): each lead's 10 QRS and 9 T-wave samples (``morphology_samples``), standardised on the
            training beats, so 19 more features per lead; with ``record_rr`` too, the cells see every feature the
            discriminant sees. Needs ``rr_features``; in every layout the samples go wherever the RR features go.
        context_beats: None: an example is one beat window, a step per sample. k >= 0: an example is the
            beat with the k beats before and after it (the rhythm around it), laid out by ``context_layout``.
        context_layout: ``windows``: a step per beat, each holding that beat's window and RR features;
            ``rr``: the beat's own window, a step per sample, each step carrying the RR features of the
            beat and its neighbours (needs ``rr_features``). See ``BeatBatches``.
        record_fraction: train on this share of the (fold's) training records, in (0, 1]: whole records,
            nested across fractions and keeping every class (``tasks.physio.splits.fewer_records``);
            validation and test records are untouched. Inter-patient only.
        imbalance: ``weighted_loss`` weights each class by its inverse training frequency in the loss;
            ``balanced_sampling`` draws training batches with classes in equal shares; ``none`` does neither.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        cache_dir: folder of the preprocessed-beat cache; None: ``~/.cache/gatelab/physio/beats``.
        num_workers: DataLoader worker processes (0: load in the training process).
    """

    def __init__(
        self,
        path: str | None = None,
        preprocess: Preprocessing = Preprocessing(),
        split: PatientSplit = PatientSplit(),
        fold: int = 0,
        classes: tuple[str, ...] = ("N", "S", "V", "F"),
        rr_features: bool = True,
        record_rr: bool = False,
        features: Literal["rr", "rr_morphology"] = "rr",
        context_beats: int | None = None,
        context_layout: Literal["windows", "rr"] = "windows",
        record_fraction: float = 1.0,
        imbalance: Literal["weighted_loss", "balanced_sampling", "none"] = "weighted_loss",
        batch_size: PositiveInt = 256,
        eval_batch_size: PositiveInt = 4096,
        cache_dir: str | None = None,
        num_workers: NonNegativeInt = 0,
    ) -> None:
        super().__init__()
        unknown = [cls for cls in classes if cls not in AAMI_CLASSES]
        if unknown or len(set(classes)) != len(classes) or len(classes) < 2:
            raise ConfigError(f"classes: {list(classes)} must be two or more distinct AAMI classes out of "
                              f"{list(AAMI_CLASSES)}.")
        if context_beats is not None and context_beats < 0:
            raise ConfigError(f"context_beats: {context_beats} is negative; give the beats before and after each "
                              "beat (0 or more), or null for one beat window per example.")
        if record_rr and not rr_features:
            raise ConfigError("record_rr: true needs rr_features: true (they extend the RR features).")
        if features == "rr_morphology" and not rr_features:
            raise ConfigError("features: rr_morphology needs rr_features: true (the morphology samples extend the RR "
                              "features); set rr_features: true or features: rr.")
        if context_layout == "rr" and not rr_features:
            raise ConfigError("context_layout: rr needs rr_features: true (it is a sequence of RR features).")
        if not 0.0 < record_fraction <= 1.0:
            raise ConfigError(f"record_fraction: {record_fraction} is not a share of the training records; give a "
                              "fraction in (0, 1], e.g. 0.25.")
        if record_fraction < 1.0 and split.protocol != "inter":
            raise ConfigError("record_fraction: whole training records belong to the inter-patient protocol; set "
                              "split.protocol: inter or record_fraction: 1.0.")
        self.path, self.preprocess, self.split, self.classes = path, preprocess, split, tuple(classes)
        self.folds, self.fold = split.folds, fold
        self.fold_split = split.fold(fold)
        self.rr_features, self.record_rr, self.features = rr_features, record_rr, features
        self.context_beats, self.context_layout, self.imbalance = context_beats, context_layout, imbalance
        self.record_fraction = record_fraction
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.directory, self.downloadable = database_dir(path)
