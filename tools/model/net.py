"""The networks tools/model trains, all torchvision MaskRCNN (RPN, RoIAlign, box and mask heads):

- loupe-small: Loupe's own compact residual backbone with a narrow FPN and slim heads, chosen for CPU training from
  scratch (about 2.6 M parameters; the shipped model);
- resnet50-fpn-v2 and mobilenet-v3-fpn: torchvision's own Mask R-CNN builders (torchvision_nets.py), which can
  start from torchvision's COCO weights (`pretrained="coco"`).

The Architecture is stored in every checkpoint, so any checkpoint rebuilds its network."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

ARCHITECTURES = ("loupe-small", "resnet50-fpn-v2", "mobilenet-v3-fpn")
DEFAULT_INPUT_SIZE = {"loupe-small": (384, 512), "resnet50-fpn-v2": (800, 1333), "mobilenet-v3-fpn": (800, 1333)}


@dataclass
class Architecture:
    """Everything needed to rebuild the network; stored in every checkpoint."""
    name: str = "loupe-small"
    min_size: int = 384
    max_size: int = 512
    # "coco" when the run started from torchvision's COCO weights: it decides which backbone layers train and,
    # for mobilenet-v3-fpn, frozen BatchNorm, so a resumed or exported run rebuilds the same network.
    pretrained: str | None = None
    # loupe-small only
    widths: list[int] = field(default_factory=lambda: [24, 40, 80, 128, 192])  # stem, then strides 4, 8, 16, 32
    fpn_channels: int = 64
    box_head_dim: int = 256
    mask_head_layers: list[int] = field(default_factory=lambda: [64, 64])
    anchor_sizes: list[int] = field(default_factory=lambda: [12, 24, 48, 96, 192])

    @classmethod
    def from_dict(cls, values: dict) -> "Architecture":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown architecture fields {unknown} (a checkpoint from a newer tools/model?)")
        return cls(**values)

    @classmethod
    def named(cls, name: str, min_size: int | None = None, max_size: int | None = None,
              pretrained: str | None = None) -> "Architecture":
        if name not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {name!r}; choose from {', '.join(ARCHITECTURES)}")
        if pretrained not in (None, "coco"):
            raise ValueError(f"unknown pretrained weights {pretrained!r}; the choice is coco")
        if pretrained and name == "loupe-small":
            raise ValueError("loupe-small has no library weights; start from the shipped model instead "
                             "(--init-from resources/models/loupe-shapes.pt)")
        default_min, default_max = DEFAULT_INPUT_SIZE[name]
        return cls(name=name, min_size=min_size or default_min, max_size=max_size or default_max,
                   pretrained=pretrained)

    def to_dict(self) -> dict:
        return asdict(self)


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class CompactBackbone(nn.Sequential):
    """Stride-2 stem, then four stages (strides 4 to 32), each a strided conv and one residual block."""

    def __init__(self, widths: list[int]):
        stem, *stages = widths
        layers = OrderedDict(stem=conv_bn(3, stem, 2))
        cin = stem
        for i, cout in enumerate(stages):
            layers[f"stage{i + 1}"] = nn.Sequential(conv_bn(cin, cout, 2), ResidualBlock(cout))
            cin = cout
        super().__init__(layers)


def build_loupe_small(num_classes: int, arch: Architecture) -> MaskRCNN:
    body = CompactBackbone(arch.widths)
    backbone = BackboneWithFPN(
        body,
        return_layers={f"stage{i}": str(i - 1) for i in range(1, 5)},
        in_channels_list=arch.widths[1:],
        out_channels=arch.fpn_channels,
        extra_blocks=LastLevelMaxPool(),
    )
    anchors = AnchorGenerator(sizes=tuple((s,) for s in arch.anchor_sizes),
                              aspect_ratios=((0.5, 1.0, 2.0),) * len(arch.anchor_sizes))
    box_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=7, sampling_ratio=2)
    mask_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=14, sampling_ratio=2)
    return MaskRCNN(
        backbone,
        min_size=arch.min_size,
        max_size=arch.max_size,
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=1000, rpn_post_nms_top_n_train=500,
        rpn_pre_nms_top_n_test=500, rpn_post_nms_top_n_test=200,
        rpn_batch_size_per_image=128,
        box_roi_pool=box_roi_pool,
        box_head=TwoMLPHead(arch.fpn_channels * 7 * 7, arch.box_head_dim),
        box_predictor=FastRCNNPredictor(arch.box_head_dim, num_classes),
        box_batch_size_per_image=128,
        box_detections_per_img=50,
        mask_roi_pool=mask_roi_pool,
        mask_head=MaskRCNNHeads(arch.fpn_channels, arch.mask_head_layers, 1),
        mask_predictor=MaskRCNNPredictor(arch.mask_head_layers[-1], arch.mask_head_layers[-1], num_classes),
    )


def build_model(num_classes: int, arch: Architecture) -> MaskRCNN:
    """The network with fresh weights (num_classes counts the background class); library weights are loaded
    separately (torchvision_nets.load_pretrained), so that a checkpoint rebuilds without downloading anything."""
    if arch.name == "loupe-small":
        model = build_loupe_small(num_classes, arch)
    else:
        from .torchvision_nets import build_torchvision
        model = build_torchvision(num_classes, arch)
    # torchvision resizes to floor(side * scale): the side meant to become exactly min_size computes as
    # min_size - 1e-5 in PyTorch's double arithmetic but as min_size in the ONNX graph's float32, one pixel apart.
    # A nudge far above float32 rounding makes both floor to the same size.
    model.transform.min_size = (arch.min_size + 0.01,)
    model.transform.max_size = arch.max_size + 0.01
    model.input_size = (arch.min_size, arch.max_size)
    return model
