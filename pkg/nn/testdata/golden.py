#!/usr/bin/python3
"""Golden fixtures for pkg/nn, computed by PyTorch (Debian's python3-torch).

Run from anywhere:  /usr/bin/python3 pkg/nn/testdata/golden.py

It writes, next to itself, golden.bin (float32 little-endian tensors, one
after another) and golden.json (name -> {"offset": in values, "shape": [...]}).
Tensors keep PyTorch's layouts (NCHW activations, OIHW conv weights); the Go
test converts. Per case "<case>/" holds the inputs and parameters, the output
"y", the fixed upstream gradient "dy", the gradients "dx" and "<param>.grad",
and BatchNorm running statistics before ("<buf>.0") and after one step.
"""
import json
import os

import torch
from torch import nn

torch.manual_seed(0)
tensors = {}


def put(name, t):
    tensors[name] = t.detach().to(torch.float32).clone()  # buffers change in place


def run(case, module, x, train=True):
    """Forward and backward one module; record everything under case/."""
    module.train(train)
    for name, b in module.named_buffers():
        if b.dtype.is_floating_point:
            put(f"{case}/{name}.0", b)
    for name, p in module.named_parameters():
        put(f"{case}/{name}", p)
    x = x.clone().requires_grad_(True)
    y = module(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    put(f"{case}/x", x)
    put(f"{case}/y", y)
    put(f"{case}/dy", dy)
    put(f"{case}/dx", x.grad)
    for name, p in module.named_parameters():
        put(f"{case}/{name}.grad", p.grad)
    for name, b in module.named_buffers():
        put(f"{case}/{name}", b)  # num_batches_tracked as a float: it is small


def randomize_bn(bn):
    """Non-trivial affine parameters and running statistics."""
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 1.5)
    return bn


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock, with its state_dict names."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def block(cin, planes, stride):
    b = BasicBlock(cin, planes, stride)
    for m in b.modules():
        if isinstance(m, nn.BatchNorm2d):
            randomize_bn(m)
    return b


# Convolutions: the ResNet-18 shapes, at small sizes (odd sides test the edges).
run("conv7x7s2", nn.Conv2d(3, 4, 7, 2, 3, bias=False), torch.randn(2, 3, 11, 10))
run("conv3x3s1", nn.Conv2d(4, 5, 3, 1, 1, bias=False), torch.randn(2, 4, 6, 5))
run("conv3x3s2", nn.Conv2d(4, 6, 3, 2, 1, bias=False), torch.randn(2, 4, 7, 8))
run("conv1x1s2", nn.Conv2d(4, 6, 1, 2, 0, bias=False), torch.randn(2, 4, 8, 7))
run("conv1x1s1", nn.Conv2d(4, 6, 1, 1, 0, bias=False), torch.randn(2, 4, 3, 4))

run("bn2d_train", randomize_bn(nn.BatchNorm2d(3)), 2 * torch.randn(2, 3, 4, 5) + 1)
run("bn2d_eval", randomize_bn(nn.BatchNorm2d(3)), 2 * torch.randn(2, 3, 4, 5) + 1, train=False)
run("bn1d_train", randomize_bn(nn.BatchNorm1d(5)), 2 * torch.randn(6, 5) + 1)

run("maxpool", nn.MaxPool2d(3, 2, 1), torch.randn(2, 3, 9, 8))
run("avgpool", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), torch.randn(2, 4, 3, 3))
run("linear", nn.Linear(5, 4), torch.randn(3, 5))
run("relu", nn.ReLU(), torch.randn(2, 3, 4, 4))

run("block", block(4, 4, 1), torch.randn(2, 4, 8, 8))
run("block_down", block(4, 8, 2), torch.randn(2, 4, 8, 8))
# A batch past a tile of the micro-kernel (12 images) and channels in whole
# panels (32): the Go block runs its 3x3 convolutions directly.
run("block_down_direct", block(32, 32, 2), torch.randn(13, 32, 4, 4))

here = os.path.dirname(os.path.abspath(__file__))
index, offset = {}, 0
with open(os.path.join(here, "golden.bin"), "wb") as f:
    for name, t in tensors.items():
        f.write(t.numpy().astype("<f4").tobytes())
        index[name] = {"offset": offset, "shape": list(t.shape)}
        offset += t.numel()
with open(os.path.join(here, "golden.json"), "w") as f:
    f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in index.items()) + "\n}\n")
print(f"{len(index)} tensors, {offset} values")
