"""BN-only fine-tuning (thesis §6.2.1, Table 6.1): train the norm layers, freeze everything else.

Table 6.1 fine-tunes "only the parameters of batch normalization" of a trained ResNet-18, with
standard or adversarial training. :func:`norm_parameters` lists those parameters (γ and β of every
BatchNorm, both BNs of a dual BN, W and W′ of a RobMask layer; GroupNorm/LayerNorm/InstanceNorm
affines too), and :func:`freeze_all_but_norm` turns off the gradient of every other parameter and
returns them for the optimiser. Running statistics are buffers, not parameters: in train mode they
keep updating, as in the thesis's fine-tuning (Figure 6.1 shows they barely move).
"""
from __future__ import annotations

from torch import nn
from torch.nn.modules.batchnorm import _NormBase

NORM_TYPES: tuple[type[nn.Module], ...] = (_NormBase, nn.GroupNorm, nn.LayerNorm)


def norm_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The learnable parameters of every norm layer of ``model`` (each once, in module order)."""
    found: list[nn.Parameter] = []
    seen: set[int] = set()
    for module in model.modules():
        if isinstance(module, NORM_TYPES):
            for parameter in module.parameters(recurse=False):
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    found.append(parameter)
    return found


def freeze_all_but_norm(model: nn.Module) -> list[nn.Parameter]:
    """Set ``requires_grad`` on the norm parameters only; return them (for the optimiser)."""
    trainable = norm_parameters(model)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for parameter in trainable:
        parameter.requires_grad_(True)
    return trainable
