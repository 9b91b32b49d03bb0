//! Inputs that travel as EIP-4844 blobs (docs/architecture.md, "Inputs as blobs").
//!
//! An input too large for calldata (an image) rides in the blobs of the request transaction.
//! The request's `inputCid` names them, `blob:0x<versioned hash>,0x<...>` in the transaction's
//! blob order ([`cid_of`]); `TaskManager` refuses the request unless its transaction carries
//! exactly those blobs (`BlobInput.check`), so the `TaskRequested` event binds the task to data
//! the chain made available. The judged object stays the task's keccak input commitment: a
//! reader decodes the blobs back to the canonical input bytes ([`read_input`]) and checks them
//! against it before serving.
//!
//! | step | function |
//! |---|---|
//! | canonical bytes (`i32` big-endian words) -> payload | [`pack`]: a width byte (1, 2 or 4), then every element in that many big-endian bytes |
//! | payload -> blobs with KZG commitments and proofs | [`sidecar`] (EIP-4844 form), [`sidecar_7594`] (Osaka's cell proofs; alloy's `SidecarBuilder<SimpleCoder>`) |
//! | versioned hashes -> `inputCid` | [`cid_of`], back with [`parse_cid`] |
//! | versioned hashes and the carrying block -> blobs | a [`BlobSource`]: [`BeaconBlobs`] (a beacon node's `GET /eth/v1/beacon/blobs/{block_id}`), [`AnvilBlobs`] (`anvil_getBlobByHash`) |
//! | blobs -> canonical bytes | [`read_input`]: each blob's KZG commitment must give its versioned hash, then [`unpack`] |
//!
//! The width byte is why a 320x320 RGB image of 16-bit activations (307,200 elements, 1.2 MB
//! as canonical words) fits in 5 blobs instead of 10 (a transaction carries at most 6).

use crate::{Error, Result};
use alloy::eips::eip4844::builder::{SidecarBuilder, SidecarCoder, SimpleCoder};
use alloy::eips::eip4844::env_settings::EnvKzgSettings;
use alloy::eips::eip4844::{
    AsCkzg as _, BYTES_PER_BLOB, Blob, BlobTransactionSidecar, kzg_to_versioned_hash,
};
use alloy::eips::eip7594::BlobTransactionSidecarEip7594;
use alloy::primitives::{B256, Bytes};
use std::future::Future;

mod beacon;
pub use beacon::{BeaconBlobs, BlockIds, MAX_BODY, slot_of};

/// The prefix of an `inputCid` that names blobs.
pub const PREFIX: &str = "blob:";

/// Most blobs one request may carry (a transaction's limit since Osaka, EIP-7594).
pub const MAX_BLOBS: usize = 6;

fn fault(cid: &str, reason: impl Into<String>) -> Error {
    Error::BlobInput {
        cid: cid.to_owned(),
        reason: reason.into(),
    }
}

/// The blob payload of canonical input bytes (`i32` big-endian words): the narrowest width
/// (1, 2 or 4 bytes) that holds every element, then each element in that width, big-endian
/// two's complement.
pub fn pack(canonical: &[u8]) -> Result<Vec<u8>> {
    if canonical.is_empty() || !canonical.len().is_multiple_of(4) {
        return Err(fault(
            "(new)",
            format!(
                "the input is {} bytes, not a positive multiple of 4",
                canonical.len()
            ),
        ));
    }
    let words: Vec<i32> = canonical
        .chunks_exact(4)
        .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let width: usize = if words.iter().all(|&w| i8::try_from(w).is_ok()) {
        1
    } else if words.iter().all(|&w| i16::try_from(w).is_ok()) {
        2
    } else {
        4
    };
    let mut out = Vec::with_capacity(1 + words.len() * width);
    out.push(u8::try_from(width).unwrap_or(4));
    for w in words {
        out.extend_from_slice(&w.to_be_bytes()[4 - width..]);
    }
    Ok(out)
}

