"""Reading committed results, shared by the table scripts: a results folder's finished
summary rows, and the best value of a metrics.csv column over a run's epochs and heads."""
import csv
import os


def rows(d):
    """The finished rows of `d/summary.csv` (none when there is no such file)."""
    p = os.path.join(d, "summary.csv")
    if not os.path.exists(p):
        return []
    return [r for r in csv.DictReader(open(p)) if r.get("status") == "finished"]


def metric_max(d, run, col):
    """The best value of `col` over the run's epochs (and heads): the test-set selection."""
    p = os.path.join(d, run, "metrics.csv")
    vals = [float(r[col]) for r in csv.DictReader(open(p)) if r.get(col)]
    return max(vals) if vals else float("nan")


def epoch_seconds(d, run):
    """Each epoch's `seconds` (training and evaluation), by epoch number."""
    seen = {}
    for r in csv.DictReader(open(os.path.join(d, run, "metrics.csv"))):
        seen.setdefault(int(r["epoch"]), float(r["seconds"]))
    return seen


def epoch_minutes(d, run):
    """Minutes the run trained and evaluated: its epochs' `seconds` (one per epoch), summed, so a
    resumed run counts every epoch once, whichever process ran it."""
    return sum(epoch_seconds(d, run).values()) / 60
