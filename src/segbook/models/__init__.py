"""Segmentation models, from the simplest to the networks of the slides.

Every model takes images (N, C_in, H, W) and returns logits (N, num_classes, H, W) at the input's size.
"""

from segbook.models.basic import PixelClassifier, SmallSegNet
from segbook.models.encoder_decoder import EncoderDecoder, FullResolutionFCN

__all__ = ["PixelClassifier", "SmallSegNet", "EncoderDecoder", "FullResolutionFCN"]
