import pytest
import torch
from torch import nn

from agents.networks import SubPixelConvTranspose2d, conv_decoder


@pytest.mark.parametrize(
    "in_channels,out_channels,kernel,stride,output_padding,size",
    [
        (32, 4, 8, 4, (0, 0), (20, 20)),  # the Atari decoder's last layer
        (64, 32, 4, 2, (0, 0), (9, 9)),
        (32, 12, 8, 4, (3, 2), (51, 39)),  # colour 210x160 frames need output padding
        (64, 64, 3, 1, (0, 0), (7, 7)),  # stride 1: the plain kernel runs
        (8, 4, 5, 2, (1, 1), (6, 6)),  # kernel not a multiple of the stride: the plain kernel
    ],
)
def test_sub_pixel_transposed_conv_matches_pytorch(
    in_channels, out_channels, kernel, stride, output_padding, size
):
    torch.manual_seed(0)
    reference = nn.ConvTranspose2d(
        in_channels, out_channels, kernel, stride, output_padding=output_padding
    )
    nn.init.uniform_(reference.bias, -1, 1)
    fast = SubPixelConvTranspose2d(
        in_channels, out_channels, kernel, stride, output_padding=output_padding
    )
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(3, in_channels, *size)
    x_ref, x_fast = x.clone().requires_grad_(), x.clone().requires_grad_()
    expected, got = reference(x_ref), fast(x_fast)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    expected.square().sum().backward()
    got.square().sum().backward()
    torch.testing.assert_close(x_fast.grad, x_ref.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast.weight.grad, reference.weight.grad, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(fast.bias.grad, reference.bias.grad, rtol=1e-4, atol=1e-3)


def test_decoder_uses_the_sub_pixel_kernel_and_keeps_checkpoint_keys():
    decoder = conv_decoder((4, 84, 84), 256)
    deconvs = [m for m in decoder if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == 3 and all(isinstance(m, SubPixelConvTranspose2d) for m in deconvs)
    assert {k.rsplit(".", 1)[1] for k in decoder.state_dict()} == {"weight", "bias"}


def test_bf16_autocast_stays_close_to_fp32():
    from agents.ddqn import QNetwork

    torch.manual_seed(0)
    fp32, bf16 = QNetwork((4, 84, 84), 6), QNetwork((4, 84, 84), 6, bf16=True)
    bf16.load_state_dict(fp32.state_dict())
    obs = torch.randint(0, 256, (8, 4, 84, 84), dtype=torch.uint8)
    expected, got = fp32(obs), bf16(obs)
    assert got.dtype == torch.float32
    assert (got - expected).abs().max() <= 0.05 * expected.abs().max() + 1e-3
