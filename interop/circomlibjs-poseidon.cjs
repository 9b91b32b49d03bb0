// Hashes messages with circomlibjs's Poseidon (the optimized `buildPoseidon`, what circom
// projects and deployed verifiers use) the way docs/architecture.md says vouch chains it:
// h = tag; for each block of `rate` elements (the last zero-padded; an empty message is one
// zero block) h = poseidon(block, h). Reads cases as JSON from the file argv[3]:
// [{ "width": 3 | 9, "tag": "<decimal>", "msg": ["<decimal>", ...] }, ...]
// and prints one decimal hash per case, one per line. argv[2]: the node_modules folder.
const fs = require("fs");
const path = require("path");
const { buildPoseidon } = require(path.join(process.argv[2], "circomlibjs"));

(async () => {
  const poseidon = await buildPoseidon();
  const F = poseidon.F;
  const cases = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
  for (const c of cases) {
    const rate = c.width - 1;
    const msg = c.msg.map(BigInt);
    let h = BigInt(c.tag);
    const blocks = Math.max(1, Math.ceil(msg.length / rate));
    for (let b = 0; b < blocks; b++) {
      const block = msg.slice(b * rate, (b + 1) * rate);
      while (block.length < rate) block.push(0n);
      h = F.toObject(poseidon(block, h));
    }
    console.log(h.toString());
  }
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
