//! The development zk path of a local network: an INSECURE local powers-of-tau, the Groth16
//! setup with one contribution, and the verifier exported, compiled (solcjs) and deployed.
//! `vouch zk deploy-verifier` deploys through [`deploy_verifier`] too.

use eyre::{Result, WrapErr, bail};
use std::path::{Path, PathBuf};
use std::time::Instant;
use vouch_chain::System;
use vouch_chain::alloy::primitives::{Address, B256};
use vouch_chain::zk::VerifierInfo;
use vouch_model::Package;
use vouch_primitives::hex0x;
use vouch_zk::files::read_keys_vk;
use vouch_zk_prover::{circuit, groth, phase2, ptau, task};

/// The Solidity verifier of `vk` for `pkg` (what `vouch zk export-verifier` writes).
pub fn verifier_source(
    pkg: &Package,
    vk: &vouch_zk::groth16::VerifyingKey,
    contract: &str,
) -> Result<String> {
    let engine = vouch_engine::Engine::new(pkg, vouch_engine::Options::default())?;
    let exec = engine.run(circuit::zero_inputs(pkg))?;
    let meta = vouch_zk::solidity::Meta {
        contract: contract.to_owned(),
        model: pkg.name.clone(),
        weights_root: pkg.weights_root(),
        output_sizes: exec.outputs.iter().map(|t| t.data.len()).collect(),
    };
    Ok(vouch_zk::solidity::render(vk, &meta))
}

/// Exports the verifier of a keys file (bytes) for `pkg`, compiles it with solcjs and deploys
/// it with `sys`'s key.
pub async fn deploy_verifier(
    sys: &System,
    pkg: &Package,
    keys: &[u8],
    contract: &str,
) -> Result<(VerifierInfo, String)> {
    let (vk, _) = read_keys_vk(keys)?;
    let src = verifier_source(pkg, &vk, contract)?;
    let contract = contract.to_owned();
    let src2 = src.clone();
    let code =
        tokio::task::spawn_blocking(move || vouch_chain::zk::compile_solidity(&src2, &contract))
            .await
            .wrap_err("the compiler task failed")??;
    let addr = sys.deploy_verifier(code).await?;
    let info = sys.verifier_info(addr).await?;
    if info.vk_hash != B256::from(vk.hash()) {
        bail!("the deployed verifier reports another verifying key hash");
    }
    Ok((info, src))
}

/// Local development zk setup of `pkg`, in `work_dir`: an INSECURE local powers-of-tau of the
/// circuit's size (reused if present), the keys with one contribution (reused when
/// `<work_dir>/<cid>.zkkeys` exists for this package), the verifier exported, compiled and
/// deployed with `sys`'s key. Reports progress to `note`; returns the verifier address and the keys file.
pub async fn setup_and_deploy_zk(
    sys: &System,
    pkg: &Package,
    work_dir: &Path,
    note: fn(&str),
) -> Result<(Address, PathBuf)> {
    std::fs::create_dir_all(work_dir)
        .wrap_err_with(|| format!("cannot create {}", work_dir.display()))?;
    let keys_path = work_dir.join(format!("{}.zkkeys", pkg.cid()));
    let t = Instant::now();
    let keys = match std::fs::read(&keys_path) {
        Ok(b) if task::read_keys(pkg, &b).is_ok() => {
            note(&format!("zk: reusing keys {}", keys_path.display()));
            b
        }
        _ => {
            let pkg2 = pkg.clone();
            let dir = work_dir.to_path_buf();
            let kp = keys_path.clone();
            tokio::task::spawn_blocking(move || dev_setup(&pkg2, &dir, &kp, note))
                .await
                .wrap_err("the zk setup task failed")??
        }
    };
    note(&format!(
        "zk: compiling and deploying the verifier ({:.1} s so far)",
        t.elapsed().as_secs_f64()
    ));
    let (info, _) = deploy_verifier(sys, pkg, &keys, "VouchZkVerifier").await?;
    note(&format!(
        "zk: verifier {} (vk hash {}) in {:.1} s",
        info.address,
        hex0x(info.vk_hash.as_slice()),
        t.elapsed().as_secs_f64()
    ));
    Ok((info.address, keys_path))
}

/// Insecure local ptau + setup + one contribution; writes and returns the keys file.
fn dev_setup(pkg: &Package, dir: &Path, keys_path: &Path, note: fn(&str)) -> Result<Vec<u8>> {
    let t = Instant::now();
    let c0 = circuit::build(pkg, circuit::zero_inputs(pkg))?;
    let log_n = groth::domain_log(&c0.cs);
    let ptau_path = dir.join(format!("insecure-{log_n}.ptau"));
    let ptau_bytes = match std::fs::read(&ptau_path) {
        Ok(b) => b,
        Err(_) => {
            note(&format!(
                "zk: generating an INSECURE local powers-of-tau 2^{log_n} (development only)"
            ));
            let b = ptau::insecure_new(log_n, &|_| {})?;
            crate::write_atomic(&ptau_path, &b)?;
            b
        }
    };
    note(&format!(
        "zk: setup for {} constraints (domain 2^{log_n}) after {:.1} s",
        c0.cs.num_constraints(),
        t.elapsed().as_secs_f64()
    ));
    let srs = ptau::Ptau::parse(&ptau_bytes)?.srs(log_n)?;
    let pk = groth::setup(&c0.cs, &srs, &|_| {})?;
    let mut keys = phase2::Keys {
        package_cid: pkg.cid().to_bytes().to_vec(),
        pk,
        contributions: Vec::new(),
    };
    phase2::contribute(&mut keys, &mut rand::rngs::OsRng);
    let bytes = phase2::to_bytes(&keys);
    crate::write_atomic(keys_path, &bytes)?;
    note(&format!(
        "zk: keys {} written after {:.1} s",
        keys_path.display(),
        t.elapsed().as_secs_f64()
    ));
    Ok(bytes)
}
