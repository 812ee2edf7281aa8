"""Mini-batches: shuffled with a seed, the last short batch dropped, on any device.

The order of epoch ``e`` is a permutation drawn from a generator seeded with
``(seed, e)``, so the position ``(epoch, index)`` is the whole state: a resumed run that
loads it with :meth:`Batches.load_state_dict` sees exactly the batches it would have seen.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from .. import backend
from ..autograd import Tensor


class Batches:
    """Batches of one or more arrays that share their first dimension.

    >>> from minigan.data import load_mnist, Batches
    >>> images, labels = load_mnist()
    >>> loader = Batches(images, labels, batch_size=64, seed=0)
    >>> x, y = next(iter(loader))        # Tensors (64, 1, 28, 28) float32, (64,) int64
    >>> len(loader)                      # batches per epoch: 4000 // 64
    62

    Iterating gives one epoch (continuing where the last one stopped); :meth:`forever`
    runs epoch after epoch. The arrays are moved to ``device`` once, up front.
    """

    def __init__(self, *arrays: np.ndarray, batch_size: int, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = True, device: str = "cpu") -> None:
        if not arrays:
            raise ValueError("Batches: give at least one array")
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError(f"Batches: arrays of different lengths {[len(a) for a in arrays]}")
        if batch_size < 1:
            raise ValueError(f"Batches: batch_size must be >= 1, got {batch_size}")
        if drop_last and batch_size > n:
            raise ValueError(f"Batches: batch_size {batch_size} is larger than the {n} examples "
                             f"(with drop_last there would be no batch at all)")
        self.device = backend.normalize_device(device)
        self.arrays = [backend.to_device(np.asarray(a), self.device) for a in arrays]
        self.n, self.batch_size = n, int(batch_size)
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch, self.index = 0, 0

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def _take(self, rows: np.ndarray):
        rows = backend.to_device(rows, self.device)
        batch = tuple(Tensor._wrap(a[rows]) for a in self.arrays)
        return batch[0] if len(batch) == 1 else batch

    def __iter__(self) -> Iterator:
        """The rest of the current epoch (all of it when it has not started)."""
        order = self._order(self.epoch)
        while self.index < len(self):
            start = self.index * self.batch_size
            self.index += 1
            yield self._take(order[start:start + self.batch_size])
        self.epoch, self.index = self.epoch + 1, 0

    def forever(self) -> Iterator:
        """Batches without end, epoch after epoch."""
        while True:
            yield from self

    def state_dict(self) -> dict:
        """Where the iteration stands: enough to resume it exactly."""
        return {"epoch": self.epoch, "index": self.index, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.index, self.seed = int(state["epoch"]), int(state["index"]), int(state["seed"])
