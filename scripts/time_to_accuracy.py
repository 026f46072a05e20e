"""Accuracy against wall time for IIC runs: one row per epoch with the cumulative training +
evaluation seconds (the `seconds` column of metrics.csv), the honest accuracy (the head with
the lowest training loss that epoch) and the range over heads.

    python3 scripts/time_to_accuracy.py RUN_DIR [RUN_DIR ...] [--csv OUT.csv]
"""
import csv
import os
import sys

args = sys.argv[1:]
out_csv = None
if "--csv" in args:
    i = args.index("--csv")
    out_csv = args[i + 1]
    del args[i : i + 2]
if not args:
    sys.exit(__doc__)

table = []
for run in args:
    path = os.path.join(run, "metrics.csv")
    try:
        rows = list(csv.DictReader(open(path)))
    except OSError as e:
        sys.exit(f"{path}: {e.strerror}")
    elapsed = 0.0
    for epoch in sorted({int(r["epoch"]) for r in rows}):
        heads = [r for r in rows if int(r["epoch"]) == epoch]
        elapsed += float(heads[0]["seconds"])
        selected = min(heads, key=lambda r: float(r["loss"]))
        acc = [float(r["accuracy"]) for r in heads]
        table.append(dict(run=run, epoch=epoch, elapsed_min=round(elapsed / 60, 2),
                          selected_accuracy=float(selected["accuracy"]),
                          min_head=min(acc), max_head=max(acc)))

print("| run | epoch | wall (min) | selected head | all heads (min – max) |")
print("|---|---:|---:|---:|---:|")
for r in table:
    print(f"| {r['run']} | {r['epoch']} | {r['elapsed_min']:.1f} | {100 * r['selected_accuracy']:.2f} % "
          f"| {100 * r['min_head']:.2f} – {100 * r['max_head']:.2f} % |")
if out_csv:
    with open(out_csv + ".tmp", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    os.replace(out_csv + ".tmp", out_csv)
    print(f"→ {out_csv}")
