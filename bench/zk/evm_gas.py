"""EVM verification gas of a generated verifier: a real transaction's gasUsed on anvil.

Compiles the verifier with the repo's solcjs wrapper (0.8.29, optimizer on, 200 runs), starts a
fresh anvil (hardfork pinned to cancun, code-size limit off: EZKL's verifier may exceed
EIP-170), deploys the contract from anvil's first unlocked account, then sends the verification
call as a transaction (gas limit 30M, far above what any of these verifiers uses: gasUsed does
not depend on the limit once it suffices) and reports the receipt's gasUsed: the whole
transaction (21,000 intrinsic + calldata + execution), the same method for both provers. The
figure counts only when the receipt's status is 1 and the call returned true in that same
transaction: anvil's `debug_traceTransaction` with the `callTracer` gives the top call's return
data, which must be the ABI encoding of `true`. Anything else exits non-zero.

Usage:
  evm_gas.py vouch VERIFIER.sol CALLDATA.json   (from `vouch zk calldata`; calls verifyProof)
  evm_gas.py ezkl  VERIFIER.sol CALLDATA.bin    (from ezkl.encode_evm_calldata)
Prints one JSON line: {"gas": N, "ok": true, "tx": HASH, "intrinsic_gas": N, "deploy_gas": N, ...}.
"""
import json, os, re, socket, subprocess, sys, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.path.join(ROOT, "node_modules", ".bin")
SOLC = os.path.join(ROOT, "scripts", "solc", "solc-0.8.29")
GAS_LIMIT = 30_000_000
TRUE = "0x" + "00" * 31 + "01"


def compile_sol(path):
    src = open(path).read()
    name = re.search(r"^\s*contract\s+(\w+)", src, re.M).group(1)
    inp = {
        "language": "Solidity",
        "sources": {"V.sol": {"content": src}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"*": ["evm.bytecode.object"]}},
        },
    }
    out = subprocess.run([SOLC, "--standard-json"], input=json.dumps(inp), capture_output=True, text=True, check=True)
    res = json.loads(out.stdout)
    errs = [e for e in res.get("errors", []) if e.get("severity") == "error"]
    if errs:
        raise SystemExit("solc: " + "; ".join(e.get("formattedMessage", e["message"])[:300] for e in errs))
    return "0x" + res["contracts"]["V.sol"][name]["evm"]["bytecode"]["object"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Rpc:
    def __init__(self, url):
        self.url, self.id = url, 0

    def __call__(self, method, *params):
        self.id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.id, "method": method, "params": list(params)}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        r = json.loads(urllib.request.urlopen(req, timeout=120).read())
        if "error" in r:
            raise RuntimeError(f"{method}: {r['error']}")
        return r["result"]

    def send(self, tx, what):
        """Sends `tx` and returns its receipt once mined."""
        h = self("eth_sendTransaction", tx)
        for _ in range(600):  # automine; under load the receipt can lag the call
            rcpt = self("eth_getTransactionReceipt", h)
            if rcpt:
                return rcpt
            time.sleep(0.05)
        raise SystemExit(f"{what}: transaction {h} was not mined")


def cast(*args):
    return subprocess.run([os.path.join(BIN, "cast"), *args], capture_output=True, text=True, check=True).stdout.strip()


def intrinsic(data):
    """21,000 + calldata (16 gas a non-zero byte, 4 a zero byte; cancun)."""
    b = bytes.fromhex(data[2:])
    return 21_000 + sum(16 if x else 4 for x in b)


def main():
    kind, sol, cd_path = sys.argv[1:4]
    code = compile_sol(sol)
    port = free_port()
    anvil = subprocess.Popen(
        [os.path.join(BIN, "anvil"), "--port", str(port), "--hardfork", "cancun", "--disable-code-size-limit",
         "--gas-limit", "100000000", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rpc = Rpc(f"http://127.0.0.1:{port}")
        for _ in range(200):
            try:
                rpc("eth_chainId")
                break
            except Exception:
                time.sleep(0.05)
        acct = rpc("eth_accounts")[0]
        dep = rpc.send({"from": acct, "data": code, "gas": hex(90_000_000)}, "deployment")
        if int(dep.get("status", "0x0"), 16) != 1 or not dep.get("contractAddress"):
            raise SystemExit(f"deployment failed: {dep}")
        addr = dep["contractAddress"]
        if kind == "vouch":
            j = json.load(open(cd_path))
            root = rpc("eth_call", {"to": addr, "data": cast("sig", "WEIGHTS_ROOT()")}, "latest")
            data = cast("calldata", "verifyProof(bytes32,bytes32,bytes32,bytes32,bytes)", root, "0x" + "00" * 32,
                        j["input_commitment"], j["output_commitment"], j["proof"])
            method = "verifyProof(bytes32,bytes32,bytes32,bytes32,bytes) (IZkVerifier: output commitment + Groth16)"
        else:
            data = "0x" + open(cd_path, "rb").read().hex()
            method = "verifyProof(bytes,uint256[]) (EZKL Halo2Verifier)"
        tx = {"from": acct, "to": addr, "data": data, "gas": hex(GAS_LIMIT)}
        rcpt = rpc.send(tx, "verification")
        status = int(rcpt.get("status", "0x0"), 16)
        trace = rpc("debug_traceTransaction", rcpt["transactionHash"], {"tracer": "callTracer"})
        returned = trace.get("output", "0x")
        ok = status == 1 and "error" not in trace and returned == TRUE
        gas = int(rcpt["gasUsed"], 16)
        print(json.dumps({"gas": gas, "ok": ok, "tx": rcpt["transactionHash"], "status": status,
                          "returned": returned, "gas_limit": GAS_LIMIT, "intrinsic_gas": intrinsic(data),
                          "deploy_gas": int(dep["gasUsed"], 16),
                          "code_bytes": (len(rpc("eth_getCode", addr, "latest")) - 2) // 2,
                          "calldata_bytes": (len(data) - 2) // 2, "method": method,
                          "how": "gasUsed of the transaction's receipt on anvil (--hardfork cancun), status 1, "
                                 "callTracer output = true"}))
        if not ok:
            raise SystemExit(f"the verification did not return true: status {status}, output {returned}, "
                             f"trace error {trace.get('error')}")
    finally:
        anvil.terminate()
        anvil.wait()


if __name__ == "__main__":
    main()
