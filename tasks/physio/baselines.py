"""The ECG task's baseline: a linear discriminant on RR intervals and beat morphology (de Chazal et al. 2004).

de Chazal P, O'Dwyer M, Reilly RB. *Automatic classification of heartbeats using ECG morphology and heartbeat
interval features.* IEEE Trans Biomed Eng 51(7):1196-1206, 2004. Their features per beat: the RR intervals (pre-RR,
post-RR, the average RR of the surrounding 5 minutes, the local average of the 10 surrounding beats), the
heartbeat intervals from a wave delineator (QRS and T-wave durations, a P-wave flag) and the morphology: 10 samples
of each lead between 50 ms before and 100 ms after the R peak (QRS) and 9 between 150 ms and 500 ms after it (T
wave); the classifier is a linear discriminant whose training weighs every class alike.

Here: the RR features the cells get (``tasks.physio.preprocess.RR_FEATURES``: pre-RR, post-RR, the local mean of the
last 10 beats, pre over local) and, for the average RR, the intervals over the record's mean RR
(``RECORD_RR_FEATURES``: a linear discriminant cannot form the ratio itself); the morphology samples interpolated
from the filtered beat window of every lead (the T window ends where the beat window does); no delineator
intervals. The discriminant is scikit-learn's ``LinearDiscriminantAnalysis`` with equal priors, which also pools the
classes' covariances with equal weights: each class counts alike, as in de Chazal's weighted training.
"""

from __future__ import annotations

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from tasks.physio.preprocess import Preprocessing

__all__ = ["LINEAR_DISCRIMINANT", "QRS_WINDOW_S", "T_WINDOW_S", "linear_discriminant", "morphology_samples"]

#: The baseline's name in the report and on its runs.
LINEAR_DISCRIMINANT = "linear discriminant (de Chazal 2004)"
#: Seconds from the R peak and number of samples of the QRS and T-wave morphology features.
QRS_WINDOW_S = (-0.050, 0.100, 10)
T_WINDOW_S = (0.150, 0.500, 9)


def morphology_samples(wave: np.ndarray, cfg: Preprocessing) -> np.ndarray:
    """The QRS and T-wave morphology samples of every beat and lead, linearly interpolated from the beat windows.

    Args:
        wave: (beats, steps, leads) beat windows as ``cut_beats`` cuts them with ``cfg`` (R peak ``before_s`` in).
        cfg: the preprocessing the windows were cut with.

    Returns:
        (beats, leads * 19): per lead its 10 QRS samples then its 9 T-wave samples, windows clipped to the beat's.
    """
    fs = cfg.sampling_rate_hz
    before, after = cfg.window(fs)
    times = (np.arange(0, before + after, cfg.downsample) - before) / fs  # each step's seconds from the R peak
    points = np.clip(np.concatenate([np.linspace(*QRS_WINDOW_S), np.linspace(*T_WINDOW_S)]), times[0], times[-1])
    weights = np.stack([np.interp(points, times, column) for column in np.eye(len(times))], axis=1)  # (points, steps)
    samples = np.einsum("ps,bsl->blp", weights, wave)
    return samples.reshape(len(wave), -1).astype(np.float32)


def linear_discriminant(classes: int) -> LinearDiscriminantAnalysis:
    """An unfitted linear discriminant that weighs each of ``classes`` classes alike (equal priors)."""
    return LinearDiscriminantAnalysis(solver="lsqr", priors=np.full(classes, 1.0 / classes))
