"""bench/baselines/stream.py -- one data set's stream, as the engine saw it.

bench/eval.sh --results DIR exports, for each data set NAME it streamed:

- NAME.stream.csv: the rows in the order bench/eval.sql streamed them
  (date, then file order), with categorize.normalize() of the merchant and
  of the description computed by the same server (seq, user_id, date,
  amount, category, merchant_key, description_key);
- NAME.results.csv: the engine's answer for each row (by seq);
- NAME.seconds: how long the engine's stream took.

load_rows() turns them into the rows every learner streams, and
load_engine() into the engine's Outcomes (metrics.py).  A row is a dict: seq, user (None when the set has
no owners), key (normalized merchant), desc (normalized description, ''
when none), amount (float), day (days since the stream's first date),
category, and first_seen: the key (owner, normalized merchant) had not
occurred earlier in the stream.
"""
import csv
import datetime
import os

import metrics


class StreamError(Exception):
    """The exported files are missing or do not agree with each other."""


def _read(path):
    if not os.path.exists(path):
        raise StreamError("%s: missing (run bench/eval.sh --results DIR first)" % path)
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def rows_of(records):
    """Stream rows from the records of NAME.stream.csv, in their order."""
    rows = []
    seen = set()
    d0 = None
    for r in records:
        date = datetime.date.fromisoformat(r["date"])
        if d0 is None:
            d0 = date
        if date < d0:
            raise StreamError("stream not in date order at seq %s" % r["seq"])
        user = r["user_id"] or None
        key = r["merchant_key"] or ""
        first = (user, key) not in seen
        seen.add((user, key))
        rows.append({"seq": int(r["seq"]), "user": user, "key": key,
                     "desc": r["description_key"] or "", "amount": float(r["amount"] or 0),
                     "day": (date - d0).days, "category": r["category"], "first_seen": first})
    return rows


def engine_outcomes(rows, records):
    """The engine's Outcome for each row, from the records of NAME.results.csv."""
    by_seq = {int(r["seq"]): r for r in records}
    if len(by_seq) != len(rows):
        raise StreamError("%d engine results for %d rows" % (len(by_seq), len(rows)))
    out = []
    for row in rows:
        e = by_seq.get(row["seq"])
        if e is None or e["category"] != row["category"]:
            raise StreamError("row %d: the engine's result is missing or of another row" % row["seq"])
        answered = e["predicted"] != ""
        conf = float(e["confidence"]) if answered and e["confidence"] != "" else None
        out.append(metrics.Outcome(e["correct"] == "t", e["top3"] == "t", conf, row["first_seen"]))
    return out


def load_rows(results, name):
    """The stream rows of set NAME."""
    rows = rows_of(_read(os.path.join(results, name + ".stream.csv")))
    if not rows:
        raise StreamError("%s: no rows" % name)
    return rows


def load_engine(results, name, rows):
    """(the engine's outcomes, the seconds of its stream or None) on set NAME."""
    eng = engine_outcomes(rows, _read(os.path.join(results, name + ".results.csv")))
    secs = None
    path = os.path.join(results, name + ".seconds")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
        secs = float(text) if text else None
    return eng, secs
