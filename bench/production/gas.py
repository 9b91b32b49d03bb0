"""Largest one-step dispute gas of every imported production-survey package (issue 15).

For each model the survey imported (rows.jsonl, or rows.partial.jsonl while a survey runs), runs
crates/chain/examples/detector_dispute.rs on its package and the first held-out row: a fresh
anvil, one optimistic task per chosen node whose provider lies about one element, the honest
challenger playing the game to the one-step check, the liar losing. The nodes are
`--nodes heaviest:K`: per op, the K nodes whose one-step check sends the most calldata, plus the
two heaviest overall. Writes per model OUT/<model>/{gas.json,disputes.md,stderr.txt}, then
OUT/gas.md (also printed): the largest one-step gasUsed, its op and node, the disputes run, and
that dispute's transactions and total gas.

Usage: python gas.py --root REPO [--survey DIR] [--out DIR] [--only SUBSTR,...] [--per-op K]
       [--timeout S] [--table-only]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path


def rows_of(survey: Path):
    """The survey's rows: rows.jsonl, else the partial rows of a survey still running."""
    for name in ("rows.jsonl", "rows.partial.jsonl"):
        p = survey / name
        if p.exists():
            return [json.loads(l) for l in p.read_text().splitlines() if l.strip()], name
    sys.exit(f"gas: no rows.jsonl in {survey}; run bench/production/run.sh first")


def package_of(row, survey: Path):
    """(work dir, package) of an imported row: as shipped, else with dims bound; else None."""
    d = survey / "work" / re.sub(r"[^A-Za-z0-9_.-]", "_", row["model"])
    if row.get("status") == "imported":
        return d, d / "model.vpkg"
    if row.get("bound", {}).get("status") == "imported":
        return d, d / "bound.vpkg"
    return d, None


def run_one(args, row, survey, out):
    d, pkg = package_of(row, survey)
    key = re.sub(r"[^A-Za-z0-9_.-]", "_", row["model"])
    o = out / key
    o.mkdir(parents=True, exist_ok=True)
    summary = o / "gas.json"
    summary.unlink(missing_ok=True)
    cmd = [str(args.example), "--package", str(pkg), "--input", str(d / "held.json"),
           "--work", str(o), "--nodes", f"heaviest:{args.per_op}", "--json", str(summary)]
    (o / "command.txt").write_text(" ".join(cmd) + "\n")
    print(f"gas: {row['model']} ...", file=sys.stderr, flush=True)
    t = time.monotonic()
    with open(o / "disputes.md", "w") as so, open(o / "stderr.txt", "w") as se:
        try:
            rc = subprocess.run(cmd, stdout=so, stderr=se, timeout=args.timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    secs = time.monotonic() - t
    res = json.loads(summary.read_text()) if summary.exists() else {}
    res["exit"], res["seconds"] = rc, round(secs, 1)
    if rc != 0 and not res.get("disputes") and not res.get("refused"):
        err = [l for l in (o / "stderr.txt").read_text().splitlines() if l.strip()]
        res["failure"] = " ".join(err[-3:])[:400] if err else f"exit {rc}"
    summary.write_text(json.dumps(res, indent=1))
    big = res.get("largest") or {}
    print(f"gas:   {big.get('one_step_gas', '-')} ({big.get('op', '-')}) in {secs:.0f} s, "
          f"{len(res.get('disputes', []))} disputes {res.get('refused') or res.get('failure') or ''}",
          file=sys.stderr, flush=True)


def cell(x):
    return str(x).replace("|", "\\|")


def table(rows, out: Path):
    head = ("| model | largest one-step gasUsed | op, node | disputes run | that dispute: txs / "
            "total gas | <= 1M | note |\n|---|---:|---|---:|---:|---|---|")
    lines = [head]
    over = []
    for row in rows:
        key = re.sub(r"[^A-Za-z0-9_.-]", "_", row["model"])
        p = out / key / "gas.json"
        if row.get("status") != "imported" and row.get("bound", {}).get("status") != "imported":
            continue
        if not p.exists():
            lines.append(f"| {row['model']} | - | - | 0 | - | - | not run |")
            continue
        r = json.loads(p.read_text())
        big = r.get("largest")
        notes = []
        if r.get("refused"):
            notes.append(f"refused: {r['refused']}")
        if r.get("failure"):
            notes.append(f"failed: {r['failure']}")
        for e in r.get("errors", []):
            notes.append(f"node {e['node']} dispute failed: {e['error'][:200]}")
        if r.get("exit") == "timeout":
            notes.append("timed out (disputes so far)")
        if row.get("status") != "imported":
            notes.append("dims bound")
        if big:
            ok = "yes" if big["one_step_gas"] <= 1_000_000 else "**NO**"
            if ok != "yes":
                over.append((row["model"], big))
            lines.append(
                f"| {row['model']} | {big['one_step_gas']:,} | {big['op']} {big['node']} "
                f"`{cell(big['name'])}` | {len(r['disputes'])} | {big['txs']} / "
                f"{big['total_gas']:,} | {ok} | {cell('; '.join(notes)) or '-'} |")
        else:
            lines.append(f"| {row['model']} | - | - | 0 | - | - | {cell('; '.join(notes)) or '-'} |")
    lines += ["", f"{len(over)} models with a one-step check over 1,000,000 gas."]
    # the prediction checked: per model and op, the node predicted heaviest against the others
    # disputed (a tie within 1,000 gas counts as met)
    met = total = 0
    for row in rows:
        p = out / re.sub(r"[^A-Za-z0-9_.-]", "_", row["model"]) / "gas.json"
        if not p.exists():
            continue
        by_op = {}
        for d in json.loads(p.read_text()).get("disputes", []):
            by_op.setdefault(d["op"], []).append(d)
        for ds in by_op.values():
            if len(ds) < 2:
                continue
            top = max(ds, key=lambda d: d["predicted_calldata_gas"] or 0)
            total += 1
            met += top["one_step_gas"] + 1_000 >= max(d["one_step_gas"] for d in ds)
    lines += [f"Prediction: in {met} of {total} (model, op) pairs with two or more disputes, "
              "the node predicted heaviest measured heaviest (within 1,000 gas)."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--survey", type=Path, default=None,
                    help="the survey's output directory (default ROOT/bench/out/production)")
    ap.add_argument("--out", type=Path, default=None,
                    help="where to write (default ROOT/bench/out/production/gas)")
    ap.add_argument("--only", default="", help="comma-separated substrings of model paths")
    ap.add_argument("--per-op", type=int, default=1, help="nodes per op (heaviest:K)")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per model")
    ap.add_argument("--table-only", action="store_true", help="only rebuild gas.md")
    args = ap.parse_args()
    survey = args.survey or args.root / "bench/out/production"
    out = args.out or args.root / "bench/out/production/gas"
    out.mkdir(parents=True, exist_ok=True)
    args.example = args.root / "target/release/examples/detector_dispute"
    rows, source = rows_of(survey)
    only = [s for s in args.only.split(",") if s]
    if not args.table_only:
        for row in rows:
            if only and not any(s in row["model"] for s in only):
                continue
            if package_of(row, survey)[1] is None:
                continue
            run_one(args, row, survey, out)
    text = table(rows, out)
    text += f"\nSurvey rows: {survey / source}.\n"
    (out / "gas.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
