#!/usr/bin/env python3
"""Cuts the bundled example data (examples/pbmc-mini) out of ../shared/datasets/pbmc.

Source: ../shared/datasets/pbmc (public 10x PBMC data; see that folder's README for
repositories, commits and the label mapping). Run once from the repository root:
    /usr/bin/python3 scripts/make-examples.py
Deterministic: the same inputs give the same files.
"""
import csv, gzip, os, random

SRC = "../shared/datasets/pbmc"
OUT = "examples/pbmc-mini"
N_GENES = 1000
random.seed(20231)

def read(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]

def sample(rows, label_of, per_type):
    by = {}
    for r in rows:
        by.setdefault(label_of(r), []).append(r)
    out = []
    for lab in sorted(by):
        cells = by[lab]
        out += random.sample(cells, min(per_type, len(cells)))
    keep = set(id(r) for r in out)
    return [r for r in rows if id(r) in keep]  # file order

refs = {
    "pbmc_10x_5p_vdj": ("reference/pbmc_10x_5p_vdj.csv", 40, ".csv.gz", ","),
    "pbmc_10x_3p_v2": ("reference/pbmc_10x_3p_v2.csv", 40, ".tsv.gz", "\t"),
    "pbmc3k_10x_v1": ("reference/pbmc3k_10x_v1.csv", 50, ".csv.gz", ","),
}
tables = {k: read(os.path.join(SRC, v[0])) for k, v in refs.items()}
qh, qrows = read(os.path.join(SRC, "query/pbmc_10x_3p_v3.csv"))
truth = dict(l.rstrip("\n").split("\t") for l in open(os.path.join(SRC, "query/pbmc_10x_3p_v3.labels.tsv")))

# Genes present in every file, ranked by variance in pbmc3k (informative genes), top N_GENES.
common = set(qh[1:])
for h, _ in tables.values():
    common &= set(h[1:-1])
h3, r3 = tables["pbmc3k_10x_v1"]
col = {g: i for i, g in enumerate(h3)}
def var(g):
    xs = [float(r[col[g]]) for r in r3]
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / len(xs)
genes = sorted(sorted(common), key=var, reverse=True)[:N_GENES]
genes.sort()

def write(path, header, rows, delim, with_label):
    idx = {g: i for i, g in enumerate(header)}
    with gzip.open(path, "wt", newline="") as f:
        w = csv.writer(f, delimiter=delim, lineterminator="\n")
        w.writerow(["cell_id"] + genes + (["cell_label"] if with_label else []))
        for r in rows:
            w.writerow([r[0]] + [r[idx[g]] for g in genes] + ([r[-1]] if with_label else []))

os.makedirs(f"{OUT}/train", exist_ok=True); os.makedirs(f"{OUT}/test", exist_ok=True); os.makedirs(f"{OUT}/truth", exist_ok=True)
for name, (path, per_type, ext, delim) in refs.items():
    h, rows = tables[name]
    write(f"{OUT}/train/{name}{ext}", h, sample(rows, lambda r: r[-1], per_type), delim, True)
qs = sample(qrows, lambda r: truth[r[0]], 70)
write(f"{OUT}/test/pbmc_10x_3p_v3.csv.gz", qh, qs, ",", False)
with open(f"{OUT}/truth/pbmc_10x_3p_v3.labels.tsv", "w") as f:
    for r in qs:
        f.write(f"{r[0]}\t{truth[r[0]]}\n")
print("genes", len(genes), "query cells", len(qs))
