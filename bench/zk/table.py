"""Prints the vouch vs EZKL table from bench/zk/out."""
import json, os, sys

out, models = sys.argv[1], sys.argv[2:]
rows = []
for m in models:
    v = json.load(open(os.path.join(out, f"{m}.vouch.json")))
    e = json.load(open(os.path.join(out, f"{m}.ezkl.json")))
    try:
        e_peak = int(open(os.path.join(out, f"{m}.ezkl.peakkb")).read()) / 1024
    except Exception:
        e_peak = float("nan")
    ratio = lambda a, b: f"{a / b:.1f}x" if a and b else "-"
    rows.append([m, "setup s", v["setup_s"], e.get("setup_s"), ratio(e.get("setup_s"), v["setup_s"])])
    rows.append([m, "prove s", v["prove_s"], e.get("prove_s"), ratio(e.get("prove_s"), v["prove_s"])])
    rows.append([m, "peak MB (prove)", v["prove_peak_mb"], round(e_peak), ratio(e_peak, v["prove_peak_mb"])])
    rows.append([m, "proof bytes", v["proof_bytes"], e.get("proof_bytes"), ratio(e.get("proof_bytes"), v["proof_bytes"])])
    rows.append([m, "verify s", v["verify_s"], e.get("verify_s"), ratio(e.get("verify_s"), v["verify_s"])])
print(f"{'model':16} {'metric':16} {'vouch':>10} {'ezkl':>10} {'ezkl/vouch':>10}")
for r in rows:
    print(f"{r[0]:16} {r[1]:16} {str(r[2]):>10} {str(r[3]):>10} {r[4]:>10}")
