// A real local vouch network for the tests: `vouch up` (anvil, the contracts, the digits MLP
// with its zk verifier, provider nodes, a challenger and the gateway) on free ports in a
// scratch directory, started once per test file and stopped at its end.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Hex, createPublicClient, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { type Deployment, VouchChain } from "../src/index.js";

/** anvil's public dev keys (the local network's accounts); never use them on a real chain. */
export const DEV_KEYS: readonly Hex[] = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT = resolve(here, "../../..");

/** What `vouch up --json` reports. */
export interface Up {
  gateway: string;
  rpc_url: string;
  chain_id: number;
  deployment: Deployment;
  model: { id: number; version: number; cid: string };
  zk_verifier: string | null;
}

/** A running network. */
export interface Network extends Up {
  /** Its data directory. */
  dir: string;
  /** The deployment file inside it. */
  deploymentFile: string;
  /** A chain client, signing with dev key `key` when given. */
  chain(key?: number): VouchChain;
  /** Stops the network and removes its directory. */
  stop(): Promise<void>;
}

/** The vouch binary: `$VOUCH_BIN`, else the workspace's debug build. */
export function vouchBin(): string {
  const bin = process.env.VOUCH_BIN ?? join(ROOT, "target/debug/vouch");
  if (!existsSync(bin)) throw new Error(`no vouch binary at ${bin}: run \`cargo build -p vouch\` (or set VOUCH_BIN)`);
  return bin;
}

function exited(p: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (p.exitCode !== null || p.signalCode !== null) r();
    else p.once("exit", () => r());
  });
}

/** Starts `vouch up` on free ports and waits for its JSON report. */
export async function startNetwork(opts: { window?: number; providers?: number } = {}): Promise<Network> {
  const dir = mkdtempSync(join(tmpdir(), "vouch-sdk-"));
  const args = [
    "--json", "up", "--rpc-port", "0", "--gateway", "127.0.0.1:0", "--dir", dir,
    "--window", String(opts.window ?? 2), "--providers", String(opts.providers ?? 3),
  ];
  const child = spawn(vouchBin(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr?.on("data", (b: Buffer) => {
    err = (err + b.toString()).slice(-20_000);
  });
  const up = await new Promise<Up>((resolveUp, reject) => {
    const timer = setTimeout(() => reject(new Error(`vouch up did not report within 600 s; stderr:\n${err}`)), 600_000);
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      // the report is one pretty-printed JSON object ending with a `}` line
      if (/^\}\s*$/m.test(out)) {
        try {
          const v = JSON.parse(out) as Up;
          clearTimeout(timer);
          resolveUp(v);
        } catch {
          // not complete yet
        }
      }
    });
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`vouch up exited (${code ?? sig}) before reporting; stderr:\n${err}`));
    });
  });
  const transport = http(up.rpc_url);
  const chain = { ...foundry, id: up.chain_id };
  const client = createPublicClient({ chain, transport, pollingInterval: 250 });
  return {
    ...up,
    dir,
    deploymentFile: join(dir, "deployments", `${up.chain_id}.json`),
    chain(key?: number) {
      if (key === undefined) return new VouchChain(client, up.deployment);
      const account = privateKeyToAccount(DEV_KEYS[key] as Hex);
      return new VouchChain(client, up.deployment, createWalletClient({ chain, transport, account }));
    },
    async stop() {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited(child);
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Rows of the digits MLP's held-out inputs and their labels (testdata/models/digits_mlp). */
export async function digits(): Promise<{ rows: number[][]; labels: number[] }> {
  const { readFile } = await import("node:fs/promises");
  const input = JSON.parse(await readFile(join(ROOT, "testdata/models/digits_mlp/input.json"), "utf8")) as { input: number[][] };
  const labels = JSON.parse(await readFile(join(ROOT, "testdata/models/digits_mlp/labels.json"), "utf8")) as number[];
  return { rows: input.input, labels };
}
