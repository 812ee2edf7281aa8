"""Models built on minigan.nn: DCGAN-28 (generator and discriminator for 28x28 digits) and
the digit classifier the evaluator uses."""
from .classifier import DigitClassifier, load_classifier  # noqa: F401
from .dcgan import Discriminator, Generator, init_dcgan_weights  # noqa: F401