/// The canonical input bytes of a blob payload ([`pack`]'s inverse); a payload that is not one
/// is refused.
pub fn unpack(cid: &str, payload: &[u8]) -> Result<Vec<u8>> {
    let Some((&width, body)) = payload.split_first() else {
        return Err(fault(cid, "the blobs hold an empty payload"));
    };
    let width = usize::from(width);
    if !matches!(width, 1 | 2 | 4) || body.is_empty() || !body.len().is_multiple_of(width) {
        return Err(fault(
            cid,
            format!(
                "the payload is not packed input words (width byte {width}, {} bytes)",
                body.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(body.len() / width * 4);
    for c in body.chunks_exact(width) {
        // sign-extend the big-endian element to 4 bytes
        let fill = if c[0] & 0x80 != 0 { 0xff } else { 0 };
        out.extend(std::iter::repeat_n(fill, 4 - width));
        out.extend_from_slice(c);
    }
    Ok(out)
}

/// The builder holding canonical input bytes [`pack`]ed and coded with alloy's `SimpleCoder`
/// (a length word, then 31 bytes per field element). Refused past [`MAX_BLOBS`].
fn builder(canonical: &[u8]) -> Result<SidecarBuilder<SimpleCoder>> {
    let payload = pack(canonical)?;
    let fes = SimpleCoder::default().required_fe(&payload);
    let blobs = fes.div_ceil(BYTES_PER_BLOB / 32);
    if blobs > MAX_BLOBS {
        return Err(fault(
            "(new)",
            format!(
                "the packed input is {} bytes: {blobs} blobs, over the {MAX_BLOBS} a transaction may carry",
                payload.len()
            ),
        ));
    }
    Ok(SidecarBuilder::<SimpleCoder>::from_slice(&payload))
}

/// The blobs (with KZG commitments and one blob proof each: the EIP-4844 form, before Osaka)
/// carrying canonical input bytes ([`builder`]).
pub fn sidecar(canonical: &[u8]) -> Result<BlobTransactionSidecar> {
    builder(canonical)?
        .build_4844()
        .map_err(|e| fault("(new)", format!("computing the KZG commitments: {e}")))
}

/// The same blobs in the EIP-7594 form a chain takes from Osaka on: KZG commitments and the
/// 128 cell proofs of each extended blob (PeerDAS).
pub fn sidecar_7594(canonical: &[u8]) -> Result<BlobTransactionSidecarEip7594> {
    builder(canonical)?
        .build_7594()
        .map_err(|e| fault("(new)", format!("computing the KZG cell proofs: {e}")))
}

/// Which sidecar form a chain's blob transactions take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidecarForm {
    /// One KZG proof per blob (Cancun to Prague).
    Eip4844,
    /// 128 cell proofs per blob (Osaka on, EIP-7594).
    Eip7594,
}

/// The `inputCid` naming blobs by their versioned hashes, in order (lowercase hex).
pub fn cid_of(hashes: &[B256]) -> String {
    let names: Vec<String> = hashes.iter().map(|h| format!("{h:#x}")).collect();
    format!("{PREFIX}{}", names.join(","))
}

/// The versioned hashes an `inputCid` names: `None` when it does not name blobs (no `blob:`
/// prefix), an error when it names them in a form [`cid_of`] does not write.
pub fn parse_cid(cid: &str) -> Option<Result<Vec<B256>>> {
    let list = cid.strip_prefix(PREFIX)?;
    let parse = |s: &str| -> Result<B256> {
        let hex = s
            .strip_prefix("0x")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(|| {
                fault(
                    cid,
                    format!("`{s}` is not a lowercase 0x-hex versioned hash"),
                )
            })?;
        hex.parse::<B256>()
            .map_err(|e| fault(cid, format!("`{s}`: {e}")))
    };
    let hashes: Result<Vec<B256>> = list.split(',').map(parse).collect();
    Some(hashes.and_then(|h| {
        if h.len() > MAX_BLOBS {
            Err(fault(
                cid,
                format!("{} blobs named, at most {MAX_BLOBS}", h.len()),
            ))
        } else {
            Ok(h)
        }
    }))
}

/// The versioned hash of a blob: version byte 1 and the sha256 of its KZG commitment.
pub fn versioned_hash(blob: &Blob) -> Result<B256> {
    let c = EnvKzgSettings::Default
        .get()
        .blob_to_kzg_commitment(blob.as_ckzg())
        .map_err(|e| fault("(blob)", format!("not a valid blob: {e}")))?;
    Ok(kzg_to_versioned_hash(c.to_bytes().as_slice()))
}

/// Where blobs are read back from: by their versioned hashes and the execution block whose
/// transaction carried them (the block of the task's `TaskRequested` log).
///
/// [`AnvilBlobs`] reads anvil's own pool; [`BeaconBlobs`] reads a beacon node's REST API (a real
/// chain keeps blobs on its consensus layer for about 18 days), and anvil's beacon routes in
/// tests; [`Blobs`] is whichever of the two a node is configured with.
pub trait BlobSource {
    /// The blobs named by `hashes`, in order (on the heap: a blob is 128 KiB): `None` where the
    /// source does not have one, or an error saying why.
    fn blobs(
        &self,
        block: u64,
        hashes: &[B256],
    ) -> impl Future<Output = Result<Vec<Option<Bytes>>>> + Send;
}

/// Blobs read back from an anvil node's own pool (`anvil_getBlobByHash`; the block is not
/// needed).
#[derive(Debug, Clone)]
pub struct AnvilBlobs(pub crate::Client);

impl BlobSource for AnvilBlobs {
    async fn blobs(&self, _block: u64, hashes: &[B256]) -> Result<Vec<Option<Bytes>>> {
        let mut out = Vec::with_capacity(hashes.len());
        for h in hashes {
            out.push(self.0.raw("anvil_getBlobByHash", (*h,)).await?);
        }
        Ok(out)
    }
}

/// The blob source a node reads inputs through: a beacon node when it is given one, else
/// anvil's pool.
#[derive(Debug, Clone)]
pub enum Blobs {
    /// `anvil_getBlobByHash` on the execution RPC (anvil only).
    Anvil(AnvilBlobs),
    /// A beacon node's `GET /eth/v1/beacon/blobs/{block_id}`.
    Beacon(BeaconBlobs),
}

impl Blobs {
    /// [`BeaconBlobs`] at `beacon_url` when given (checked to be an `http://` URL), else
    /// [`AnvilBlobs`] over `exec`.
    pub fn new(exec: &crate::Client, beacon_url: Option<&str>) -> Result<Self> {
        Ok(match beacon_url {
            Some(url) => Self::Beacon(BeaconBlobs::new(url, exec.clone())?),
            None => Self::Anvil(AnvilBlobs(exec.clone())),
        })
    }
}

impl BlobSource for Blobs {
    async fn blobs(&self, block: u64, hashes: &[B256]) -> Result<Vec<Option<Bytes>>> {
        match self {
            Self::Anvil(s) => s.blobs(block, hashes).await,
            Self::Beacon(s) => s.blobs(block, hashes).await,
        }
    }
}

/// The canonical input bytes the blobs named by `cid` carry, read from `src` (`block`: the
/// execution block whose transaction carried them): every blob must be there and its KZG
/// commitment give the versioned hash it is named by (a source cannot substitute another),
/// then the blobs are decoded and [`unpack`]ed. The caller still checks the bytes against the
/// task's input commitment.
pub async fn read_input(src: &impl BlobSource, cid: &str, block: u64) -> Result<Vec<u8>> {
    let hashes = parse_cid(cid).ok_or_else(|| fault(cid, "the input CID names no blobs"))??;
    let got = src.blobs(block, &hashes).await?;
    if got.len() != hashes.len() {
        return Err(fault(
            cid,
            format!(
                "the source answered {} blobs for {}",
                got.len(),
                hashes.len()
            ),
        ));
    }
    let mut raw = Vec::with_capacity(hashes.len());
    for (i, (h, bytes)) in hashes.iter().zip(got).enumerate() {
        raw.push(bytes.ok_or_else(|| fault(cid, format!("blob {i} ({h}) is not available")))?);
    }
    decode_blobs(cid, &hashes, &raw)
}

/// [`read_input`] once the blobs are read: checked against their names, decoded, unpacked.
pub fn decode_blobs(cid: &str, hashes: &[B256], raw: &[Bytes]) -> Result<Vec<u8>> {
    let mut blobs: Vec<Blob> = Vec::with_capacity(raw.len());
    for (i, (h, bytes)) in hashes.iter().zip(raw).enumerate() {
        let blob = Blob::try_from(bytes.as_ref()).map_err(|_| {
            fault(
                cid,
                format!(
                    "blob {i} read back is {} bytes, not {BYTES_PER_BLOB}",
                    bytes.len()
                ),
            )
        })?;
        let got = versioned_hash(&blob).map_err(|e| fault(cid, format!("blob {i}: {e}")))?;
        if got != *h {
            return Err(fault(
                cid,
                format!("blob {i} read back has versioned hash {got}, not {h}"),
            ));
        }
        blobs.push(blob);
    }
    let mut parts = SimpleCoder::default()
        .decode_all(&blobs)
        .ok_or_else(|| fault(cid, "the blobs are not SimpleCoder-coded data"))?;
    if parts.len() != 1 {
        return Err(fault(
            cid,
            format!("the blobs hold {} payloads, not one", parts.len()),
        ));
    }
    unpack(cid, &parts.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn packing_picks_the_narrowest_width_and_unpacks_to_the_same_bytes() {
        for (v, width) in [
            (vec![0, -128, 127, 5], 1u8),
            (vec![0, -129, 32767, -32768], 2),
            (vec![1 << 20, -1, i32::MIN, i32::MAX], 4),
        ] {
            let p = pack(&words(&v)).unwrap();
            assert_eq!(p[0], width);
            assert_eq!(p.len(), 1 + v.len() * usize::from(width));
            assert_eq!(unpack("t", &p).unwrap(), words(&v));
        }
    }

    #[test]
    fn malformed_payloads_and_inputs_are_refused() {
        assert!(pack(&[]).is_err());
        assert!(pack(&[0, 0, 1]).is_err());
        assert!(unpack("t", &[]).is_err());
        assert!(unpack("t", &[3, 0, 0, 0]).is_err());
        assert!(unpack("t", &[2, 0, 0, 0]).is_err());
        assert!(unpack("t", &[1]).is_err());
    }

    #[test]
    fn cids_round_trip_and_malformed_names_are_refused() {
        let hs = [B256::repeat_byte(0x01), B256::repeat_byte(0xab)];
        let cid = cid_of(&hs);
        assert_eq!(&cid[..7], "blob:0x");
        assert_eq!(parse_cid(&cid).unwrap().unwrap(), hs);
        assert!(parse_cid("bafkreiinput").is_none());
        assert!(
            parse_cid(&cid.to_uppercase().replace("BLOB:0X", "blob:0x"))
                .unwrap()
                .is_err()
        );
        assert!(parse_cid("blob:").unwrap().is_err());
        assert!(parse_cid(&format!("{cid},")).unwrap().is_err());
        assert!(parse_cid(&cid_of(&[B256::ZERO; 7])).unwrap().is_err());
    }

    #[test]
    fn a_sidecar_holds_the_input_and_its_hashes_are_the_blobs_own() {
        // 200,000 16-bit elements: 400,001 payload bytes, 12,905 field elements, 4 blobs
        let v: Vec<i32> = (0..200_000).map(|i| (i * 7919) % 65_536 - 32_768).collect();
        let sc = sidecar(&words(&v)).unwrap();
        assert_eq!(sc.blobs.len(), 4);
        let hashes: Vec<B256> = sc.versioned_hashes().collect();
        for (b, h) in sc.blobs.iter().zip(&hashes) {
            assert_eq!(versioned_hash(b).unwrap(), *h);
        }
        let raw: Vec<Bytes> = sc
            .blobs
            .iter()
            .map(|b| Bytes::copy_from_slice(b.as_slice()))
            .collect();
        assert_eq!(decode_blobs("t", &hashes, &raw).unwrap(), words(&v));
        // a source answering another blob for a name is caught
        let mut swapped = raw.clone();
        swapped.swap(0, 1);
        let e = decode_blobs("t", &hashes, &swapped)
            .unwrap_err()
            .to_string();
        assert!(e.contains("blob 0 read back has versioned hash"), "{e}");
        // the Osaka form: the same blobs and names, 128 cell proofs a blob
        let sc7594 = sidecar_7594(&words(&v)).unwrap();
        assert_eq!(sc7594.versioned_hashes().collect::<Vec<_>>(), hashes);
        assert_eq!(sc7594.cell_proofs.len(), 128 * hashes.len());
        // too large for one transaction
        let big: Vec<i32> = (0..1_000_000).map(|i| i << 12).collect();
        assert!(sidecar(&words(&big)).is_err());
        assert!(sidecar_7594(&words(&big)).is_err());
    }
}
