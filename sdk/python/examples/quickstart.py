"""vouch from Python: sign in, request, wait, read outputs as floats, check the receipt.

Run from the repository root next to a running `vouch up` (or point the VOUCH_* variables at
another network): python sdk/python/examples/quickstart.py
"""

import json
import os

from eth_account import Account

from vouch_client import Chain, Deployment, Gateway, verify_receipt

gateway = os.environ.get("VOUCH_GATEWAY", "http://127.0.0.1:8080")
rpc = os.environ.get("VOUCH_RPC", "http://127.0.0.1:8545")
deployment = Deployment.load(os.environ.get("VOUCH_DEPLOYMENT", ".vouch/up/deployments/31337.json"))
rows = json.load(open("testdata/models/digits_mlp/input.json"))["input"][:3]  # three 8x8 digits

with Gateway(gateway) as gw, Chain(rpc, deployment) as chain:
    print("signed in as", gw.sign_in(Account.create()))  # any key: the gateway pays the fee
    model = gw.models()[0]
    task = gw.request(model["cid"], {"input": rows}, mode="optimistic", max_fee=10**17)
    task = gw.wait(task.id, timeout=120)  # follows the task's events until it settles
    print("task", task.id, task.status)
    out = gw.output(task.id)  # the settled output; its bytes are checked against its CID
    for name in out.names:
        for row in out[name]:
            print(f"{name}: argmax {row.index(max(row))}  [{', '.join(f'{x:.3f}' for x in row)}]")
    receipt = verify_receipt(chain, task.chain_id, out, wait=30)  # chain, EAS, output commitment
    print(receipt)
    raise SystemExit(0 if receipt.ok else 1)
