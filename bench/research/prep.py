#!/usr/bin/env python3
"""bench/research/prep.py -- data loading shared by the experiments, and a check
of norm.py against the installed extension.

    python3 prep.py            # generate the synthetic set into cache/ (once)
    python3 prep.py --check    # compare norm.normalize() with categorize.normalize()
                               # on every distinct string (psql; the server is the
                               # one PGHOST, PGPORT and PGUSER name)

Streams (lists of dicts, in the harness's order: date, then file order):
  birmingham, oxford: data/*_pcard.csv of this tree; merchant = description
                      column, no description, no user
  synthetic: bench/synth/generate.py defaults (seed 42), user ids, seed rules
"""
import csv
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CACHE = os.path.join(HERE, "cache")
DATA = os.path.join(TOP, "data")
sys.path.insert(0, HERE)
import norm  # noqa: E402


# Synthetic variants: name -> generator arguments
VARIANTS = {
    "synthetic": [],
    "synthetic_d0": ["--disagreement", "0", "--inconsistency", "0"],
    "synthetic_s7": ["--seed", "7"],
}


def synth_path(name="synthetic"):
    p = os.path.join(CACHE, name + ".csv")
    if not os.path.exists(p):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.check_call([sys.executable, os.path.join(TOP, "bench/synth/generate.py"),
                               "--out", p, "--meta", os.path.join(CACHE, name + "_meta.csv"),
                               "--quiet"] + VARIANTS[name])
    return p


def load(name):
    """Rows of a data set in stream order."""
    rows = []
    if name in ("birmingham", "oxford"):
        with open(os.path.join(DATA, "%s_pcard.csv" % name), encoding="utf-8") as f:
            for i, r in enumerate(csv.DictReader(f)):
                rows.append({"seq": i + 1, "merchant": r["description"], "description": None,
                             "amount": float(r["amount"]) if r["amount"] else None,
                             "date": r["date"], "category": r["category"], "user": None})
    else:
        with open(synth_path(name), encoding="utf-8") as f:
            for i, r in enumerate(csv.DictReader(f)):
                rows.append({"seq": i + 1, "merchant": r["merchant"],
                             "description": r["description"] or None,
                             "amount": float(r["amount"]) if r["amount"] else None,
                             "date": r["date"], "category": r["category"],
                             "user": int(r["user_id"])})
        meta = os.path.join(CACHE, name + "_meta.csv")
        with open(meta, encoding="utf-8") as f:
            for r, m in zip(rows, csv.DictReader(f)):
                r["meta"] = m
    rows.sort(key=lambda r: (r["date"], r["seq"]))
    return rows


def seed_rules():
    """(category, kind, value) of bench/synth/seed_rules.sql."""
    pat = re.compile(r"^\s*\('((?:[^']|'')*)', '(merchant|keyword)', '((?:[^']|'')*)'\),?\s*$")
    out = []
    with open(os.path.join(TOP, "bench/synth/seed_rules.sql"), encoding="utf-8") as f:
        for line in f:
            m = pat.match(line)
            if m:
                out.append((m.group(1).replace("''", "'"), m.group(2), m.group(3).replace("''", "'")))
    return out


def check():
    strings = set()
    for name in ("birmingham", "oxford", "synthetic"):
        for r in load(name):
            for k in ("merchant", "description"):
                if r[k]:
                    strings.add(r[k])
    for _, _, v in seed_rules():
        strings.add(v)
    strings = sorted(strings)
    tsv = "".join(s.replace("\\", "\\\\").replace("\t", "\\t") + "\n" for s in strings)
    sql = ("CREATE TEMP TABLE s (t text); COPY s FROM STDIN;\n" + tsv + "\\.\n"
           "COPY (SELECT t, categorize.normalize(t) FROM s) TO STDOUT;\n")
    out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=sql,
                         capture_output=True, text=True, check=True).stdout
    bad = 0
    n = 0
    for line in out.splitlines():
        t, v = line.split("\t")
        t = t.replace("\\t", "\t").replace("\\\\", "\\")
        n += 1
        if norm.normalize(t) != v:
            bad += 1
            if bad <= 10:
                print("MISMATCH %r: sql %r python %r" % (t, v, norm.normalize(t)))
    print("%d distinct strings, %d mismatches" % (n, bad))


if __name__ == "__main__":
    synth_path()
    if "--check" in sys.argv:
        check()
