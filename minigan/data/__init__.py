"""Data: MNIST (the shipped 5,000-image subset and a reader for the full IDX files),
mini-batching, and the captioned data of the text-to-image GAN (procedural shapes, captioned
digits, the word tokenizer). ``from minigan.data import load_mnist, Batches, Shapes``."""
from .batching import Batches  # noqa: F401
from .mnist import MNIST, IDXError, load_mnist, read_idx, write_idx  # noqa: F401
from .captioned_digits import CaptionedDigits  # noqa: F401
from .shapes import CaptionedBatch, Shapes  # noqa: F401
from .tokenizer import Tokenizer, UnknownWordWarning  # noqa: F401
