"""The PyTorch reference for `scripts/bench`: the same VGG-F + N softmax heads, IIC loss and
Adam step as mirun, timed the same way (median of 10 steps after 2 warm-up steps, 1024 rows of
24x24), plus inference over the 10k test set and torchvision's augmentation throughput.
Prints `metric,value,unit` CSV rows like `mirun bench`.

BENCH_DEVICE=cuda runs the step and the evaluation on the GPU (synchronised before each clock
read); BENCH_AMP=bf16 adds a bf16-autocast step beside the fp32 one."""
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision.transforms.v2 as T

THREADS = int(os.environ.get("BENCH_THREADS", os.cpu_count()))
torch.set_num_threads(THREADS)
torch.manual_seed(1)
DATA = os.environ.get("MIRUN_DATA_DIR", "data")
DEVICE = torch.device(os.environ.get("BENCH_DEVICE", "cpu"))
AMP = os.environ.get("BENCH_AMP", "")


def sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def idx(name, offset):
    return np.fromfile(os.path.join(DATA, "mnist", name), dtype=np.uint8, offset=offset)


class Net(nn.Module):
    def __init__(self, heads, cfg=(64, "M", 128, "M", 256, "M", 512)):
        super().__init__()
        layers, c = [], 1
        for t in cfg:
            if t == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, t, 3, padding=1), nn.BatchNorm2d(t), nn.ReLU()]
                c = t
        self.backbone = nn.Sequential(*layers)
        self.heads = nn.ModuleList(nn.Linear(512 * 3 * 3, 10) for _ in range(heads))

    def forward(self, x):
        f = self.backbone(x).flatten(1)
        return [torch.softmax(h(f), 1) for h in self.heads]


def iic_loss(z, zt, eps=1e-7):
    k = z.shape[1]
    p = z.t() @ zt
    p = (p + p.t()) / 2
    p = p / p.sum()
    pi = p.sum(1, keepdim=True).expand(k, k).clamp_min(eps)
    pj = p.sum(0, keepdim=True).expand(k, k).clamp_min(eps)
    p = p.clamp_min(eps)
    return (p * (pi.log() + pj.log() - p.log())).sum()


def step_seconds(heads, steps=10, warmup=2, b=512, amp=None):
    net = Net(heads).to(DEVICE)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    x = torch.rand(2 * b, 1, 24, 24, device=DEVICE)
    times = []
    for i in range(warmup + steps):
        sync()
        t0 = time.perf_counter()
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=amp == "bf16"):
            zs = net(x)
        loss = torch.stack([iic_loss(z[:b].float(), z[b:].float()) for z in zs]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def eval_seconds(images):
    net = Net(1).to(DEVICE).eval()
    x = torch.from_numpy(images[:, 2:26, 2:26].copy()).float().div(255).unsqueeze(1)
    times = []
    for _ in range(3):
        sync()
        t0 = time.perf_counter()
        with torch.no_grad():
            for s in range(0, len(x), 1000):
                net(x[s : s + 1000].to(DEVICE))[0].argmax(1).cpu()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def pairs_per_second(images, seconds=5.0, b=512):
    # The same augmentation with torchvision: centre crop 24 for the original; for the twin a
    # 50/50 choice of a ±20° rotation or a 16/18/20 random crop, resized to 24.
    original = T.CenterCrop(24)
    twin = T.RandomChoice(
        [
            T.Compose([T.RandomRotation(20), T.Resize(24, antialias=False)]),
            T.Compose([T.RandomChoice([T.RandomCrop(s) for s in (16, 18, 20)]), T.Resize(24, antialias=False)]),
        ]
    )
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)
    done, t0, at = 0, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        batch = x[at : at + b]
        torch.stack([original(i) for i in batch])
        torch.stack([twin(i) for i in batch])
        done += len(batch)
        at = (at + b) % (len(x) - b)
    return done / (time.perf_counter() - t0)


def gemm_gflop_per_s(n=2048):
    """GFLOP/s of an n×n by n×n fp32 torch.mm: the practical peak mirun's bench sets the
    training step against (median of 5 after 2 warm-up products)."""
    a = torch.ones(n, n, device=DEVICE)
    b = torch.ones(n, n, device=DEVICE)
    times = []
    for i in range(7):
        sync()
        t0 = time.perf_counter()
        torch.mm(a, b)
        sync()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


if __name__ == "__main__":
    train = idx("train-images-idx3-ubyte", 16).reshape(-1, 28, 28)
    test = idx("t10k-images-idx3-ubyte", 16).reshape(-1, 28, 28)
    print("metric,value,unit")
    print(f"gemm_2048_gflop_per_s,{gemm_gflop_per_s():.1f},GFLOP/s (2048² fp32 torch.mm)")
    print(f"augment_pairs_per_s,{pairs_per_second(train):.0f},pairs/s (torchvision)")
    print(f"eval_test_set_s,{eval_seconds(test):.3f},s ({len(test)} images)")
    where = f"{THREADS} threads" if DEVICE.type == "cpu" else torch.cuda.get_device_name(DEVICE)
    for h in (1, 5):
        print(f"train_step_heads{h}_s,{step_seconds(h):.3f},s (1024 rows; torch {torch.__version__}, {where})")
        if AMP == "bf16":
            print(f"train_step_heads{h}_bf16_s,{step_seconds(h, amp='bf16'):.3f},s (1024 rows; bf16 autocast, {where})")
