//! Fuzz-lite: mutated real models and random bytes must give `Ok` or `Err`, never a panic.
//! (The cargo-fuzz target in `fuzz/` explores further.)

#![allow(missing_docs)]

use std::path::PathBuf;

use vouch_onnx::{ImportOptions, decode_tensor, import};

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/models");
    let mut out = Vec::new();
    for m in [
        "mlp_10_20_2",
        "digits_logreg_zipmap",
        "cnn_ops",
        "upsample_net",
        "vad_bigru",
        "tree_gb_iris",
        "tree_rf_iris",
    ] {
        if let Ok(b) = std::fs::read(dir.join(m).join("model.onnx")) {
            out.push(b);
        }
    }
    out
}

#[test]
fn mutated_models_never_panic() {
    let mut rng = Rng(7);
    for seed in seeds() {
        for _ in 0..3000 {
            let mut b = seed.clone();
            match rng.below(4) {
                0 => b.truncate(rng.below(b.len())),
                1 => {
                    for _ in 0..1 + rng.below(8) {
                        let i = rng.below(b.len());
                        if let Some(x) = b.get_mut(i) {
                            *x ^= 1 << rng.below(8);
                        }
                    }
                }
                2 => {
                    let i = rng.below(b.len());
                    if let Some(x) = b.get_mut(i) {
                        *x = u8::try_from(rng.below(256)).unwrap_or(0);
                    }
                }
                _ => {
                    // Splice a chunk of the model into another place.
                    let (a, c) = (rng.below(b.len()), rng.below(b.len()));
                    let chunk: Vec<u8> =
                        b.get(a..(a + 16).min(b.len())).unwrap_or_default().to_vec();
                    let at = c.min(b.len());
                    b.splice(at..at, chunk);
                }
            }
            let _ = import(&b, &ImportOptions::default());
            let _ = decode_tensor(&b);
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(11);
    for _ in 0..2000 {
        let len = rng.below(256);
        let b: Vec<u8> = (0..len)
            .map(|_| u8::try_from(rng.below(256)).unwrap_or(0))
            .collect();
        let _ = import(&b, &ImportOptions::default());
        let _ = decode_tensor(&b);
    }
}
