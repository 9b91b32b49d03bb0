/**
 * Commitments to integer tensors, as `docs/semantics.md` section 6 defines them (the same
 * functions as `crates/primitives/src/commit.rs` and `VouchResults.commitment` in Solidity):
 *
 * - canonical tensor bytes: each element as 4 bytes big-endian two's complement, 8 to a
 *   32-byte word, the last word zero-padded;
 * - tensor Merkle root: `keccak256(word)` leaves, padded with zero leaves to a power of two,
 *   parents `keccak256(left ‖ right)`; a single leaf is its own root, no elements give zero;
 * - tensor commitment: `keccak256(uint256(numel) ‖ root)`;
 * - list commitment: the Merkle root (same rule) whose leaves are the member commitments.
 *
 * @module
 */
import { type Hex, bytesToHex, concatBytes, hexToBytes, keccak256, numberToBytes } from "viem";

const ZERO32 = new Uint8Array(32);

/** Values as int32: throws on anything that is not an integer in `[-2^31, 2^31)`. */
function int32(v: number, i: number): number {
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw new RangeError(`element ${i} (${v}) is not an int32`);
  }
  return v;
}

/** The canonical bytes of a tensor: 4 bytes big-endian per element, no padding. */
export function tensorBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(i * 4, int32(values[i] as number, i));
  return out;
}

/** The Merkle root of `leaves` (zero-padded to a power of two; zero for none). */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return ZERO32;
  let level = leaves.slice();
  let width = 1;
  while (width < level.length) width *= 2;
  while (level.length < width) level.push(ZERO32);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(keccak256(concatBytes([level[i] as Uint8Array, level[i + 1] as Uint8Array]), "bytes"));
    }
    level = next;
  }
  return level[0] as Uint8Array;
}

/** The tensor commitment `keccak256(uint256(numel) ‖ root)` of integer values. */
export function tensorCommitment(values: ArrayLike<number>): Hex {
  const bytes = tensorBytes(values);
  const leaves: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += 32) {
    const word = new Uint8Array(32);
    word.set(bytes.subarray(off, Math.min(off + 32, bytes.length)));
    leaves.push(keccak256(word, "bytes"));
  }
  const root = merkleRoot(leaves);
  return keccak256(concatBytes([numberToBytes(values.length, { size: 32 }), root]));
}

/** The list commitment over member commitments, in order. */
export function listCommitment(members: readonly Hex[]): Hex {
  return bytesToHex(merkleRoot(members.map((m) => hexToBytes(m))));
}

/**
 * The output commitment of a task's `values` (`docs/semantics.md` section 10): for each graph
 * output `i`, `rows * sizes[i]` elements, end to end; their tensor commitments' list
 * commitment. Throws when the sizes do not add up to the values.
 */
export function outputCommitment(
  values: ArrayLike<number>,
  sizes: readonly number[],
  rows = 1,
): Hex {
  const members: Hex[] = [];
  let off = 0;
  for (const size of sizes) {
    const n = size * rows;
    members.push(tensorCommitment(Array.prototype.slice.call(values, off, off + n)));
    off += n;
  }
  if (off !== values.length) {
    throw new RangeError(
      `the outputs' sizes (${sizes.join(", ")} per row, ${rows} rows) add up to ${off}, not ${values.length} values`,
    );
  }
  return listCommitment(members);
}

/** The input commitment of an optimistic or committee task: the list commitment of its inputs. */
export function inputCommitment(inputs: readonly ArrayLike<number>[]): Hex {
  return listCommitment(inputs.map((t) => tensorCommitment(t)));
}

/** The inline input of a request: every input's canonical bytes, end to end. */
export function inlineInput(inputs: readonly ArrayLike<number>[]): Hex {
  return bytesToHex(concatBytes(inputs.map((t) => tensorBytes(t))));
}

/** The int32 elements of canonical tensor bytes (an inline input). */
export function decodeInt32(bytes: Hex | Uint8Array): number[] {
  const b = typeof bytes === "string" ? hexToBytes(bytes) : bytes;
  if (b.length % 4 !== 0) throw new RangeError(`${b.length} bytes are not whole int32 elements`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let i = 0; i < b.length; i += 4) out.push(view.getInt32(i));
  return out;
}
