"""Accuracy against wall time for IIC runs: one row per epoch with the cumulative training +
evaluation seconds (the `seconds` column of metrics.csv), the honest accuracy (the head with
the lowest training loss that epoch) and the range over heads.

    python3 scripts/time_to_accuracy.py RUN_DIR [RUN_DIR ...] [--csv OUT.csv]
        [--marks 15,30,45,60] [--marks-csv MARKS.csv]

With --marks, also where each run stands at those minutes of wall time (the accuracy of the
last epoch finished by then; "-" before the first, or when the run stopped before the mark),
and the mean and worst over the runs.
"""
import csv
import os
import sys

args = sys.argv[1:]


def flag(name):
    if name not in args:
        return None
    i = args.index(name)
    value = args[i + 1]
    del args[i : i + 2]
    return value


out_csv = flag("--csv")
marks = [float(m) for m in (flag("--marks") or "").split(",") if m]
marks_csv = flag("--marks-csv")
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


def write_csv(path, rows):
    """Writes rows (dicts) to path through a temp file and a rename."""
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(path + ".tmp", path)
    print(f"→ {path}")


if out_csv:
    write_csv(out_csv, table)

if marks:
    runs = list(dict.fromkeys(r["run"] for r in table))
    rows = []
    for run in runs:
        mine = [r for r in table if r["run"] == run]
        row = {"run": run}
        for m in marks:
            done = [r for r in mine if r["elapsed_min"] <= m]
            # A run that stopped before the mark has no value there.
            reached = mine[-1]["elapsed_min"] >= m
            row[f"at_{m:g}_min"] = done[-1]["selected_accuracy"] if done and reached else None
        rows.append(row)
    print()
    print("| run | " + " | ".join(f"{m:g} min" for m in marks) + " |")
    print("|---|" + "---:|" * len(marks))
    fmt = lambda v: "-" if v is None else f"{100 * v:.2f} %"
    for row in rows:
        print(f"| {row['run']} | " + " | ".join(fmt(row[f'at_{m:g}_min']) for m in marks) + " |")
    for name, pick in (("mean", lambda v: sum(v) / len(v)), ("worst", min)):
        cells = []
        for m in marks:
            v = [row[f"at_{m:g}_min"] for row in rows]
            cells.append("-" if None in v or not v else fmt(pick(v)))
        print(f"| {name} of {len(rows)} | " + " | ".join(cells) + " |")
    if marks_csv:
        write_csv(marks_csv, rows)
