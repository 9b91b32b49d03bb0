//! Never panic on outside bytes: hundreds of mutations of real packages go through
//! `Package::from_bytes`, and those that still decode are prepared and run. (The cargo-fuzz
//! target in `crates/model/fuzz` does the same without a bound.) A single-bit flip anywhere in
//! a package file is refused by its trailing digest.

use vouch_engine::vectors::Rng;
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::package::{DIGEST_BYTES, seal};
use vouch_model::{Dim, Package};
use vouch_quant::json::inputs_from_json;

fn package(model: &str) -> Vec<u8> {
    let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(model);
    let onnx = std::fs::read(d.join("model.onnx")).unwrap();
    let g = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let names: Vec<&str> = g
        .inputs
        .iter()
        .map(|&v| g.values[v].name.as_str())
        .collect();
    let cal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("calibration.json")).unwrap())
            .unwrap();
    let cal = inputs_from_json(&cal, &names).unwrap();
    vouch_quant::import(&g, cal, model, [0; 32], |_| {})
        .unwrap()
        .to_bytes()
}

fn exercise(bytes: &[u8]) -> bool {
    let Ok(pkg) = Package::from_bytes(bytes) else {
        return false;
    };
    let _ = pkg.weights_root();
    let Ok(engine) = Engine::new(
        &pkg,
        Options {
            threads: 1,
            trace: true,
        },
    ) else {
        return true;
    };
    let inputs = pkg
        .inputs
        .iter()
        .map(|i| {
            let shape = pkg.values[i.value as usize]
                .shape
                .iter()
                .map(|d| {
                    if let Dim::Fixed(n) = d {
                        (*n as usize).min(32)
                    } else {
                        2
                    }
                })
                .collect();
            Tensor::zeros(shape)
        })
        .collect();
    let _ = engine.run(inputs);
    true
}

#[test]
fn mutated_packages_never_panic() {
    let mut rng = Rng::new(7);
    let mut decoded = 0;
    for model in ["digits_mlp", "cnn_ops", "tree_gb_iris"] {
        let base = package(model);
        assert!(exercise(&base), "{model}: the unmutated package decodes");
        // mutate the contents and re-seal them, so the mutations reach the decoder and the
        // engine (an unsealed mutation stops at the digest: see the next test)
        let contents = &base[..base.len() - DIGEST_BYTES];
        for _ in 0..500 {
            let mut b = contents.to_vec();
            for _ in 0..1 + rng.next_u64() % 4 {
                let i = (rng.next_u64() as usize) % b.len();
                match rng.next_u64() % 4 {
                    0 => b[i] ^= 1 << (rng.next_u64() % 8),
                    1 => b[i] = rng.next_u64() as u8,
                    2 => b.truncate(i.max(10)),
                    _ => b.insert(i, rng.next_u64() as u8),
                }
            }
            decoded += usize::from(exercise(&seal(b)));
        }
    }
    // Some mutations must survive decoding, or the test exercises nothing past the parser.
    assert!(decoded > 100, "only {decoded} mutated packages decoded");
}

#[test]
fn corrupt_headers_are_clear_errors() {
    let base = package("digits_mlp");
    let e = Package::from_bytes(b"not a package")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a vouch package"), "{e}");
    let mut v = base.clone();
    v[9] = 9;
    assert!(
        Package::from_bytes(&v)
            .unwrap_err()
            .to_string()
            .contains("format version")
    );
    let mut t = base.clone();
    t.push(0);
    assert!(
        Package::from_bytes(&t)
            .unwrap_err()
            .to_string()
            .contains("corrupted package")
    );
    // a sealed file with bytes after the body
    let mut t = base[..base.len() - DIGEST_BYTES].to_vec();
    t.push(0);
    assert!(
        Package::from_bytes(&seal(t))
            .unwrap_err()
            .to_string()
            .contains("trailing")
    );
    let e = Package::from_bytes(&base[..20]).unwrap_err().to_string();
    assert!(e.contains("shorter than a header"), "{e}");
}

#[test]
fn single_bit_flips_of_a_package_are_refused_as_corrupted() {
    let base = package("digits_mlp");
    assert!(Package::from_bytes(&base).is_ok());
    // Every bit of the head and the tail (the digest), and 2000 bits drawn over the whole
    // file: each check hashes the whole package, so every bit of a 16-bit package (its
    // 65536-entry tables included) would hash terabytes.
    let n = base.len();
    let mut rng = Rng::new(11);
    let mut bits: Vec<(usize, u8)> = (0..64.min(n))
        .chain(n.saturating_sub(DIGEST_BYTES + 64)..n)
        .flat_map(|byte| (0..8).map(move |bit| (byte, bit)))
        .collect();
    bits.extend((0..2000).map(|_| ((rng.next_u64() as usize) % n, (rng.next_u64() % 8) as u8)));
    // the header's bits are refused as a bad magic or version; every later bit by the digest
    for &(byte, bit) in &bits {
        let mut b = base.clone();
        b[byte] ^= 1 << bit;
        let e = Package::from_bytes(&b).unwrap_err().to_string();
        if byte >= 10 {
            assert!(
                e.contains("corrupted package"),
                "byte {byte} bit {bit}: {e}"
            );
        }
    }
    assert!(bits.len() > 2000 + 8 * 64);
}
