"""Training loops: the run loop GAN trainers share (:class:`Trainer`, ``loop.py``), DCGAN-28
on MNIST (:class:`GANTrainer`), the digit classifier (:func:`train_classifier`), the
text-to-image GAN's step (:class:`Text2ImgTrainer`) and its attribute classifier
(:func:`train_attribute_classifier`), checkpoints, progress bar and logs."""
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: F401
from .classifier import train_classifier  # noqa: F401
from .gan import GANConfig, GANTrainer  # noqa: F401
from .helpers import copy_module_, ema_decay, frozen, update_ema  # noqa: F401
from .loop import RunConfig, Trainer  # noqa: F401
from .attributes import train_attribute_classifier  # noqa: F401
from .text2img import Text2ImgConfig, Text2ImgTrainer  # noqa: F401
