"""Prints the vouch vs EZKL table (markdown) from bench/zk/results/<model>.{vouch,ezkl}.json.
Usage: table.py RESULTS_DIR MODELS..."""
import json, os, sys

res, models = sys.argv[1], sys.argv[2:]


def load(m, tool):
    try:
        return json.load(open(os.path.join(res, f"{m}.{tool}.json")))
    except Exception as e:
        return {"error": str(e)}


def num(x, unit=""):
    if x == 0.01:
        return "<=0.01"
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int) or abs(x) >= 100:
        return f"{x:,.0f}{unit}"
    if abs(x) >= 1:
        return f"{x:.2f}{unit}"
    return f"{x:.3g}{unit}"


def ratio(e, v):
    if isinstance(e, (int, float)) and isinstance(v, (int, float)) and v:
        return f"{'>=' if v == 0.01 else ''}{e / v:.1f}x"
    if isinstance(e, str) and e.startswith(">") and isinstance(v, (int, float)) and v:
        return f">{float(e[1:].split()[0]) / v:.1f}x"
    return "-"


print("| model | metric | vouch | EZKL | EZKL / vouch |")
print("|---|---|---:|---:|---:|")
for m in models:
    v, e = load(m, "vouch"), load(m, "ezkl")
    steps = e.get("steps", {})

    def ez(key, step=None):
        if key in e:
            return e[key]
        st = steps.get(step or key.split("_")[0], {})
        if st.get("timed_out"):
            return f">{st['limit_s']:.0f} s, stopped"
        if e.get("failed_at") or e.get("stopped_at"):
            return "not reached"
        return None

    ez_prove = ez("prove_s")
    w = steps.get("witness", {}).get("s")
    if isinstance(ez_prove, float) and w is not None:
        ez_prove = ez_prove + w  # vouch's prove includes building the witness
    ez_prove_cpu = e.get("prove_cpu_s")
    wc = steps.get("witness", {}).get("cpu_s")
    if isinstance(ez_prove_cpu, float) and wc is not None:
        ez_prove_cpu = ez_prove_cpu + wc
    rows = [
        ("setup, wall (s)", v.get("setup_s"), ez("setup_s")),
        ("setup, CPU (s)", v.get("setup_cpu_s"), ez("setup_cpu_s", "setup")),
        ("prove incl. witness, wall (s)", v.get("prove_s"), ez_prove),
        ("prove incl. witness, CPU (s)", v.get("prove_cpu_s"), ez_prove_cpu if ez_prove_cpu is not None else ez("prove_cpu_s", "prove")),
        ("peak memory, prove (MB)", v.get("prove_peak_mb"), ez("prove_peak_mb", "prove")),
        ("peak memory, setup (MB)", v.get("setup_peak_mb"), ez("setup_peak_mb", "setup")),
        ("proof size (bytes)", v.get("proof_bytes"), ez("proof_bytes", "prove")),
        ("verify (s)", (v.get("verify_s") or 0.01) if "verify_s" in v else None, ez("verify_s")),
        ("EVM verification gas (receipt gasUsed)", v.get("evm_gas"), ez("evm_gas", "evm")),
        ("zk task settlement, TaskManager.submitZk gas (receipt)", v.get("submit_zk_gas"), None),
        ("max abs error vs float", v.get("max_abs_err"), ez("max_abs_err", "witness")),
        ("argmax agrees with float", v.get("argmax_agree"), ez("argmax_agree", "witness")),
    ]
    for name, a, b in rows:
        r = ratio(b, a) if "error" not in name and "argmax" not in name else "-"
        print(f"| {m} | {name} | {num(a)} | {num(b)} | {r} |")
    extra = []
    if "settings_calibrate_srs_s" in e:
        extra.append(f"EZKL settings+calibration+SRS {e['settings_calibrate_srs_s']:.1f} s, logrows {e.get('logrows')}")
    if "constraints" in v:
        extra.append(f"vouch {v['constraints']:,} constraints, domain {v['domain']:,}")
    if v.get("evm_ok") is False or e.get("evm_ok") is False:
        extra.append("WARNING: a verifier returned false on anvil")
    if extra:
        print(f"| {m} | notes | {'; '.join(extra)} | | |")
