"""The Carlini-Wagner CNNs attacked in the hard-label experiments of Section 2.5.

Thesis Sec. 2.5 uses "the CNN networks provided by (CW17)": four 3x3 convolutions (no padding),
two 2x2 max-pools and two hidden fully connected layers, ReLU throughout, dropout 0.5 after each
hidden fully connected layer (as in the author's attackbox code). The thesis reports 99.5% test
accuracy on MNIST and 82.5% on CIFAR-10. The networks see raw [0, 1] pixels (identity
normalisation). The attackbox variant adds BatchNorm after each convolution; CW17 and the thesis
do not, and neither does this module.
"""
from __future__ import annotations

from torch import Tensor, nn

from ..registry import register
from .normalize import Normalize


class CarliniWagnerCNN(nn.Module):
    """conv(a)-conv(a)-pool-conv(b)-conv(b)-pool-fc(h)-fc(h)-fc(classes) on square images."""

    # Measured on a 2-core CPU: channels-last weights make these nets 1.2x faster to train and
    # 1.5-1.9x faster to query (ResNet-18 is slower that way on the CPU, so it does not opt in).
    channels_last_on_cpu = True

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        conv_widths: tuple[int, int],
        hidden_width: int,
        num_classes: int = 10,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.input_shape = (in_channels, image_size, image_size)
        self.num_classes = num_classes
        narrow, wide = conv_widths
        side = ((image_size - 4) // 2 - 4) // 2  # two valid 3x3 convs then a 2x2 pool, twice
        self.normalize = Normalize(mean=(0.0,), std=(1.0,))
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, narrow, 3), nn.ReLU(inplace=True),
            nn.Conv2d(narrow, narrow, 3), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(narrow, wide, 3), nn.ReLU(inplace=True),
            nn.Conv2d(wide, wide, 3), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(
            nn.Linear(wide * side * side, hidden_width), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden_width, hidden_width), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden_width, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(self.normalize(x)))


@register("model", "cw_mnist", family="image_classifier")
def cw_mnist(num_classes: int = 10) -> CarliniWagnerCNN:
    """C&W MNIST net: conv32-conv32-pool-conv64-conv64-pool-fc200-fc200-fc10 on (1, 28, 28)."""
    return CarliniWagnerCNN(1, 28, conv_widths=(32, 64), hidden_width=200, num_classes=num_classes)


@register("model", "cw_cifar10", family="image_classifier")
def cw_cifar10(num_classes: int = 10) -> CarliniWagnerCNN:
    """C&W CIFAR-10 net: conv64-conv64-pool-conv128-conv128-pool-fc256-fc256-fc10 on (3, 32, 32)."""
    return CarliniWagnerCNN(3, 32, conv_widths=(64, 128), hidden_width=256, num_classes=num_classes)
