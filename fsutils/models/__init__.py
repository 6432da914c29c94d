"""All network definitions of the kit live here."""
from .adain import adain_decoder, adain_encoder, adain_vgg
from .magenta import StylePredictor, StyleTransferNet
from .transformer_net import TransformerNet
from .u2net import U2NET, U2NETP
from .vgg import FeatureExtractor, layer_names, vgg19_features

__all__ = ["U2NET", "U2NETP", "TransformerNet", "FeatureExtractor", "layer_names", "vgg19_features",
           "adain_vgg", "adain_encoder", "adain_decoder", "StyleTransferNet", "StylePredictor"]
