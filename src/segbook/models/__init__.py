"""Segmentation models, from the simplest to the networks of the slides.

Every segmentation model takes images (N, C_in, H, W) and returns logits (N, num_classes, H, W) at the input's
size. The exceptions are documented where they happen: chapter 2's ``PatchClassifier`` classifies the centre
pixel of each patch (B, C_in, P, P) → (B, num_classes); ``UNet(padding="valid")`` returns the paper's smaller
map; and models with deep or intermediate supervision (``UNetPlusPlus``, ``StackedUNets``, ``CoupledUNets``)
return a list of logits, one per head, last head last.
"""

from segbook.models.basic import PixelClassifier, SmallSegNet
from segbook.models.cost import ModelCost, count_parameters, model_cost
from segbook.models.encoder_decoder import EncoderDecoder, FullResolutionFCN
from segbook.models.fcn import FCN, fcn8s, fcn16s, fcn32s
from segbook.models.patch import PatchClassifier
from segbook.models.probes import fcn_logits_with_skip_weight, head_logits, unet_feature_sizes, unetpp_pruned_logits
from segbook.models.stacked import CoupledUNets, StackedUNets
from segbook.models.unet import UNet, overlap_tile_predict
from segbook.models.unet_plus_plus import AverageHeads, PrunedUNetPlusPlus, UNetPlusPlus

__all__ = [
    "PixelClassifier",
    "SmallSegNet",
    "EncoderDecoder",
    "FullResolutionFCN",
    "PatchClassifier",
    "FCN",
    "fcn32s",
    "fcn16s",
    "fcn8s",
    "UNet",
    "overlap_tile_predict",
    "UNetPlusPlus",
    "PrunedUNetPlusPlus",
    "AverageHeads",
    "StackedUNets",
    "CoupledUNets",
    "ModelCost",
    "count_parameters",
    "model_cost",
    "unet_feature_sizes",
    "fcn_logits_with_skip_weight",
    "unetpp_pruned_logits",
    "head_logits",
]
