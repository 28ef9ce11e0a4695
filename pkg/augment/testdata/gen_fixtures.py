#!/usr/bin/python3
"""Generate torchvision reference outputs for pkg/augment's tests.

Run with Debian's python3-torchvision (the fixtures were made with torch
1.13 / torchvision 0.14):

    /usr/bin/python3 pkg/augment/testdata/gen_fixtures.py

Every transform is applied with explicit parameters to uint8 CHW tensors,
which is the semantics pkg/augment reproduces. The output is deterministic.
"""
import base64
import gzip
import json
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F

S = 32


def synthetic_images():
    """Four 3x32x32 uint8 images covering gradients, flat colours, greys and noise."""
    rs = np.random.RandomState(12345)
    y, x = np.mgrid[0:S, 0:S].astype(np.float64)
    imgs = []
    # Smooth colour gradients with mild noise.
    g = np.stack([x * 8, y * 8, (x + y) * 4]) + rs.normal(0, 6, (3, S, S))
    imgs.append(g)
    # 8x8 blocks of flat colours: saturated primaries, greys, black and white.
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255),
               (255, 0, 255), (0, 0, 0), (255, 255, 255), (128, 128, 128), (200, 200, 10),
               (10, 200, 200), (90, 60, 30), (255, 128, 0), (12, 12, 13), (77, 77, 77), (250, 5, 130)]
    b = np.zeros((3, S, S))
    for k, c in enumerate(palette):
        r0, c0 = (k // 4) * 8, (k % 4) * 8
        b[:, r0:r0 + 8, c0:c0 + 8] = np.array(c)[:, None, None]
    imgs.append(b)
    # Uniform noise over the full range.
    imgs.append(rs.randint(0, 256, (3, S, S)))
    # A dim, low-contrast scene with ties between channels.
    d = 100 + 40 * np.sin(x / 4)[None] * np.array([1, 1, 0.5])[:, None, None] + rs.randint(0, 3, (3, S, S))
    imgs.append(d)
    return [torch.from_numpy(np.clip(np.rint(i), 0, 255).astype(np.uint8)) for i in imgs]


def b64(t):
    assert t.dtype == torch.uint8 and tuple(t.shape) == (3, S, S), (t.dtype, t.shape)
    return base64.b64encode(t.contiguous().numpy().tobytes()).decode()


JITTER = {
    "brightness": F.adjust_brightness,
    "contrast": F.adjust_contrast,
    "saturation": F.adjust_saturation,
    "hue": F.adjust_hue,
}


def pipeline(img, p):
    """The SimCLR view recipe with fixed parameters, in torchvision's order."""
    img = F.resized_crop(img, p["top"], p["left"], p["height"], p["width"], [S, S],
                         F.InterpolationMode.BILINEAR)
    if p["flip"]:
        img = F.hflip(img)
    if p["jitter"]:
        for name in p["order"]:
            img = JITTER[name](img, p[name])
    if p["gray"]:
        img = F.rgb_to_grayscale(img, num_output_channels=3)
    if p["blur"]:
        img = F.gaussian_blur(img, [3, 3], [p["sigma"], p["sigma"]])
    return img


def main():
    imgs = synthetic_images()
    cases = []

    def add(op, i, out, **params):
        cases.append({"op": op, "image": i, "params": params, "output": b64(out)})

    crops = [(0, 0, 32, 32), (0, 0, 1, 1), (5, 7, 10, 20), (3, 0, 29, 32), (10, 12, 8, 8),
             (0, 16, 32, 16), (20, 3, 12, 25), (1, 2, 31, 30), (14, 14, 3, 5), (0, 0, 32, 31)]
    for k, (t, l, h, w) in enumerate(crops):
        i = k % len(imgs)
        out = F.resized_crop(imgs[i], t, l, h, w, [S, S], F.InterpolationMode.BILINEAR)
        add("crop", i, out, top=t, left=l, height=h, width=w)
    for i in (0, 2):
        add("hflip", i, F.hflip(imgs[i]))
    factors = {
        "brightness": [0.6, 0.85, 1.13, 1.4],
        "contrast": [0.6, 0.93, 1.2, 1.4],
        "saturation": [0.0, 0.6, 1.27, 1.4],
        "hue": [-0.5, -0.1, -0.037, 0.02, 0.1, 0.5],
    }
    for name, fs in factors.items():
        for k, f in enumerate(fs):
            for i in ((k % 2, 2 + k % 2) if name == "hue" else (k % 4,)):
                add(name, i, JITTER[name](imgs[i], f), factor=f)
    for i in (1, 2, 3):
        add("grayscale", i, F.rgb_to_grayscale(imgs[i], num_output_channels=3))
    for k, sigma in enumerate([0.1, 0.45, 1.0, 2.0]):
        for i in (k % 2, 2 + k % 2):
            add("blur", i, F.gaussian_blur(imgs[i], [3, 3], [sigma, sigma]), sigma=sigma)

    views = [
        dict(top=2, left=3, height=20, width=24, flip=True, jitter=True,
             order=["brightness", "contrast", "saturation", "hue"],
             brightness=1.3, contrast=0.7, saturation=1.2, hue=0.05, gray=False, blur=True, sigma=0.8),
        dict(top=0, left=0, height=32, width=32, flip=False, jitter=True,
             order=["hue", "saturation", "contrast", "brightness"],
             brightness=0.65, contrast=1.35, saturation=0.62, hue=-0.09, gray=False, blur=False, sigma=0.0),
        dict(top=9, left=4, height=13, width=11, flip=True, jitter=True,
             order=["contrast", "hue", "brightness", "saturation"],
             brightness=1.1, contrast=1.05, saturation=1.39, hue=0.1, gray=True, blur=True, sigma=1.7),
        dict(top=6, left=1, height=26, width=30, flip=False, jitter=False,
             order=["brightness", "contrast", "saturation", "hue"],
             brightness=1.0, contrast=1.0, saturation=1.0, hue=0.0, gray=True, blur=False, sigma=0.0),
    ]
    for k, p in enumerate(views):
        for i in (k % 4, (k + 2) % 4):
            add("view", i, pipeline(imgs[i], p), **p)

    doc = {
        "generator": "pkg/augment/testdata/gen_fixtures.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "images": [b64(i) for i in imgs],
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchvision.json.gz")
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
        gz.write(json.dumps(doc, indent=1).encode())
    print(f"{len(cases)} cases -> {path}")


if __name__ == "__main__":
    main()
