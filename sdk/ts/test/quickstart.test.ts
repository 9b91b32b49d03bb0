// Runs the README's quickstart (examples/quickstart.ts, the same text) against a real network.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { promisify } from "node:util";
import { type Network, ROOT, startNetwork } from "./network.js";

let net: Network;
before(async () => {
  net = await startNetwork();
});
after(async () => {
  await net?.stop();
});

it("the README's quickstart is examples/quickstart.ts", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const example = readFileSync(join(ROOT, "sdk/ts/examples/quickstart.ts"), "utf8");
  // the code after the example's header comment is in the README verbatim
  const body = example.slice(example.indexOf("import "));
  assert.ok(readme.includes(body), "README.md's TypeScript SDK quickstart differs from sdk/ts/examples/quickstart.ts");
});

it("the quickstart runs: sign in, request, follow, read, verify", async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", join(ROOT, "sdk/ts/examples/quickstart.ts")],
    {
      cwd: join(ROOT, "sdk/ts"),
      env: { ...process.env, VOUCH_GATEWAY: net.gateway, VOUCH_RPC: net.rpc_url, VOUCH_DEPLOYMENT: net.deploymentFile },
      timeout: 180_000,
    },
  );
  console.log(stdout);
  assert.match(stdout, /^signed in as did:pkh:eip155:\d+:0x[0-9a-fA-F]{40}$/m);
  assert.match(stdout, /^finalized: digit \d /m);
  assert.match(stdout, /^receipt of task 0x[0-9a-f]+: all 6 checks passed$/m);
  assert.doesNotMatch(stdout, /FAIL/);
});
