//! The package: canonical bytes, content id, weights root, accuracy report.
//!
//! Byte format (version [`FORMAT_VERSION`]): the 8-byte magic `VOUCHPKG`, a big-endian `u16`
//! format version, the [`Package`] in `postcard` encoding, then the sha2-256 of everything
//! before it ([`DIGEST_BYTES`] bytes). Nothing in a package is a map or a hash set, so the
//! encoding is canonical: equal packages have equal bytes. The trailing digest makes a file
//! check itself: a flipped bit anywhere is refused as corrupted before anything is decoded,
//! also where no expected CID is at hand (`vouch infer model.vpkg`).

use crate::ir::{Const, Node, TensorInfo, ValueId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vouch_primitives::{B256, Cid, list_commitment, tensor_commitment};

/// Magic bytes opening every package file.
pub const MAGIC: &[u8; 8] = b"VOUCHPKG";
/// The package format version this crate reads and writes (2: with the trailing digest;
/// 3: graph inputs may carry per-feature scales and an imputation, [`IoSpec`]; 4: a graph
/// input may be an exact integer input, [`IoSpec::integer`]; 5: a graph input with per-feature
/// scales may send each feature as two limbs, [`IoSpec::limb_bits`]).
pub const FORMAT_VERSION: u16 = 5;
/// The largest [`IoSpec::limb_bits`]: a high limb's weight `2^m p` must fit `i16` with `p >= 1`.
pub const MAX_LIMB_BITS: u32 = 14;
/// Length of the trailing sha2-256 digest.
pub const DIGEST_BYTES: usize = 32;
/// Magic and version.
const HEADER_BYTES: usize = MAGIC.len() + 2;
/// Largest package accepted when decoding (1 GiB).
pub const MAX_PACKAGE_BYTES: usize = 1 << 30;

/// A graph input or output: its name and the value it binds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IoSpec {
    /// The ONNX name (the key in input / output JSON).
    pub name: String,
    /// The bound value.
    pub value: ValueId,
    /// A graph input's per-feature scales (`docs/semantics.md` section 5): element `j` of a
    /// row is quantized with `feature_scales[j mod F]`, `F` the size of the last axis. Empty:
    /// every element uses the value's scale (always empty for outputs).
    pub feature_scales: Vec<f64>,
    /// A graph input's missing-value replacement, the client's first step (section 5).
    pub imputation: Option<vouch_semantics::Imputation>,
    /// An exact integer input (an integer or boolean ONNX input, read at scale 1,
    /// `docs/semantics.md` section 5): the inclusive range of the values a request may hold,
    /// inside its kind's range. A request value outside it, or not an integer, is refused,
    /// never rounded or clamped. `None` for float inputs (always for outputs).
    pub integer: Option<(i32, i32)>,
    /// `m > 0`: each feature of a graph input with per-feature scales is sent as two `act16`
    /// limbs (`docs/semantics.md` section 5): feature `k`'s integer `X = round(x / s_k)` in
    /// `±32767 · 2^m` is element `k` (the high limb `H = round(X / 2^m)`) and element `F + k`
    /// (the low limb `X - 2^m H`) of the row, so the input's last axis is `2 F`. `0`: one
    /// element per feature (always for outputs and for inputs without feature scales).
    pub limb_bits: u32,
}

impl IoSpec {
    /// An input or output bound to `value`, with no per-feature scales.
    pub fn new(name: impl Into<String>, value: ValueId) -> Self {
        Self {
            name: name.into(),
            value,
            feature_scales: Vec::new(),
            imputation: None,
            integer: None,
            limb_bits: 0,
        }
    }
}

/// Accuracy of one output against the float model, measured at import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputAccuracy {
    /// Output name.
    pub name: String,
    /// Largest absolute difference between dequantized and float outputs.
    pub max_abs_error: f64,
    /// Largest absolute float output (to read the error against).
    pub max_abs_float: f64,
    /// Share of rows whose argmax agrees, for outputs that look like class scores.
    pub argmax_agreement: Option<f64>,
}

/// What was measured at import, on the calibration samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AccuracyReport {
    /// Number of calibration rows.
    pub samples: u32,
    /// Per output.
    pub outputs: Vec<OutputAccuracy>,
}

/// A quantized model package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    /// The semantics version the graph needs.
    pub semantics_version: u32,
    /// A display name.
    pub name: String,
    /// sha2-256 of the ONNX file it was imported from.
    pub source_sha256: [u8; 32],
    /// Graph inputs.
    pub inputs: Vec<IoSpec>,
    /// Graph outputs.
    pub outputs: Vec<IoSpec>,
    /// Dynamic tensors.
    pub values: Vec<TensorInfo>,
    /// Constants.
    pub consts: Vec<Const>,
    /// Nodes in execution order.
    pub nodes: Vec<Node>,
    /// Accuracy measured at import.
    pub accuracy: AccuracyReport,
}

