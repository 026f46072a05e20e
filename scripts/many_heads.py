#!/usr/bin/env python3
"""Issue 31, item 3: how many of a many-heads run's heads leave the 97.9 % basin, and whether
the head chosen without labels (the lowest loss over the fixed pass) is among them.

    python3 scripts/many_heads.py results/iic_many_heads_cpu/<run-id> [...]

Writes `heads.md` into each run directory and prints it. Labels are used only to look: the
`selected` column (the run's own label-free pick) is what the run reports.
"""
import csv
import os
import sys

from results_io import epoch_seconds

BANDS = [(0.99, "≥ 99 %"), (0.985, "98.5–99 %"), (0.97, "97–98.5 %"), (0.0, "< 97 %")]


def band(acc):
    return next(name for lo, name in BANDS if acc >= lo)


def report(run):
    rows = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
    if not rows:
        raise SystemExit(f"{run}/metrics.csv: no epochs yet")
    parent, name = os.path.split(os.path.normpath(run))
    by_epoch = {}
    for r in rows:
        by_epoch.setdefault(int(r["epoch"]), []).append(r)
    out = [
        f"# {name}: heads by test accuracy, per epoch",
        "",
        "Test accuracy (Hungarian, 10k test images) is only looked at; the selected head is "
        "the run's label-free pick (lowest `pass_loss`, or lowest training loss where the run "
        "has no fixed pass); beside it, the head the mean training loss would pick. Minutes: the "
        "epochs' `seconds`, summed.",
        "",
        "| epoch | minutes | " + " | ".join(name for _, name in BANDS)
        + " | selected head | its accuracy | its rank by accuracy | lowest training loss: head (accuracy)"
        + " | best head's accuracy |",
        "|---:|---:|" + "---:|" * len(BANDS) + "---:|---:|---:|---:|---:|",
    ]
    seconds = epoch_seconds(parent, name)
    minutes = 0.0
    for epoch in sorted(by_epoch):
        heads = by_epoch[epoch]
        minutes += seconds[epoch] / 60
        accs = [float(h["accuracy"]) for h in heads]
        counts = [sum(band(a) == name for a in accs) for _, name in BANDS]
        sel = next(h for h in heads if h["selected"] == "1")
        sel_acc = float(sel["accuracy"])
        rank = 1 + sum(a > sel_acc for a in accs)
        by_loss = min(heads, key=lambda h: float(h["loss"]))
        out.append(
            f"| {epoch} | {minutes:.0f} | " + " | ".join(map(str, counts))
            + f" | {sel['head']} | {100 * sel_acc:.2f} % | {rank} of {len(heads)}"
            + f" | {by_loss['head']} ({100 * float(by_loss['accuracy']):.2f} %)"
            + f" | {100 * max(accs):.2f} % |"
        )
    text = "\n".join(out) + "\n"
    tmp = os.path.join(run, ".heads.md.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(run, "heads.md"))
    return text


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for run in sys.argv[1:]:
        print(report(run))
