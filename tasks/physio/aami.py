"""AAMI EC57 beat classes and the MIT-BIH record lists of the inter-patient protocol.

Record lists follow de Chazal, O'Dwyer & Reilly, IEEE TBME 51(7):1196-1206, 2004: DS1 for training,
DS2 for testing, the four paced records left out of both.
"""

from __future__ import annotations

import numpy as np

__all__ = ["AAMI_CLASSES", "DS1", "DS2", "PACED", "SYMBOL_TO_CLASS", "aami_labels"]

AAMI_CLASSES: tuple[str, ...] = ("N", "S", "V", "F", "Q")
"""The five AAMI EC57 classes, in the order of their integer codes 0..4."""

SYMBOL_TO_CLASS: dict[str, str] = {
    **dict.fromkeys("NLRBejn", "N"),  # normal, bundle branch blocks (left, right, unspecified), escape beats
    **dict.fromkeys("AaJS", "S"),  # supraventricular ectopic: atrial, aberrated atrial, nodal, supraventricular
    **dict.fromkeys("VEr", "V"),  # ventricular ectopic: premature, escape, R-on-T premature
    "F": "F",  # fusion of ventricular and normal
    **dict.fromkeys("/fQ?", "Q"),  # paced, fusion of paced and normal, unclassifiable, not classified (learning)
}
"""WFDB beat annotation symbol -> AAMI class, the full ANSI/AAMI EC57 table.

Checked against WFDB's own EC57 mapping, ``map2`` in ``lib/ecgmap.h`` with the codes of
``lib/ecgcodes.h`` (the tables ``bxb``, PhysioNet's EC57 beat-by-beat comparator, uses): NORMAL, LBBB,
RBBB, BBB (``B``), NESC (``j``), AESC (``e``), SVESC (``n``) -> normal; ABERR (``a``), NPC (``J``),
APC (``A``), SVPB (``S``) -> SVPB; PVC (``V``), VESC (``E``), RONT (``r``) -> PVC; FUSION -> fusion;
PACE (``/``), PFUS (``f``), UNKNOWN (``Q``) and LEARN (``?``) are the EC57 Q class (``bxb`` sets them
aside). The MIT-BIH classes as in de Chazal et al. 2004, Table I. Every other symbol (rhythm ``+``,
noise ``~``, artifact ``|``, ventricular flutter wave ``!``, blocked P wave ``x``, comments, ...) is
not a classified beat; readers count those by symbol.
"""

DS1: tuple[int, ...] = (101, 106, 108, 109, 112, 114, 115, 116, 118, 119, 122, 124,
                        201, 203, 205, 207, 208, 209, 215, 220, 223, 230)  # fmt: skip
DS2: tuple[int, ...] = (100, 103, 105, 111, 113, 117, 121, 123, 200, 202, 210, 212,
                        213, 214, 219, 221, 222, 228, 231, 232, 233, 234)  # fmt: skip
PACED: tuple[int, ...] = (102, 104, 107, 217)


def aami_labels(symbols: list[str] | np.ndarray) -> np.ndarray:
    """AAMI class codes (index into ``AAMI_CLASSES``) of annotation symbols; -1 for non-beat symbols.

    Args:
        symbols: annotation symbols as ``wfdb.rdann`` returns them.
    """
    codes = {symbol: AAMI_CLASSES.index(cls) for symbol, cls in SYMBOL_TO_CLASS.items()}
    return np.array([codes.get(symbol, -1) for symbol in symbols], dtype=np.int64)
