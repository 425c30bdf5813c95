"""Segmentation models, from the simplest to the networks of the slides.

Every segmentation model takes images (N, C_in, H, W) and returns logits (N, num_classes, H, W) at the input's
size. The exception is chapter 2's ``PatchClassifier``, which classifies the centre pixel of each patch: patches
(B, C_in, P, P) → logits (B, num_classes).
"""

from segbook.models.basic import PixelClassifier, SmallSegNet
from segbook.models.encoder_decoder import EncoderDecoder, FullResolutionFCN
from segbook.models.patch import PatchClassifier

__all__ = ["PixelClassifier", "SmallSegNet", "EncoderDecoder", "FullResolutionFCN", "PatchClassifier"]
