# Writes encoder_<stem>.json: torchvision resnet18 (fc removed) features and
# gradients for formula-filled weights, the golden reference for
# encoder_test.go, which fills its tensors by the same formula from the same
# names. Run with Debian's python3-torch and python3-torchvision:
#   /usr/bin/python3 pkg/model/testdata/encoder.py
import json
import math
import os
import torch
import torch.nn as nn
import torchvision


def noise(seed, n):
    # Knuth's multiplicative hash of (index, seed): uniform on [-0.5, 0.5),
    # reproducible exactly in Go; scaled to unit variance.
    i = torch.arange(n, dtype=torch.int64)
    h = (i * 2654435761 + seed * 40503 + 12345) % 4294967296
    return (h.double() / 4294967296 - 0.5) * math.sqrt(12)


def formula(name, n, kind):
    s = noise(sum(name.encode()), n)
    if kind == 'weight4':
        return s
    return {'weight': 1 + 0.1 * s, 'bias': 0.1 * s, 'running_mean': 0.1 * s,
            'running_var': 1 + 0.3 * s.abs()}[kind]


def fill(model):
    sd = model.state_dict()
    for name, t in sd.items():
        if name.endswith('num_batches_tracked'):
            continue
        kind = name.rsplit('.', 1)[1]
        if t.dim() == 4:
            fan_in = t[0].numel()
            v = formula(name, t.numel(), 'weight4') * math.sqrt(2 / fan_in)
        else:
            v = formula(name, t.numel(), kind)
        t.copy_(v.reshape(t.shape).to(t.dtype))


def make_filled(stem):
    m = make(stem)
    fill(m)
    return m.train()


def make(stem):
    m = torchvision.models.resnet18(weights=None)
    if stem in ('cifar', 'cifar-pool'):
        m.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    if stem == 'cifar':
        m.maxpool = nn.Identity()
    m.fc = nn.Identity()
    return m.double()


def margin(m, x):
    # The smallest |pre-activation| of the ReLUs of layer3 and layer4: where
    # one is within float32 rounding of zero, it passes gradient in one
    # precision and not the other, and the comparison measures that, not the
    # code. (BasicBlock calls its one ReLU module twice.)
    pre = []
    hooks = [b.relu.register_forward_pre_hook(lambda mod, i: pre.append(i[0].abs().min().item()))
             for layer in (m.layer3, m.layer4) for b in layer]
    with torch.no_grad():
        m(x)
    for h in hooks:
        h.remove()
    return min(pre)


here = os.path.dirname(os.path.abspath(__file__))
# The smallest margin a seed must keep. The cifar-pool stem's first seed
# above 5e-6 (8) still moved its gradients by 2.7% in float32: a kink within
# rounding of the deeper layers' accumulated error. (Raising the others'
# would move their seeds onto kinks of the stages before layer3, which the
# margin does not look at, for no gain.)
min_margin = {'imagenet': 5e-6, 'cifar': 5e-6, 'cifar-pool': 1e-5}
for stem in ['imagenet', 'cifar', 'cifar-pool']:
    m = make(stem)
    fill(m)
    # The first input seed whose last stages keep clear of the ReLU kinks.
    filled = make_filled(stem)
    seed = next(s for s in range(7, 1000) if margin(filled, noise(s, 8 * 3 * 32 * 32).reshape(8, 3, 32, 32)) > min_margin[stem])
    x = noise(seed, 8 * 3 * 32 * 32).reshape(8, 3, 32, 32)
    r = noise(1000 + seed, 8 * 512).reshape(8, 512)
    m.train()
    f = m(x)
    (f * r).sum().backward()
    out = dict(
        input_seed=seed,
        train_features=f.detach().flatten().tolist(),
        conv1_grad=m.conv1.weight.grad.flatten()[:200].tolist(),
        layer3_down_grad=m.layer3[0].downsample[0].weight.grad.flatten()[:200].tolist(),
        layer4_bn2_weight_grad=m.layer4[1].bn2.weight.grad.flatten().tolist(),
        bn1_running_mean=m.bn1.running_mean.tolist(),
        layer4_bn2_running_var=m.layer4[1].bn2.running_var.tolist(),
    )
    m.eval()
    with torch.no_grad():
        out['eval_features'] = m(x).flatten().tolist()
    with open(os.path.join(here, f'encoder_{stem}.json'), 'w') as fh:
        json.dump(out, fh)
