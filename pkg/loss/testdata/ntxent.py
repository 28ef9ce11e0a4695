# Writes ntxent.json: NT-Xent values and gradients from PyTorch, the golden
# reference for ntxent_test.go. Run with Debian's python3-torch:
#   /usr/bin/python3 pkg/loss/testdata/ntxent.py > pkg/loss/testdata/ntxent.json
import json
import torch
import torch.nn.functional as F


def nt_xent(z, tau):
    # As the reference recipe: rows i and i+N are the two views of image i.
    z = F.normalize(z, dim=1)
    n2 = z.shape[0]
    n = n2 // 2
    sim = (z @ z.t()) / tau
    sim = sim.masked_fill(torch.eye(n2, dtype=torch.bool), float('-inf'))
    targets = torch.cat([torch.arange(n, n2), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


torch.manual_seed(0)
cases = []
for views, dim, tau, scale in [(8, 16, 0.5, 1.0), (12, 5, 0.1, 3.0), (4, 7, 0.5, 0.01)]:
    z = (torch.randn(views, dim, dtype=torch.float64) * scale).requires_grad_()
    loss = nt_xent(z, tau)
    loss.backward()
    cases.append(dict(views=views, dim=dim, tau=tau, z=z.detach().flatten().tolist(),
                      loss=loss.item(), grad=z.grad.flatten().tolist()))
print(json.dumps(cases))
