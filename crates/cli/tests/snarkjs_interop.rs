//! vouch against the real snarkjs (npm, pinned in `interop/package-lock.json`, installed by
//! `scripts/bootstrap-interop.sh`, which these tests call).
//!
//! - `vouch zk export-snarkjs` on the committed `testdata/proofs/v3/mlp_10_20_2` proof:
//!   `snarkjs groth16 verify` prints `OK!` and exits 0; with one public signal changed it
//!   fails; `vk_alphabeta_12` equals snarkjs's own pairing of `vk_alpha_1` and `vk_beta_2`; a
//!   proof from another key is refused and nothing is written.
//! - `vouch zk setup` on a raw snarkjs ptau (`powersoftau new` + `contribute`, no `prepare
//!   phase2`): the Lagrange points it computes equal those of `snarkjs powersoftau prepare
//!   phase2`, the keys prove, and snarkjs verifies the exported proof.
//!
//! Needs node and npm: without them the tests fail and say so (they do not skip).
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `snarkjs` command npm installs (`build/cli.cjs`); returns (success, output).
fn snarkjs(nm: &Path, args: &[&str], cwd: &Path) -> (bool, String) {
    vouch_testkit::interop::run_node(&nm.join("snarkjs/build/cli.cjs"), args, cwd)
}

/// Runs a `vouch` command line in-process.
fn vouch(args: &[&str]) -> eyre::Result<()> {
    use clap::Parser;
    let cli =
        vouch_cli::opts::Cli::try_parse_from(std::iter::once("vouch").chain(args.iter().copied()))?;
    vouch_cli::run(cli)
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// snarkjs accepts the exported proof, and rejects it once a public signal changes.
fn check_with_snarkjs(nm: &Path, dir: &Path) {
    let (ok, text) = snarkjs(
        nm,
        &[
            "groth16",
            "verify",
            "verification_key.json",
            "public.json",
            "proof.json",
        ],
        dir,
    );
    assert!(ok && text.contains("OK!"), "snarkjs rejected: {text}");

    let public = read_json(&dir.join("public.json"));
    let signals = public.as_array().unwrap();
    assert!(signals.len() >= 2);
    for i in [0, signals.len() - 1] {
        let mut changed = signals.clone();
        // Change the last decimal digit (the value stays below the field modulus).
        let mut digits = changed[i].as_str().unwrap().to_owned();
        let last = digits.pop().unwrap();
        digits.push(if last == '9' {
            '8'
        } else {
            char::from(last as u8 + 1)
        });
        changed[i] = serde_json::Value::String(digits);
        std::fs::write(
            dir.join("public_changed.json"),
            serde_json::to_vec(&changed).unwrap(),
        )
        .unwrap();
        let (ok, text) = snarkjs(
            nm,
            &[
                "groth16",
                "verify",
                "verification_key.json",
                "public_changed.json",
                "proof.json",
            ],
            dir,
        );
        assert!(
            !ok && text.contains("Invalid proof"),
            "snarkjs accepted a changed public signal {i}: {text}"
        );
    }
}

#[test]
fn committed_proof_verifies_in_snarkjs() {
    let nm = vouch_testkit::interop::node_modules();
    let v3 = repo().join("testdata/proofs/v3");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    vouch(&[
        "zk",
        "export-snarkjs",
        "--keys",
        &s(&v3.join("mlp_10_20_2.vk")),
        "--proof",
        &s(&v3.join("mlp_10_20_2.proof")),
        "--out-dir",
        &s(&dir),
    ])
    .unwrap();

    let vk = read_json(&dir.join("verification_key.json"));
    assert_eq!(vk["protocol"], "groth16");
    assert_eq!(vk["curve"], "bn128");
    let n_public = vk["nPublic"].as_u64().unwrap() as usize;
    assert_eq!(vk["IC"].as_array().unwrap().len(), n_public + 1);
    assert_eq!(
        read_json(&dir.join("public.json"))
            .as_array()
            .unwrap()
            .len(),
        n_public
    );
    let proof = read_json(&dir.join("proof.json"));
    assert_eq!(proof["protocol"], "groth16");
    assert_eq!(proof["pi_a"][2], "1");
    assert_eq!(proof["pi_b"][2], serde_json::json!(["1", "0"]));

    check_with_snarkjs(&nm, &dir);

    // vk_alphabeta_12 is e(alpha, beta) as snarkjs's curve library computes and prints it.
    let script = "import { buildBn128, utils } from 'ffjavascript';\n\
        import fs from 'fs';\n\
        const vk = utils.unstringifyBigInts(JSON.parse(fs.readFileSync(process.argv[1], 'utf8')));\n\
        const c = await buildBn128(true);\n\
        const e = c.pairing(c.G1.fromObject(vk.vk_alpha_1), c.G2.fromObject(vk.vk_beta_2));\n\
        console.log(JSON.stringify(utils.stringifyBigInts(c.Gt.toObject(e))));\n\
        process.exit(0);\n";
    let out = Command::new("node")
        .args(["--input-type=module", "-e", script])
        .arg(dir.join("verification_key.json"))
        .current_dir(nm.join(".."))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs, vk["vk_alphabeta_12"]);

    // A proof made for another key: refused, nothing written.
    let other = tmp.path().join("other");
    let err = vouch(&[
        "zk",
        "export-snarkjs",
        "--keys",
        &s(&v3.join("mlp_10_20_2.vk")),
        "--proof",
        &s(&v3.join("mlp_784_128_10.proof")),
        "--out-dir",
        &s(&other),
    ])
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("do not belong together"),
        "{err:#}"
    );
    assert!(!other.exists());

    // Not a key at all.
    let err = vouch(&[
        "zk",
        "export-snarkjs",
        "--keys",
        &s(&v3.join("mlp_10_20_2.proof")),
        "--out-dir",
        &s(&other),
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("neither a vouch keys file"));
}

