//! The quantized graph IR and the vouch package format.
//!
//! A [`Package`] is what a model owner publishes: the integer graph of `docs/semantics.md`,
//! its constants, input and output names, shapes and scales, the hash of the ONNX it came
//! from, and the accuracy measured at import. [`Package::to_bytes`] is canonical (same package,
//! same bytes), so the content id ([`Package::cid`]) names the model.
//!
//! | module | holds |
//! |---|---|
//! | [`ir`] | tensors, constants, nodes and ops |
//! | [`package`] | the package, its byte format, content id and weights root |
//! | [`validate`] | structural checks every loaded package passes before it runs |
//! | [`rows`] | whether a package takes several rows, and runs them together bit for bit |
//! | [`tree`] | `TreeEnsemble` checks and the feature-code input encoding |

#![forbid(unsafe_code)]
// A checker must not abort on input: no unwrap, expect or panic outside tests (a justified
// `allow` marks the exceptions).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
pub mod ir;
pub mod package;
pub mod rows;
pub mod tree;
pub mod validate;

pub use ir::{
    Const, ConstId, Dim, Kind, MAX_CONCAT_INPUTS, Node, Op, Operand, TensorInfo, ValueId,
    slice_span,
};
pub use package::{AccuracyReport, IoSpec, MAX_LIMB_BITS, OutputAccuracy, Package, PackageError};
pub use tree::FeatureCodes;
pub use vouch_semantics::{Aggregate, Family, NodeMode, PadMode, ReduceMode, Requant};
