"""ImageNet starts: torchvision's published weights for the trunks of the zoo's ResNet and MobileNet families.

Loaded through torchvision's weights API, so the file comes from torchvision's cache (``$TORCH_HOME/hub/checkpoints``,
by default ``~/.cache/torch/hub/checkpoints``). With no cached file and no network, one clear error says which file
to put where. The ImageNet classifier is never used; a grey model's first conv is the sum of the RGB kernels (a grey
image seen as three equal channels gives the same response).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import EdgeLandmarksError

__all__ = ["load_imagenet", "imagenet_source", "IMAGENET_SOURCES"]


def _resnet_keys(key: str) -> str | None:
    """torchvision ResNet key -> our ``trunk.N`` key (conv1, bn1, relu, maxpool, layer1..4)."""
    head, _, rest = key.partition(".")
    index = {"conv1": 0, "bn1": 1, "layer1": 4, "layer2": 5, "layer3": 6, "layer4": 7}.get(head)
    return None if index is None else f"trunk.{index}.{rest}"


def _features_keys(key: str) -> str | None:
    return key if key.startswith("features.") else None


# model name -> (torchvision weights enum, its member, torchvision key -> our key)
IMAGENET_SOURCES = {
    "resnet18": ("ResNet18_Weights", "IMAGENET1K_V1", _resnet_keys),
    "resnet18_gray": ("ResNet18_Weights", "IMAGENET1K_V1", _resnet_keys),
    "resnet18_gray_eyes": ("ResNet18_Weights", "IMAGENET1K_V1", _resnet_keys),
    "resnet18_256": ("ResNet18_Weights", "IMAGENET1K_V1", _resnet_keys),
    "kaggle_resnet50": ("ResNet50_Weights", "IMAGENET1K_V1", _resnet_keys),
    "mobilenetv2": ("MobileNet_V2_Weights", "IMAGENET1K_V1", _features_keys),
    "mobilenetv2_se": ("MobileNet_V2_Weights", "IMAGENET1K_V1", _features_keys),
    "mobilenetv3_large": ("MobileNet_V3_Large_Weights", "IMAGENET1K_V1", _features_keys),
}


def imagenet_source(model_name: str):
    """(torchvision weights entry, key mapping) for a model of the zoo, or a clear error naming those that have one."""
    import torchvision.models as tvm

    if model_name not in IMAGENET_SOURCES:
        raise EdgeLandmarksError(f"--pretrained imagenet: torchvision publishes no ImageNet weights for {model_name}; "
                                 f"models with them: {', '.join(sorted(IMAGENET_SOURCES))}")
    enum_name, member, mapping = IMAGENET_SOURCES[model_name]
    return getattr(getattr(tvm, enum_name), member), mapping


def cached_path(weights) -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]


def load_imagenet(model) -> dict:
    """Copy torchvision's ImageNet weights into ``model``'s trunk; returns ``{"loaded": [...], "file": path}``."""
    name = model.config.name
    weights, mapping = imagenet_source(name)
    path = cached_path(weights)
    try:
        state = weights.get_state_dict(progress=False)
    except Exception as exc:  # no network: URLError / OSError / HTTP errors, whatever the machine gives
        raise EdgeLandmarksError(
            f"--pretrained imagenet: {path.name} is not in torchvision's cache and could not be downloaded "
            f"({type(exc).__name__}). Put the file at {path} (it is {weights.url}; set TORCH_HOME to use another "
            "cache folder) and run again") from None
    own = model.state_dict()
    if name == "kaggle_resnet50":  # its 1x1 stem maps the grey input to 3 channels before the ResNet trunk
        own_keys = {k for k in own if k.startswith("trunk.")}
    else:
        own_keys = set(own)
    loaded = []
    for key, value in state.items():
        ours = mapping(key)
        if ours is None or ours not in own_keys:
            continue
        target = own[ours]
        if value.ndim == 4 and target.shape[1] == 1 and value.shape[1] == 3 and target.shape[0] == value.shape[0]:
            value = value.sum(dim=1, keepdim=True)  # grey conv1
        if tuple(value.shape) != tuple(target.shape):
            raise EdgeLandmarksError(f"{path}: {key} has shape {tuple(value.shape)}, {name} needs {tuple(target.shape)}"
                                     "; is the file the right one?")
        own[ours] = value
        loaded.append(ours)
    if not loaded:
        raise EdgeLandmarksError(f"{path}: no tensor of it fits {name}")
    model.load_state_dict(own)
    return {"loaded": loaded, "file": str(path)}
