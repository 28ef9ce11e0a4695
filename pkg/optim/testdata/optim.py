# Writes optim.json: parameters after three steps of torch.optim.Adam and
# SGD on fixed gradients, the golden reference for optim_test.go. Run with
# Debian's python3-torch:
#   /usr/bin/python3 pkg/optim/testdata/optim.py > pkg/optim/testdata/optim.json
import json
import torch

torch.manual_seed(0)
w0 = torch.randn(2, 3)
grads = [torch.randn(2, 3) for _ in range(3)]
lrs = [0.1, 0.05, 0.02]
configs = {
    'adam': lambda p: torch.optim.Adam([p], lr=1, weight_decay=0.01),
    'sgd': lambda p: torch.optim.SGD([p], lr=1, momentum=0.9, weight_decay=0.001),
    'sgd_nesterov': lambda p: torch.optim.SGD([p], lr=1, momentum=0.9, nesterov=True),
}
out = dict(w0=w0.flatten().tolist(), grads=[g.flatten().tolist() for g in grads], lrs=lrs)
for name, make in configs.items():
    p = w0.clone().requires_grad_()
    opt = make(p)
    for g, lr in zip(grads, lrs):
        for group in opt.param_groups:
            group['lr'] = lr
        p.grad = g.clone()
        opt.step()
    out[name] = p.detach().flatten().tolist()
print(json.dumps(out))
