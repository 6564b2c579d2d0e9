"""The language-modelling layout: each split as ``batch_size`` contiguous streams, read in windows of ``bptt``."""

from __future__ import annotations

from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["BpttWindows", "batchify"]


def batchify(ids: Tensor, batch_size: int) -> Tensor:
    """Cut a 1-D token stream into ``batch_size`` contiguous rows ``(batch_size, length)``, dropping the remainder.

    Row ``i`` holds tokens ``i * length ... (i + 1) * length - 1``, so reading the columns left to
    right continues every row's text where the previous window stopped.
    """
    length = len(ids) // batch_size
    return ids[: length * batch_size].view(batch_size, length)


class BpttWindows(Dataset):
    """Consecutive windows of ``bptt`` steps over batchified streams; item ``i`` is a whole batch.

    Each item is ``{"x": streams[:, s:s+L], "y": streams[:, s+1:s+1+L]}`` with ``s = i * bptt``; the
    last window is shorter when the streams do not divide evenly. Serve it in order with
    ``DataLoader(..., batch_size=None)``: carried hidden states rely on that order.
    """

    def __init__(self, streams: Tensor, bptt: int) -> None:
        self.streams, self.bptt = streams, bptt

    def __len__(self) -> int:
        return -(-(self.streams.shape[1] - 1) // self.bptt)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        start = index * self.bptt
        stop = min(start + self.bptt, self.streams.shape[1] - 1)
        return {"x": self.streams[:, start:stop], "y": self.streams[:, start + 1 : stop + 1]}

