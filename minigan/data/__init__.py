"""Data: MNIST (the shipped 5,000-image subset and a reader for the full IDX files) and
mini-batching. ``from minigan.data import load_mnist, Batches``."""
from .batching import Batches  # noqa: F401
from .mnist import MNIST, IDXError, load_mnist, read_idx, write_idx  # noqa: F401
