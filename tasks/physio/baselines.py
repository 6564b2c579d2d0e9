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
from the filtered beat window of every lead (``tasks.physio.preprocess.morphology_samples``; the T window ends where
the beat window does); no delineator intervals. The features are the DataModule's (``PhysioDataModule``, each
standardised on the training beats), which the cells can be given too (``features: rr_morphology``). The
discriminant is scikit-learn's ``LinearDiscriminantAnalysis`` with equal priors, which also pools the classes'
covariances with equal weights: each class counts alike, as in de Chazal's weighted training.
"""

from __future__ import annotations

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

__all__ = ["LINEAR_DISCRIMINANT", "linear_discriminant"]

#: The baseline's name in the report and on its runs.
LINEAR_DISCRIMINANT = "linear discriminant (de Chazal 2004)"


def linear_discriminant(classes: int) -> LinearDiscriminantAnalysis:
    """An unfitted linear discriminant that weighs each of ``classes`` classes alike (equal priors)."""
    return LinearDiscriminantAnalysis(solver="lsqr", priors=np.full(classes, 1.0 / classes))
