"""Where the 7s went: for every committed IIC run on all 60k training images, the selected head
at the last epoch (the head the run reports; no test-set choice), how many of the 1,028 test 7s
sit in clusters matched to the 7s and where the others went, beside the run's accuracy and its
largest error of any kind. Labels are only looked at (issue 31's question: where do the crossed
7s go, and at what accuracy).

  python3 scripts/crossed_sevens.py   →  results/crossed_sevens.csv and .md"""
import csv
import glob
import os
import tomllib
from collections import Counter

OUT = "results/crossed_sevens"


def train_size(run):
    """`dataset.train_size` of the run's resolved config (None when not set)."""
    with open(os.path.join(run, "config.toml"), "rb") as f:
        return tomllib.load(f).get("dataset", {}).get("train_size")


def finished(run):
    """Whether the run has ended: a run in progress (or stopped, to be resumed) keeps its
    epoch checkpoint (`checkpoint.toml`), which a finished run removes."""
    return not os.path.exists(os.path.join(run, "checkpoint.toml"))


def report(run):
    metrics = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
    last = max(int(r["epoch"]) for r in metrics)
    heads = [r for r in metrics if int(r["epoch"]) == last]
    chosen = [r for r in heads if r.get("selected") == "1"] or [min(heads, key=lambda r: float(r["loss"]))]
    head = chosen[0]["head"]
    cells = [r for r in csv.DictReader(open(os.path.join(run, "confusion.csv")))
             if int(r["epoch"]) == last and r["head"] == head]
    sevens = Counter()
    errors = Counter()
    for c in cells:
        n = int(c["count"])
        if c["label"] == "7":
            sevens[c["matched_label"]] += n
        if c["label"] != c["matched_label"]:
            errors[(c["label"], c["matched_label"])] += n
    away = {k: v for k, v in sevens.items() if k != "7"}
    to, most = max(away.items(), key=lambda kv: kv[1]) if away else ("–", 0)
    (lab, got), worst = errors.most_common(1)[0] if errors else (("–", "–"), 0)
    return {
        "run": os.path.relpath(run, "results"),
        "epochs": last,
        "head": head,
        "accuracy_pct": f"{100 * float(chosen[0]['accuracy']):.2f}",
        "test_7s": sum(sevens.values()),
        "7s_with_the_7s": sevens.get("7", 0),
        "7s_elsewhere": sum(away.values()),
        "most_went_to": to,
        "that_many": most,
        "largest_error": f"{lab} → {got} ({worst})",
    }


def main():
    runs = sorted(os.path.dirname(p) for p in glob.glob("results/iic*/*/confusion.csv"))
    rows = [report(r) for r in runs if train_size(r) == 60000 and finished(r)]
    with open(OUT + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    cols = list(rows[0])
    with open(OUT + ".md", "w") as f:
        f.write(
            "Every committed IIC run on all 60k training images: the reported head at the last "
            "epoch (`scripts/crossed_sevens.py`). `most_went_to`: the digit whose cluster holds "
            "most of the 7s that are not with the 7s; `largest_error`: the largest group of any "
            "digit in another digit's cluster (label → cluster's label, count). "
            "`iic_99_cpu_train_test` trains on the test images too (the book's protocol); "
            "`iic_99_ablation` runs are 2-epoch ablations.\n\n"
        )
        f.write("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n")
        for r in rows:
            f.write("| " + " | ".join(str(r[c]) for c in cols) + " |\n")
    print(open(OUT + ".md").read())
    print(f"→ {OUT}.csv, {OUT}.md")


if __name__ == "__main__":
    main()
