// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

/// @title Tree
/// @notice One-step recomputation of the tree family, `TreeEnsemble` (docs/semantics.md section
/// 3.1): not yet implemented. Opcode 30 is reserved for it; a package holding a tree ensemble is
/// refused for the optimistic mode before a task is accepted, so no dispute ever reaches here.
library Tree {}
