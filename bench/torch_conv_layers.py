# Times forward + backward (input and weight gradients) of each distinct
# ResNet-18 convolution at 512 views in PyTorch, fp32, channels_last, 2
# threads: the peer of pkg/nn's BenchmarkConvLayers (same list, same order).
# Run with Debian's python3-torch:  /usr/bin/python3 bench/torch_conv_layers.py
# Layer names as arguments time only those. PyTorch's time for a layer
# depends on what ran before it in the process (imagenet/layer1: 21-23 ms
# first, 78-86 ms after conv1), so to find its best, time each layer in a
# process of its own:
#   for l in imagenet/layer1 ...; do /usr/bin/python3 bench/torch_conv_layers.py $l; done
import json
import statistics
import sys
import time
import torch

LAYERS = [
    ("imagenet/conv1", 32, 3, 64, 7, 2),
    ("imagenet/layer1", 8, 64, 64, 3, 1),
    ("imagenet/layer2.0.conv1", 8, 64, 128, 3, 2),
    ("imagenet/layer2", 4, 128, 128, 3, 1),
    ("imagenet/layer2.0.downsample", 8, 64, 128, 1, 2),
    ("imagenet/layer3.0.conv1", 4, 128, 256, 3, 2),
    ("imagenet/layer3", 2, 256, 256, 3, 1),
    ("imagenet/layer3.0.downsample", 4, 128, 256, 1, 2),
    ("imagenet/layer4.0.conv1", 2, 256, 512, 3, 2),
    ("imagenet/layer4", 1, 512, 512, 3, 1),
    ("imagenet/layer4.0.downsample", 2, 256, 512, 1, 2),
    ("cifar/conv1", 32, 3, 64, 3, 1),
    ("cifar/layer1", 32, 64, 64, 3, 1),
    ("cifar/layer2.0.conv1", 32, 64, 128, 3, 2),
    ("cifar/layer2", 16, 128, 128, 3, 1),
    ("cifar/layer2.0.downsample", 32, 64, 128, 1, 2),
    ("cifar/layer3.0.conv1", 16, 128, 256, 3, 2),
    ("cifar/layer3", 8, 256, 256, 3, 1),
    ("cifar/layer3.0.downsample", 16, 128, 256, 1, 2),
    ("cifar/layer4.0.conv1", 8, 256, 512, 3, 2),
    ("cifar/layer4", 4, 512, 512, 3, 1),
    ("cifar/layer4.0.downsample", 8, 256, 512, 1, 2),
]

torch.set_num_threads(2)
torch.manual_seed(0)
for name, hw, cin, cout, k, stride in LAYERS:
    if sys.argv[1:] and name not in sys.argv[1:]:
        continue
    conv = torch.nn.Conv2d(cin, cout, k, stride, k // 2, bias=False).to(memory_format=torch.channels_last)
    x = torch.randn(512, cin, hw, hw).contiguous(memory_format=torch.channels_last).requires_grad_()
    y = conv(x)
    dy = torch.randn_like(y)

    def step():
        x.grad = None
        conv.weight.grad = None
        conv(x).backward(dy)

    step()
    reps = 5 if hw < 16 else 2
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    sec = statistics.median(ts)
    flops = 3 * 2 * 512 * y.shape[2] * y.shape[3] * cout * k * k * cin
    print(json.dumps(dict(layer=name, sec=round(sec, 5), gflops=round(flops / sec / 1e9, 1))), flush=True)
