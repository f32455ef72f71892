"""Wide ResNet (Zagoruyko & Komodakis 2016) of Madry et al. and TRADES, Chapter 4's CIFAR-10 net.

Sec. 4.2.4.1 uses "exactly the same model structure provided by (MMS18; ZYJ19)" for its Wide ResNet
results (Tables 4.3 and 4.4): WRN-34-10, i.e. a 3x3 convolution to 16 channels, three groups of
``(34 - 4) / 6 = 5`` pre-activation BasicBlocks of width 160, 320 and 640 (the second and third
groups start with stride 2), then BN-ReLU, 8x8 average pooling and a linear layer: 46,160,474
parameters for 10 classes. Dropout is 0, as in TRADES.

Like TRADES, the network sees raw [0, 1] pixels: there is no input normalisation.

Module and parameter names follow TRADES' ``wideresnet.py`` (``block1.layer.0.convShortcut`` ...)
so its released checkpoints load into :func:`wrn34_10`. That file also builds a ``sub_block1`` that
its forward pass never uses; drop the ``sub_block1.*`` entries of such a checkpoint before loading.
"""
from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from ..registry import register


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus a shortcut (TRADES' ``BasicBlock``).

    When the width or stride changes, the shortcut is a 1x1 convolution of the pre-activated input
    ``relu(bn1(x))``; otherwise it is the identity on ``x`` itself.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.equal_in_out = in_channels == out_channels
        # TRADES builds the projection exactly when the widths differ (a stride change always
        # comes with a width change in a WRN); the name keeps its checkpoints loadable.
        self.convShortcut = (
            None if self.equal_in_out
            else nn.Conv2d(in_channels, out_channels, 1, stride, padding=0, bias=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        activated = self.relu1(self.bn1(x))
        out = self.conv2(self.relu2(self.bn2(self.conv1(activated))))
        shortcut = x if self.convShortcut is None else self.convShortcut(activated)
        return shortcut + out


class BlockGroup(nn.Module):
    """``blocks`` PreActBlocks of one width, the first with ``stride`` (TRADES' NetworkBlock)."""

    def __init__(self, blocks: int, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.layer = nn.Sequential(
            PreActBlock(in_channels, out_channels, stride),
            *(PreActBlock(out_channels, out_channels, 1) for _ in range(blocks - 1)),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-``depth``-``widen`` for (3, 32, 32) inputs in [0, 1], no input normalisation (TRADES)."""

    # No clear CPU gain from channels-last in a quick 2-core measurement (within noise); WRN-34-10
    # is trained on a GPU, where training.loop.place_model always uses channels-last.
    channels_last_on_cpu = False

    def __init__(self, depth: int = 34, widen: int = 10, num_classes: int = 10) -> None:
        super().__init__()
        if depth < 10 or (depth - 4) % 6 != 0 or widen < 1:
            raise ValueError(
                f"WideResNet needs depth = 6n + 4 >= 10 and widen >= 1, got {depth}, {widen}"
            )
        blocks = (depth - 4) // 6
        widths = (16 * widen, 32 * widen, 64 * widen)
        self.input_shape = (3, 32, 32)
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(3, 16, 3, 1, padding=1, bias=False)
        self.block1 = BlockGroup(blocks, 16, widths[0], 1)
        self.block2 = BlockGroup(blocks, widths[0], widths[1], 2)
        self.block3 = BlockGroup(blocks, widths[1], widths[2], 2)
        self.bn1 = nn.BatchNorm2d(widths[2])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(widths[2], num_classes)
        self._init_like_trades()

    def _init_like_trades(self) -> None:
        """He-normal convolutions (fan-out), unit BN scales, zero BN shifts and zero linear bias."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
                nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.avg_pool2d(self.relu(self.bn1(out)), 8)
        return self.fc(out.flatten(1))


@register("model", "wrn34_10", family="image_classifier")
def wrn34_10(num_classes: int = 10) -> WideResNet:
    """WRN-34-10 of Madry et al./TRADES (Sec. 4.2.4.1) for (3, 32, 32) inputs, raw [0, 1] pixels."""
    return WideResNet(34, 10, num_classes=num_classes)


WRN34_WIDTHS = (1, 2, 4, 6, 8)  # Figure 5.7's other widths: WRN-34-k, registered as "wrn34_<k>"


def _register_wrn34(widen: int) -> None:
    def factory(num_classes: int = 10) -> WideResNet:
        return WideResNet(34, widen, num_classes=num_classes)

    factory.__doc__ = f"WRN-34-{widen} (Figure 5.7's width {widen}; width 1 is a 34-layer ResNet)."
    register("model", f"wrn34_{widen}", family="image_classifier")(factory)


for _widen in WRN34_WIDTHS:
    _register_wrn34(_widen)
