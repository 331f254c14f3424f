"""Network pieces shared by the agents: conv torsos, their mirrored decoders, init, optimizer."""

from __future__ import annotations

import torch
from torch import nn

from agents.errors import UsageError

#: (out_channels, kernel, stride) per conv layer; each suite has its own (:attr:`Suite.torso`).
ConvLayers = tuple[tuple[int, int, int], ...]


def conv_torso(obs_shape: tuple[int, ...], *, layers: ConvLayers) -> nn.Sequential:
    """``layers`` (a suite's torso, :attr:`agents.suites.Suite.torso`) with a ReLU after each,
    flattened. Input (B, C, H, W) float."""
    modules: list[nn.Module] = []
    channels = obs_shape[0]
    for out_channels, kernel, stride in layers:
        modules += [nn.Conv2d(channels, out_channels, kernel, stride), nn.ReLU()]
        channels = out_channels
    return nn.Sequential(*modules, nn.Flatten())


def torso_output_shape(obs_shape: tuple[int, ...], *, layers: ConvLayers) -> tuple[int, int, int]:
    """(C, H, W) of the torso's last conv output, computed analytically."""
    height, width = obs_shape[1:]
    for _, kernel, stride in layers:
        height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
    return layers[-1][0], height, width


def conv_decoder(
    obs_shape: tuple[int, ...],
    embedding_dim: int,
    dense_hidden: int = 0,
    *,
    layers: ConvLayers,
) -> nn.Sequential:
    """Mirror of :func:`conv_torso`: embedding -> image of ``obs_shape`` (linear output).

    Linear to the torso's output size, then ReLU and transposed convs in reverse order, with the
    ``output_padding`` that recovers each layer's exact input size (e.g. 210x160 colour frames).
    ``dense_hidden > 0`` inserts one more fully connected layer first (the "Dense" decoder).
    """
    convs = layers
    sizes = [tuple(obs_shape[1:])]
    for _, kernel, stride in convs:
        h, w = sizes[-1]
        sizes.append(((h - kernel) // stride + 1, (w - kernel) // stride + 1))
    in_channels = [obs_shape[0]] + [c for c, _, _ in convs[:-1]]
    out_shape = torso_output_shape(obs_shape, layers=convs)

    modules: list[nn.Module] = []
    width = embedding_dim
    if dense_hidden:
        modules += [nn.Linear(embedding_dim, dense_hidden), nn.ReLU()]
        width = dense_hidden
    modules += [
        nn.Linear(width, out_shape[0] * out_shape[1] * out_shape[2]),
        nn.Unflatten(1, out_shape),
    ]
    for index in reversed(range(len(convs))):
        channels, kernel, stride = convs[index]
        (h_in, w_in), (h_out, w_out) = sizes[index], sizes[index + 1]
        padding = (h_in - ((h_out - 1) * stride + kernel), w_in - ((w_out - 1) * stride + kernel))
        modules += [
            nn.ReLU(),
            nn.ConvTranspose2d(
                channels, in_channels[index], kernel, stride, output_padding=padding
            ),
        ]
    return nn.Sequential(*modules)


def conv_output_size(trunk: nn.Module, obs_shape: tuple[int, ...]) -> int:
    """Flattened size of ``trunk``'s output for one observation of ``obs_shape``."""
    with torch.no_grad():
        return int(trunk(torch.zeros(1, *obs_shape)).shape[1])


def xavier_init(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for conv and linear layers (the authors' DDQN init)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """Channels-last is what oneDNN's and cuDNN's fastest conv kernels want.

    On a 2-core CPU it makes a Nature-CNN forward+backward about 1.7x faster.
    """
    return x.contiguous(memory_format=torch.channels_last)


def pixels_to_float(obs: torch.Tensor) -> torch.Tensor:
    """uint8 or float frames (B, C, H, W) in [0, 255] -> float32 in [0, 1], channels-last.

    Always a new tensor: ``obs.float()`` is ``obs`` itself for a float32 input, so dividing
    that in place would rescale the caller's frames (a saliency map's base state, say)."""
    return to_channels_last(obs.to(torch.float32, copy=True).div_(255.0))


def bf16_autocast(device: torch.device | str, enabled: bool) -> torch.autocast:
    """bf16 autocast for convs and linears (softmax, losses and reductions stay fp32).

    On a CPU with AVX-512 bf16 the Nature-CNN forward at batch 32 runs ~1.5x faster and its
    3136x512 linear ~2x faster than in fp32 (``benchmarks/kernels.py``).
    """
    device_type = device.type if isinstance(device, torch.device) else device
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=enabled)


def cpu_capability() -> str:
    """The SIMD level PyTorch's CPU kernels dispatch to, e.g. ``AVX512``, ``AVX2``, ``DEFAULT``."""
    return torch.backends.cpu.get_cpu_capability()


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` runs bf16 convs and matmuls natively, not through slow emulation.

    CUDA: the GPU's own bf16 support (Ampere and later), emulation not counted. CPU: oneDNN's bf16
    kernels (AVX-512 or AMX on x86); on an AVX2-only CPU bf16 is emulated, about 7x slower than
    fp32 for a Pong DDQN run.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):  # a build without oneDNN, or without this probe
            return False
    return False


def describe_device(device: torch.device | str) -> str:
    """``CPU (capability AVX2)`` or ``GPU NAME``: what a precision message names."""
    device = torch.device(device)
    if device.type == "cpu":
        return f"CPU (capability {cpu_capability()})"
    if device.type == "cuda" and torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(device)})"
    return f"device ({device})"


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse ``precision=bf16`` on a device without native bf16, with a one-line UsageError.

    Refused, not downgraded: a run recorded as bf16 that ran fp32 would misreport its own config.
    """
    if precision != "bf16" or native_bf16(device):
        return
    raise UsageError(
        f"precision=bf16 needs native bf16, which this {describe_device(device)} lacks: bf16 would "
        "run about 7x slower than fp32; use precision=fp32"
    )


def make_adam(params, lr: float, eps: float) -> torch.optim.Adam:
    """Adam with the fused kernel: the same maths, ~6x faster step on CPU."""
    return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)


def clip_gradients(module: nn.Module, max_norm: float, per_layer: bool) -> None:
    """Clip by global norm, or (the authors' code) each conv/linear layer's norm separately."""
    if not per_layer:
        nn.utils.clip_grad_norm_(module.parameters(), max_norm)
        return
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.utils.clip_grad_norm_(layer.parameters(), max_norm)
