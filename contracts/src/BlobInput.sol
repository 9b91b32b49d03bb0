// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

/// The request names blobs in a malformed `blob:` list (not `0x` + 64 lowercase hex digits per
/// blob, joined by `,`).
error BlobCidMalformed();
/// The request names blob `index`, but the transaction carries no blob at that index.
error BlobNotCarried(uint256 index);
/// The request names blob `index` with another versioned hash than the transaction's.
error BlobMismatch(uint256 index);
/// The transaction carries more blobs than the request names.
error BlobsUnnamed(uint256 carried);

/// @title BlobInput
/// @notice An input that travels as EIP-4844 blobs (docs/architecture.md, "Inputs as blobs").
/// The request's `inputCid` names them as `blob:0x<versioned hash>,0x<versioned hash>...`
/// (lowercase hex, in the transaction's blob order), and the request is refused unless the
/// transaction carrying it has exactly those blobs: `blobhash(i)` is the `i`th named hash and
/// the transaction has no blob past the last. The `TaskRequested` event then binds the task to
/// blobs the chain has made available; the judged object stays the input commitment, which the
/// blob contents must open (checked off-chain before serving). A `inputCid` without the `blob:`
/// prefix is not checked.
library BlobInput {
    /// The prefix of an `inputCid` naming blobs.
    bytes5 internal constant PREFIX = "blob:";
    /// Characters per named blob: `0x` and 64 hex digits.
    uint256 internal constant ENTRY = 66;

    /// Reverts unless `cid` (when it starts with `blob:`) names exactly the transaction's blobs.
    function check(string calldata cid) internal view {
        bytes calldata b = bytes(cid);
        if (b.length < 5 || bytes5(b[:5]) != PREFIX) return;
        // n entries of 66 characters and n - 1 commas after the prefix
        uint256 n = (b.length - 4) / (ENTRY + 1);
        if (n == 0 || 5 + n * (ENTRY + 1) - 1 != b.length) revert BlobCidMalformed();
        for (uint256 i; i < n; ++i) {
            uint256 at = 5 + i * (ENTRY + 1);
            if ((i > 0 && b[at - 1] != ",") || b[at] != "0" || b[at + 1] != "x") revert BlobCidMalformed();
            bytes32 h = blobhash(i);
            if (h == 0) revert BlobNotCarried(i);
            // the named digits, two calldata words, against the hash's
            bytes32 hi;
            bytes32 lo;
            assembly ("memory-safe") {
                let p := add(b.offset, add(at, 2))
                hi := calldataload(p)
                lo := calldataload(add(p, 0x20))
            }
            if (hi != _hex(h, 0) || lo != _hex(h, 16)) revert BlobMismatch(i);
        }
        if (blobhash(n) != 0) revert BlobsUnnamed(_carried(n));
    }

    /// The blobs the transaction carries, counted from `from` (which it has).
    function _carried(uint256 from) private view returns (uint256 n) {
        n = from;
        while (blobhash(n) != 0) ++n;
    }

    /// The 32 lowercase hex digits of bytes `from..from + 16` of `h`, as one word.
    function _hex(bytes32 h, uint256 from) private pure returns (bytes32 r) {
        assembly ("memory-safe") {
            let digits := "0123456789abcdef"
            for { let k := 0 } lt(k, 16) { k := add(k, 1) } {
                let v := byte(add(from, k), h)
                let at := sub(248, shl(4, k)) // bit offset of digit 2k
                r := or(r, shl(at, byte(shr(4, v), digits)))
                r := or(r, shl(sub(at, 8), byte(and(v, 15), digits)))
            }
        }
    }
}
