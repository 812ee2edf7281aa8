"""Models built on minigan.nn: DCGAN-28 (generator and discriminator for 28x28 digits), the
digit classifier the evaluator uses, and the text-to-image GAN (text encoder, conditional
generator and discriminator, the attribute classifier that scores it)."""
from .classifier import DigitClassifier, load_classifier  # noqa: F401
from .dcgan import Discriminator, Generator, init_dcgan_weights  # noqa: F401
from .attributes import AttributeClassifier, load_attribute_classifier  # noqa: F401
from .conditioning import ConditionalBatchNorm2d, CrossAttention2d  # noqa: F401
from .text2img import Text2ImgDiscriminator, Text2ImgGenerator  # noqa: F401
from .text_encoder import TextEncoder  # noqa: F401