/// Errors reading a package.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The bytes do not start with the package magic.
    #[error("not a vouch package (missing VOUCHPKG magic)")]
    Magic,
    /// A format version this build does not read.
    #[error(
        "package format version {found} is not supported (this build reads version \
         {FORMAT_VERSION}; re-import the ONNX model with this build)"
    )]
    Version {
        /// The version found.
        found: u16,
    },
    /// Shorter than a header and a digest.
    #[error("corrupt package: {len} bytes is shorter than a header and its digest")]
    Truncated {
        /// Its length.
        len: usize,
    },
    /// The trailing digest does not match the contents: the file was damaged or altered.
    #[error(
        "corrupted package: its contents hash to sha2-256 {computed} but it carries {carried} \
         (damaged or altered after it was written; fetch it again by its CID)"
    )]
    Corrupted {
        /// The digest the file carries (hex).
        carried: String,
        /// The digest of its contents (hex).
        computed: String,
    },
    /// Too large.
    #[error("package of {len} bytes exceeds the {MAX_PACKAGE_BYTES}-byte limit")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The body does not decode.
    #[error("corrupt package body: {0}")]
    Decode(#[from] postcard::Error),
    /// Trailing bytes after the body.
    #[error("corrupt package: {extra} trailing bytes")]
    Trailing {
        /// How many.
        extra: usize,
    },
    /// The structure is inconsistent.
    #[error("invalid package: {0}")]
    Invalid(#[from] crate::validate::InvalidPackage),
}

/// Appends the sha2-256 digest of `contents` (a header and a body) to it: the last step of
/// writing a package. Tools that edit a package's body re-seal it with this.
pub fn seal(mut contents: Vec<u8>) -> Vec<u8> {
    let digest = Sha256::digest(&contents);
    contents.extend_from_slice(&digest);
    contents
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Package {
    /// Bits per element of the zk input commitment: those of the widest graph input kind
    /// ([`crate::Kind::bits`]).
    pub fn input_bits(&self) -> u32 {
        self.inputs
            .iter()
            .map(|i| {
                self.values
                    .get(i.value as usize)
                    .map_or(32, |v| v.kind.bits())
            })
            .max()
            .unwrap_or(8)
    }

    /// Canonical bytes: header, body, digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        // the body is serialized straight after the header (no second copy of a large
        // package); serializing plain structs and vectors into a Vec cannot fail
        let out = postcard::to_extend(self, out).unwrap_or_default();
        seal(out)
    }

    /// Decodes and validates a package.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PackageError> {
        if bytes.len() > MAX_PACKAGE_BYTES {
            return Err(PackageError::TooLarge { len: bytes.len() });
        }
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(PackageError::Magic)?;
        let (ver, _) = rest.split_at_checked(2).ok_or(PackageError::Magic)?;
        let found = u16::from_be_bytes([ver[0], ver[1]]);
        if found != FORMAT_VERSION {
            return Err(PackageError::Version { found });
        }
        let sealed = bytes
            .len()
            .checked_sub(DIGEST_BYTES)
            .filter(|&n| n >= HEADER_BYTES)
            .ok_or(PackageError::Truncated { len: bytes.len() })?;
        let (contents, carried) = bytes.split_at(sealed);
        let computed = Sha256::digest(contents);
        if computed.as_slice() != carried {
            return Err(PackageError::Corrupted {
                carried: hex(carried),
                computed: hex(&computed),
            });
        }
        let body = &contents[HEADER_BYTES..];
        let (pkg, extra): (Self, &[u8]) = postcard::take_from_bytes(body)?;
        if !extra.is_empty() {
            return Err(PackageError::Trailing { extra: extra.len() });
        }
        pkg.validate()?;
        Ok(pkg)
    }

    /// The content id of [`Self::to_bytes`] (the whole file, digest included): see
    /// [`Package::cid_of_bytes`].
    pub fn cid(&self) -> Cid {
        Self::cid_of_bytes(&self.to_bytes())
    }

    /// The package CID of a package file's bytes: its UnixFS root as `ipfs-car pack --no-wrap`
    /// computes it ([`Cid::of_file`]) — the one raw block for a package of at most 1 MiB, else
    /// the dag-pb root of its chunked DAG. Packages are stored, published, registered and
    /// fetched by this CID; every caller that holds bytes rather than a [`Package`] uses this.
    pub fn cid_of_bytes(bytes: &[u8]) -> Cid {
        Cid::of_file(bytes)
    }

    /// Commitment per constant, in constant-id order.
    pub fn const_commitments(&self) -> Vec<B256> {
        self.consts
            .iter()
            .map(|c| tensor_commitment(&c.data))
            .collect()
    }

    /// The weights root: list commitment over every constant's tensor commitment.
    pub fn weights_root(&self) -> B256 {
        list_commitment(&self.const_commitments())
    }

    /// Number of weight elements.
    pub fn parameter_count(&self) -> usize {
        self.consts.iter().map(|c| c.data.len()).sum()
    }
}