/// The `mlp_10_20_2` fixture imported into `dir`; returns the package path and its domain.
fn fixture_package(dir: &Path) -> (PathBuf, u32) {
    let m = repo().join("testdata/models/mlp_10_20_2");
    let onnx = std::fs::read(m.join("model.onnx")).unwrap();
    let cal: serde_json::Value =
        serde_json::from_slice(&std::fs::read(m.join("calibration.json")).unwrap()).unwrap();
    let pkg = vouch_cli::cmd::model_import::import_bytes(&onnx, &cal, None, "mlp_10_20_2").unwrap();
    let path = dir.join("mlp_10_20_2.vpkg");
    std::fs::write(&path, pkg.to_bytes()).unwrap();
    let log_n = vouch_cli::cmd::zk::domain_log(&pkg).unwrap();
    (path, log_n)
}

/// A raw snarkjs ptau (`powersoftau new` + one `contribute`, no `prepare phase2`): `vouch zk
/// setup` computes its Lagrange bases, the keys equal those from the file snarkjs prepares
/// (`verify-setup` against it, and the phase-1 points compared), and prove, verify and
/// `snarkjs groth16 verify` pass. A ptau too small and a truncated one are refused.
#[test]
fn raw_snarkjs_ptau_sets_up_working_keys() {
    let nm = vouch_testkit::interop::node_modules();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (model, log_n) = fixture_package(dir);
    let power = log_n.max(10);
    eprintln!("mlp_10_20_2 needs 2^{log_n}; raw ptau of 2^{power}");
    let p = power.to_string();
    let (ok, text) = snarkjs(&nm, &["powersoftau", "new", "bn128", &p, "pot_0.ptau"], dir);
    assert!(ok, "{text}");
    let (ok, text) = snarkjs(
        &nm,
        &[
            "powersoftau",
            "contribute",
            "pot_0.ptau",
            "pot_raw.ptau",
            "--name=vouch test",
            "-e=vouch snarkjs interop test entropy",
        ],
        dir,
    );
    assert!(ok, "{text}");
    let raw = dir.join("pot_raw.ptau");
    let keys = dir.join("keys.vzk");
    vouch(&[
        "zk",
        "setup",
        "--model",
        &s(&model),
        "--ptau",
        &s(&raw),
        "--output",
        &s(&keys),
    ])
    .unwrap();

    // The same phase-1 points as snarkjs's own preparation.
    let (ok, text) = snarkjs(
        &nm,
        &[
            "powersoftau",
            "prepare",
            "phase2",
            "pot_raw.ptau",
            "pot_prep.ptau",
        ],
        dir,
    );
    assert!(ok, "{text}");
    let prep = dir.join("pot_prep.ptau");
    {
        use vouch_zk_prover::ptau::Ptau;
        let (rb, pb) = (std::fs::read(&raw).unwrap(), std::fs::read(&prep).unwrap());
        let (r, p) = (Ptau::parse(&rb).unwrap(), Ptau::parse(&pb).unwrap());
        assert!(!r.is_prepared() && p.is_prepared());
        for k in [1, log_n] {
            let (a, b) = (r.srs(k).unwrap(), p.srs(k).unwrap());
            assert!(a.lag_g1 == b.lag_g1, "[L_i(tau)]1, 2^{k}");
            assert!(a.lag_g2 == b.lag_g2, "[L_i(tau)]2, 2^{k}");
            assert!(a.alpha_lag_g1 == b.alpha_lag_g1, "[alpha L_i(tau)]1, 2^{k}");
            assert!(a.beta_lag_g1 == b.beta_lag_g1, "[beta L_i(tau)]1, 2^{k}");
            assert!(a.tau_g1 == b.tau_g1);
        }
    }
    vouch(&[
        "zk",
        "verify-setup",
        &s(&keys),
        "--ptau",
        &s(&prep),
        "--model",
        &s(&model),
    ])
    .unwrap();

    // The keys prove and verify, in vouch and in snarkjs.
    let proof = dir.join("row0.vzp");
    let input = repo().join("testdata/models/mlp_10_20_2/input.json");
    vouch(&[
        "zk",
        "prove",
        "--model",
        &s(&model),
        "--keys",
        &s(&keys),
        "--input",
        &s(&input),
        "--output",
        &s(&proof),
    ])
    .unwrap();
    vouch(&["zk", "verify", "--keys", &s(&keys), "--proof", &s(&proof)]).unwrap();
    let out = dir.join("snarkjs");
    vouch(&[
        "zk",
        "export-snarkjs",
        "--keys",
        &s(&keys),
        "--proof",
        &s(&proof),
        "--out-dir",
        &s(&out),
    ])
    .unwrap();
    check_with_snarkjs(&nm, &out);

    // A truncated file and one too small are refused with a reason.
    let cut = dir.join("cut.ptau");
    let bytes = std::fs::read(&raw).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let setup = |ptau: &Path| {
        vouch(&[
            "zk",
            "setup",
            "--model",
            &s(&model),
            "--ptau",
            &s(ptau),
            "--output",
            &s(&dir.join("bad.vzk")),
        ])
        .unwrap_err()
    };
    let e = format!("{:#}", setup(&cut));
    assert!(e.contains("runs past the end"), "{e}");
    let small = (log_n - 1).to_string();
    let (ok, text) = snarkjs(
        &nm,
        &["powersoftau", "new", "bn128", &small, "small.ptau"],
        dir,
    );
    assert!(ok, "{text}");
    let e = format!("{:#}", setup(&dir.join("small.ptau")));
    assert!(e.contains(&format!("needs a domain of 2^{log_n}")), "{e}");
}

/// `vouch zk ptau new` (the command, not only the library function behind it) writes a file
/// `snarkjs powersoftau verify` accepts.
#[test]
fn snarkjs_verifies_the_ptau_vouch_writes() {
    let nm = vouch_testkit::interop::node_modules();
    let dir = std::env::temp_dir().join(format!("vouch-cli-ptau-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("local.ptau");
    vouch(&[
        "zk",
        "ptau",
        "new",
        "--power",
        "5",
        "-o",
        out.to_str().unwrap(),
    ])
    .unwrap();
    let (ok, text) = snarkjs(&nm, &["powersoftau", "verify", "local.ptau"], &dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok && text.contains("Powers of Tau Ok!"), "{text}");
}
