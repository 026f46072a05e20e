"""Builds results/reproduce/<scale>.{md,csv} from mirun's summary.csv files and each run's
metrics.csv: the honest number (last epoch; IIC's head with the lowest training loss, MINE's
held-out probe) as mean ± std over seeds, the book's selection (best epoch and best head, or
the book probe protocol, picked on the test set) likewise, and the book's figure."""
import csv
import os
import statistics

from results_io import metric_max, rows
import sys

scale, iic_dir, mine_dir, g05_dir, g08_dir = sys.argv[1:6]
extra_iic = sys.argv[6:]  # further IIC result folders (beyond-the-book recipes)
BOOK_IIC = {1: 99.49, 2: 99.47, 3: 99.54, 4: 99.52, 5: 99.53}
BOOK_MINE = {10: 93.86}






def last_epoch_min(d, run):
    """Lowest accuracy over all heads at the last epoch: the every-head criterion."""
    rs = list(csv.DictReader(open(os.path.join(d, run, "metrics.csv"))))
    last = max(int(r["epoch"]) for r in rs)
    return min(float(r["accuracy"]) for r in rs if int(r["epoch"]) == last)


def stat(vals, pct=True):
    k = 100 if pct else 1
    vals = [v * k for v in vals if v == v]
    if not vals:
        return "–", None
    m = statistics.mean(vals)
    s = statistics.stdev(vals) if len(vals) > 1 else 0.0
    unit = " %" if pct else ""
    return f"{m:.2f} ± {s:.2f}{unit} (n={len(vals)})" if pct else f"{m:.4f} ± {s:.4f} (n={len(vals)})", m


def first(r, *keys):
    for k in keys:
        if r.get(k):
            return r[k]
    return ""


out = []


def iic_rows(d, label):
    for h in sorted({int(r["heads.count"]) for r in rows(d)}):
        rs = [r for r in rows(d) if int(r["heads.count"]) == h]
        honest, hm = stat([float(r["selected_accuracy"]) for r in rs])
        book_sel, bm = stat([metric_max(d, r["run_id"], "accuracy") for r in rs])
        worst = min(last_epoch_min(d, r["run_id"]) for r in rs)
        r0 = rs[0]
        extras = [f"{k.split('.')[-1]} {r0[k]}" for k in ("augment.copies", "heads.overcluster", "heads.aux_schedule") if r0.get(k)]
        out.append(dict(
            experiment=label, setting=f"heads {h}" + "".join(f", {e}" for e in extras),
            scale=f"{scale}: {r0['dataset.train_size']} train imgs, {r0['train.epochs']} epochs, cfg {r0['backbone.cfg']}",
            mirun_honest=honest, mirun_book_selection=book_sel, book=f"{BOOK_IIC[h]:.2f} %",
            gap_honest_minus_book=f"{hm - BOOK_IIC[h]:+.2f} pts" if hm is not None else "–",
            worst_head_any_seed=f"{100 * worst:.2f} %",
            wall_s=f"{statistics.mean(float(r['wall_seconds']) for r in rs):.0f}",
            backend=r0["backend"]))


iic_rows(iic_dir, "IIC MNIST")
for d in extra_iic:
    iic_rows(d, f"IIC MNIST, {os.path.basename(d)}")
for d in sorted({int(r["model.latent_dim"]) for r in rows(mine_dir)}):
    rs = [r for r in rows(mine_dir) if int(r["model.latent_dim"]) == d]
    honest, hm = stat([float(r["probe_heldout"]) for r in rs])
    book_sel, bm = stat([metric_max(mine_dir, r["run_id"], "probe_book") for r in rs])
    r0 = rs[0]
    b = BOOK_MINE.get(d)
    out.append(dict(
        experiment="MINE MNIST (linear probe)", setting=f"latent {d}",
        scale=f"{scale}: {r0['dataset.train_size']} train imgs, {r0['train.epochs']} epochs, cfg {r0['backbone.cfg']}",
        mirun_honest=honest, mirun_book_selection=book_sel,
        book=f"{b:.2f} %" if b else "rises with latent dim (no figure)",
        gap_honest_minus_book=f"{hm - b:+.2f} pts" if (b and hm is not None) else "–",
        worst_head_any_seed="",
        wall_s=f"{statistics.mean(float(r['wall_seconds']) for r in rs):.0f}",
        backend=r0["backend"]))
for d, rho, book in [(g05_dir, 0.5, "0.142 (binned 0.147, analytic 0.1438)"), (g08_dir, 0.8, "– (analytic 0.5108)")]:
    rs = [r for r in rows(d) if r.get("loss.kind") == "mine"]
    if not rs:
        continue
    est, em = stat([float(r["mi_estimate"]) for r in rs], pct=False)
    binned, _ = stat([float(r["binned_mi"]) for r in rs], pct=False)
    out.append(dict(
        experiment="MINE Gaussian (nats)", setting=f"rho {rho}",
        scale="full: 1000 steps x 1000 samples",
        mirun_honest=f"{est}; binned {binned}", mirun_book_selection="(same: no selection)",
        book=book, gap_honest_minus_book=f"{em - float(rs[0]['analytic_mi']):+.4f} vs analytic",
        worst_head_any_seed="",
        wall_s=f"{statistics.mean(float(r['wall_seconds']) for r in rs):.1f}",
        backend=rs[0]["backend"]))

base = os.path.join("results", "reproduce", scale)
with open(base + ".csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(out[0]))
    w.writeheader()
    w.writerows(out)
cols = ["experiment", "setting", "mirun_honest", "mirun_book_selection", "book", "gap_honest_minus_book", "worst_head_any_seed", "wall_s", "scale"]
md = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
md += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in out]
note = ("\nmirun_honest: last epoch; IIC's head with the lowest training loss; MINE's probe fitted on train "
        "codes and scored on test codes. mirun_book_selection: best epoch and head (IIC) or the book "
        "protocol's best epoch (MINE), picked on the test set, as the book does. worst_head_any_seed: the "
        "lowest accuracy of any head of any seed at the last epoch (the every-head, every-seed criterion). "
        "Machine and backend: "
        "see results/README.md; wall_s is the mean wall time per run.\n")
open(base + ".md", "w").write("\n".join(md) + "\n" + note)
print("\n".join(md))
print(f"→ {base}.md, {base}.csv")
