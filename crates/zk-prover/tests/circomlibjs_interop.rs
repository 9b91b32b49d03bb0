//! vouch's Poseidon against circomlibjs (npm, pinned in `interop/package-lock.json`, installed
//! by `scripts/bootstrap-interop.sh`, which this test calls):
//!
//! - the round constants and MDS matrices vouch derives with the Grain LFSR equal circomlib's
//!   `poseidon_constants.json` for both widths vouch uses;
//! - circomlibjs's `poseidon(block, initState)`, chained as the commitment rule says, gives
//!   vouch's hash on messages of every length around the block boundaries, with small and
//!   full-size field elements, and the width-3 and width-9 instances;
//! - the in-circuit hash equals both (the circuit tests check the gadget against `sponge`).
//!
//! Needs node and npm: without them the test fails and says so (it does not skip).
#![allow(clippy::print_stderr)]

mod common;

use ark_ff::{BigInteger, PrimeField};
use vouch_zk::Fr;
use vouch_zk::poseidon::{self, Width};

fn dec(f: &Fr) -> String {
    f.into_bigint().to_string()
}

fn from_hex(s: &str) -> Fr {
    let s = s.trim_start_matches("0x");
    let s = if s.len() % 2 == 1 {
        format!("0{s}")
    } else {
        s.to_owned()
    };
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    let f = Fr::from_be_bytes_mod_order(&bytes);
    // Every constant circomlib publishes is a canonical field element.
    assert_eq!(f.into_bigint().to_bytes_be().len(), 32);
    f
}

#[test]
fn the_constants_are_circomlibs() {
    let nm = vouch_testkit::interop::node_modules();
    let path = nm.join("circomlibjs/src/poseidon_constants.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for w in [Width::T3, Width::T9] {
        let t = w.width();
        let p = poseidon::params(w);
        // circomlib indexes its tables by t - 2.
        let c: Vec<Fr> = json["C"][t - 2]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| from_hex(v.as_str().unwrap()))
            .collect();
        let ours: Vec<Fr> = p.rc.iter().flatten().copied().collect();
        assert_eq!(ours.len(), c.len(), "{w:?}: round-constant count");
        for (i, (a, b)) in ours.iter().zip(&c).enumerate() {
            assert_eq!(a, b, "{w:?}: round constant {i}");
        }
        let m = json["M"][t - 2].as_array().unwrap();
        assert_eq!(m.len(), t, "{w:?}: MDS rows");
        for (i, row) in m.iter().enumerate() {
            for (j, v) in row.as_array().unwrap().iter().enumerate() {
                assert_eq!(
                    p.mds[i][j],
                    from_hex(v.as_str().unwrap()),
                    "{w:?}: M[{i}][{j}]"
                );
            }
        }
    }
}

#[test]
fn circomlibjs_hashes_what_vouch_hashes() {
    let nm = vouch_testkit::interop::node_modules();
    // Messages: every length around one and two blocks, small values, values near the modulus
    // and pseudo-random full-size elements; tags as the input commitments set them (length,
    // 2^62 and 2^63 flags).
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut cases: Vec<(Width, u64, Vec<Fr>)> = Vec::new();
    for w in [Width::T3, Width::T9] {
        for len in [
            0,
            1,
            w.rate() - 1,
            w.rate(),
            w.rate() + 1,
            2 * w.rate() + 1,
            53,
        ] {
            let msg: Vec<Fr> = (0..len)
                .map(|i| match i % 3 {
                    0 => Fr::from(i as u64),
                    1 => -Fr::from(i as u64 + 1),
                    _ => {
                        let words: Vec<u8> = (0..4).flat_map(|_| next().to_le_bytes()).collect();
                        Fr::from_le_bytes_mod_order(&words)
                    }
                })
                .collect();
            for tag in [len as u64, len as u64 | 1 << 62, len as u64 | 1 << 63] {
                cases.push((w, tag, msg.clone()));
            }
        }
    }
    let json = serde_json::Value::Array(
        cases
            .iter()
            .map(|(w, tag, msg)| {
                serde_json::json!({
                    "width": w.width(),
                    "tag": tag.to_string(),
                    "msg": msg.iter().map(dec).collect::<Vec<_>>(),
                })
            })
            .collect(),
    );
    let dir = std::env::temp_dir().join(format!("vouch-circomlibjs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cases.json");
    std::fs::write(&file, json.to_string()).unwrap();
    let script = common::root().join("interop/circomlibjs-poseidon.cjs");
    let (ok, text) = vouch_testkit::interop::run_node(
        &script,
        &[nm.as_os_str(), file.as_os_str()],
        &common::root(),
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), cases.len(), "{text}");
    for ((w, tag, msg), line) in cases.iter().zip(&lines) {
        assert_eq!(
            dec(&poseidon::sponge(*w, msg, *tag)),
            *line,
            "{w:?}, {} elements, tag {tag}",
            msg.len()
        );
    }
    // The anchor every circom user knows: Poseidon(2) of [1, 2].
    assert_eq!(
        dec(&poseidon::compress(
            Width::T3,
            Fr::from(0u8),
            &[Fr::from(1u8), Fr::from(2u8)]
        )),
        "7853200120776062878684798364095072458815029376092732009249414926327459813530"
    );
}
