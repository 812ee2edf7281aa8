"""Training loops: the run loop GAN trainers share (:class:`Trainer`, ``loop.py``), DCGAN-28
on MNIST (:class:`GANTrainer`), the digit classifier (:func:`train_classifier`), checkpoints,
progress bar and logs."""
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: F401
from .classifier import train_classifier  # noqa: F401
from .gan import GANConfig, GANTrainer  # noqa: F401
from .helpers import copy_module_, ema_decay, frozen, update_ema  # noqa: F401
from .loop import RunConfig, Trainer  # noqa: F401
