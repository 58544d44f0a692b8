"""torchvision's Mask R-CNN architectures, built by the library's own builders, and the library's COCO weights.

- resnet50-fpn-v2: `maskrcnn_resnet50_fpn_v2` (ResNet-50 FPN, the improved recipe; about 46 M parameters).
- mobilenet-v3-fpn: MobileNetV3-Large FPN as `fasterrcnn_mobilenet_v3_large_fpn` builds it, with a Mask R-CNN mask
  branch (torchvision has COCO weights for the detector, not for a mask branch, which then starts fresh).

The COCO weights come from torchvision's WeightsEnum (`get_state_dict`, the call its builders make), which downloads
them once into torch's hub cache ($TORCH_HOME/hub/checkpoints); their class heads are carried over by class name
(weights.load_matching), so a project class named like a COCO class ("person", "car", ...) keeps what COCO taught."""

from __future__ import annotations

from torch import nn
from torchvision.models.detection import MaskRCNN, maskrcnn_resnet50_fpn_v2
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import mobilenet_backbone
from torchvision.ops import misc as misc_nn_ops

# How many backbone stages train when starting from COCO weights: the library's own defaults for these builders.
COCO_TRAINABLE_LAYERS = 3
RESNET_LAYERS = ["layer4", "layer3", "layer2", "layer1", "conv1"]


def coco_weights(name: str):
    from torchvision.models.detection import FasterRCNN_MobileNet_V3_Large_FPN_Weights, MaskRCNN_ResNet50_FPN_V2_Weights
    return {"resnet50-fpn-v2": MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1,
            "mobilenet-v3-fpn": FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1}[name]


def build_torchvision(num_classes: int, arch) -> MaskRCNN:
    pretrained = arch.pretrained == "coco"
    if arch.name == "resnet50-fpn-v2":
        model = maskrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=num_classes,
                                         min_size=arch.min_size, max_size=arch.max_size)
        if pretrained:
            # what maskrcnn_resnet50_fpn_v2(weights=COCO_V1) leaves trainable (_resnet_fpn_extractor's rule)
            trainable = RESNET_LAYERS[:COCO_TRAINABLE_LAYERS]
            for name, parameter in model.backbone.body.named_parameters():
                if not any(name.startswith(layer) for layer in trainable):
                    parameter.requires_grad_(False)
        return model
    if arch.name == "mobilenet-v3-fpn":
        # as fasterrcnn_mobilenet_v3_large_fpn builds it: frozen BatchNorm and 3 trainable stages once trained
        backbone = mobilenet_backbone(backbone_name="mobilenet_v3_large", weights=None, fpn=True,
                                      norm_layer=misc_nn_ops.FrozenBatchNorm2d if pretrained else nn.BatchNorm2d,
                                      trainable_layers=COCO_TRAINABLE_LAYERS if pretrained else 6)
        anchor_sizes = ((32, 64, 128, 256, 512),) * 3
        anchors = AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))
        return MaskRCNN(backbone, num_classes, rpn_anchor_generator=anchors, min_size=arch.min_size,
                        max_size=arch.max_size)
    raise ValueError(f"unknown torchvision architecture {arch.name!r}")


def load_pretrained(model: nn.Module, arch, class_names: list[str], log=print) -> dict:
    """Loads torchvision's COCO weights into `model` (downloading them on first use), class rows by name."""
    from .weights import load_matching
    weights = coco_weights(arch.name)
    state = weights.get_state_dict(progress=True)
    coco_classes = [c for c in weights.meta["categories"]]
    report = load_matching(model, state, ["__background__", *class_names], coco_classes)
    log(f"started from torchvision's {weights} ({weights.url})"
        + (f"; classes named as in COCO: {', '.join(report['matched_classes'])}" if report["matched_classes"] else "")
        + (f"; fresh: {', '.join(report['fresh'])}" if report["fresh"] else ""))
    return report
