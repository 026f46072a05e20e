"""A plain PyTorch IIC training script, the whole-epoch reference for `scripts/bench`.

What a PyTorch user would write: a Dataset that makes (centre crop, transformed twin) pairs
with torchvision transforms, a DataLoader (shuffled, 512 pairs per batch, worker processes),
VGG-F with one softmax head, the IIC loss, Adam 1e-3 — then an evaluation of the 10k test set
(centre crops, argmax). `EPOCH_STEPS` steps make one (possibly shortened) epoch; the full
MNIST epoch is 117 steps. Prints `metric,value,unit` CSV rows like `mirun bench`."""
import os
import time

import numpy as np
import torch
import torchvision.transforms.v2 as T
from torch.utils.data import DataLoader, Dataset

from torch_step import THREADS, Net, idx, iic_loss

STEPS = int(os.environ.get("EPOCH_STEPS", "117"))
WORKERS = int(os.environ.get("LOADER_WORKERS", "1"))
B = 512


class Pairs(Dataset):
    """(original, twin): centre crop 24; twin = ±20° rotation or a 16/18/20 random crop,
    resized to 24 — the reference augmentation."""

    def __init__(self, images):
        self.x = torch.from_numpy(images).float().div(255).unsqueeze(1)
        self.original = T.CenterCrop(24)
        self.twin = T.RandomChoice(
            [
                T.Compose([T.RandomRotation(20), T.Resize(24, antialias=False)]),
                T.Compose(
                    [T.RandomChoice([T.RandomCrop(s) for s in (16, 18, 20)]), T.Resize(24, antialias=False)]
                ),
            ]
        )

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        img = self.x[i]
        return self.original(img), self.twin(img)


def epoch(train, test):
    torch.manual_seed(1)
    net = Net(1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loader = DataLoader(
        Pairs(train[: STEPS * B]), batch_size=B, shuffle=True, drop_last=True, num_workers=WORKERS
    )
    net.train()
    for x, xt in loader:
        z = net(torch.cat([x, xt]))[0]
        loss = iic_loss(z[:B], z[B:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
    net.eval()
    xs = torch.from_numpy(test[:, 2:26, 2:26].copy()).float().div(255).unsqueeze(1)
    with torch.no_grad():
        clusters = torch.cat([net(xs[s : s + 1000])[0].argmax(1) for s in range(0, len(xs), 1000)])
    return clusters


if __name__ == "__main__":
    t0 = time.perf_counter()
    train = idx("train-images-idx3-ubyte", 16).reshape(-1, 28, 28)
    test = idx("t10k-images-idx3-ubyte", 16).reshape(-1, 28, 28)
    epoch(train, test)
    seconds = time.perf_counter() - t0
    print("metric,value,unit")
    print(
        f"epoch_{STEPS}_steps_s,{seconds:.2f},s (data + {STEPS} steps of {B} pairs + 10k eval; "
        f"DataLoader {WORKERS} worker(s), torch {torch.__version__}, {THREADS} threads)"
    )
