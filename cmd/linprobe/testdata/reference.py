#!/usr/bin/python3
"""PyTorch reference for linprobe, checked by TestReference in cmd/linprobe.

Run with Debian's Python, which has numpy and torch:

    /usr/bin/python3 cmd/linprobe/testdata/reference.py            # regenerate the test data
    /usr/bin/python3 cmd/linprobe/testdata/reference.py --features DIR [--runs 1]

The first form draws a small synthetic feature set (deterministically, from
the recipe in synthetic()) and writes it next to this script as train_x.npy,
train_y.npy, test_x.npy and test_y.npy, then trains the linear probe and runs
the kNN on it with PyTorch and writes the results to reference.json. The Go
test converts the same .npy files to feature tables, runs linprobe on them
and requires the same accuracy within 1 point for the probe and the same
predictions for the kNN.

The second form evaluates the four .npy files found in DIR (for example real
CIFAR-10 features) and only prints the results and timings.

The protocol is linprobe's: nn.Linear(D, C) with its default initialisation,
cross-entropy, SGD with Nesterov momentum 0.9 and no weight decay, batches of
256 reshuffled every epoch (the last one short), 90 epochs, and learning rate
lr*(1+cos(pi*t/T))/2 at step t of T. Standardisation uses the training set's
mean and population standard deviation, and leaves a dimension whose standard
deviation is below 1e-6 unscaled. kNN: L2-normalised features, the k=200
most similar training rows vote with weight exp(sim/0.1).
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES = 10


def synthetic():
    """Post-ReLU-like features of width 32 in 10 overlapping classes, with
    correlated dimensions of very different scales: a linear probe gets
    about 70% right, so the optimiser matters."""
    rng = np.random.default_rng(20240601)
    dim, latent = 32, 16
    centres = rng.normal(size=(CLASSES, latent))
    mix = rng.normal(size=(latent, dim)) / math.sqrt(latent)
    scales = np.exp(rng.uniform(-2, 2, size=dim))

    def draw(n):
        y = rng.integers(0, CLASSES, size=n).astype(np.uint8)
        z = 0.6 * centres[y] + rng.normal(size=(n, latent))
        x = np.maximum(z @ mix + 0.3 + 0.3 * rng.normal(size=(n, dim)), 0) * scales
        return x.astype(np.float32), y

    return draw(8000) + draw(2000)


def standardize(train, test):
    mean = train.mean(0, dtype=np.float64)
    sd = train.std(0, dtype=np.float64)
    scale = np.where(sd > 1e-6, 1 / sd, 1.0)
    return ((train - mean) * scale).astype(np.float32), ((test - mean) * scale).astype(np.float32)


def probe(x, y, tx, ty, lr, std, seed, epochs=90, batch=256):
    if std:
        x, tx = standardize(x, tx)
    torch.manual_seed(seed)
    x, y, tx, ty = map(torch.from_numpy, (x, y.astype(np.int64), tx, ty.astype(np.int64)))
    lin = torch.nn.Linear(x.shape[1], CLASSES)
    opt = torch.optim.SGD(lin.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=0)
    n = len(y)
    steps = epochs * math.ceil(n / batch)
    t = 0
    for _ in range(epochs):
        perm = torch.randperm(n)
        for lo in range(0, n, batch):
            idx = perm[lo:lo + batch]
            for g in opt.param_groups:
                g["lr"] = lr * (1 + math.cos(math.pi * t / steps)) / 2
            loss = F.cross_entropy(lin(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            t += 1
    with torch.no_grad():
        return (lin(tx).argmax(1) == ty).float().mean().item()


def knn(x, y, tx, k=200, temperature=0.1, block=1024):
    x = F.normalize(torch.from_numpy(x), dim=1)
    tx = F.normalize(torch.from_numpy(tx), dim=1)
    y = torch.from_numpy(y.astype(np.int64))
    preds = []
    for lo in range(0, len(tx), block):
        sim, idx = (tx[lo:lo + block] @ x.T).topk(k, dim=1)
        votes = torch.zeros(len(sim), CLASSES, dtype=torch.float64)
        votes.scatter_add_(1, y[idx], (sim.double() / temperature).exp())
        preds.append(votes.argmax(1))
    return torch.cat(preds).numpy().astype(np.uint8)


# The configurations the Go test checks: the default (standardised, lr 0.1)
# and raw features at a smaller rate.
CONFIGS = [
    {"standardize": True, "lr": 0.1},
    {"standardize": False, "lr": 0.01},
]


def evaluate(x, y, tx, ty, runs):
    out = {"probe": []}
    for cfg in CONFIGS:
        t = time.time()
        accs = [probe(x, y, tx, ty, cfg["lr"], cfg["standardize"], seed) for seed in range(runs)]
        secs = (time.time() - t) / runs
        out["probe"].append(dict(cfg, top1_runs=accs, top1_mean=float(np.mean(accs))))
        print(f"probe standardize={cfg['standardize']} lr={cfg['lr']}: top-1 {[f'{100 * a:.2f}%' for a in accs]}, {secs:.1f} s a run")
    t = time.time()
    pred = knn(x, y, tx)
    top1 = float((pred == ty).mean())
    print(f"kNN k=200 T=0.1: top-1 {100 * top1:.2f}%, {time.time() - t:.1f} s")
    # The predictions as a string of digits, one per test row.
    out["knn"] = {"k": 200, "temperature": 0.1, "top1": top1, "pred": "".join(map(str, pred))}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", help="evaluate the .npy files in this directory instead")
    ap.add_argument("--runs", type=int, default=5, help="probe runs (seeds) per configuration")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (more only pays on large sets)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.features:
        load = lambda name: np.load(os.path.join(args.features, name))
        evaluate(load("train_x.npy"), load("train_y.npy"), load("test_x.npy"), load("test_y.npy"), args.runs)
        return
    x, y, tx, ty = synthetic()
    for name, a in [("train_x", x), ("train_y", y), ("test_x", tx), ("test_y", ty)]:
        np.save(os.path.join(HERE, name + ".npy"), a)
    out = evaluate(x, y, tx, ty, args.runs)
    out["generated_by"] = f"reference.py, torch {torch.__version__}, numpy {np.__version__}"
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
