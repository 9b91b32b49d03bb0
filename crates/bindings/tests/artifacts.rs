//! The committed artifacts are complete: every contract `scripts/gen-bindings.sh` writes is
//! bound, parses as an ABI and carries creation bytecode. (Staleness against the Solidity
//! sources is `scripts/check-bindings.sh`, which needs forge.)

use alloy::json_abi::JsonAbi;

#[test]
fn every_generated_artifact_is_bound_and_deployable() {
    let script = include_str!("../../../scripts/gen-bindings.sh");
    let generated: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| l.contains(".sol:"))
        .filter_map(|l| l.split(':').nth(1))
        .collect();
    let bound: Vec<&str> = vouch_bindings::ARTIFACTS.iter().map(|(n, _)| *n).collect();
    let mut a = generated.clone();
    let mut b = bound.clone();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(
        a, b,
        "scripts/gen-bindings.sh and ARTIFACTS list different contracts"
    );
    for (name, json) in vouch_bindings::ARTIFACTS {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let abi: JsonAbi = serde_json::from_value(v["abi"].clone()).unwrap();
        assert!(abi.functions().next().is_some(), "{name} has no functions");
        let code = v["bytecode"]["object"].as_str().unwrap();
        assert!(
            code.starts_with("0x") && code.len() > 100,
            "{name} has no bytecode"
        );
        assert!(!code.contains("__$"), "{name} needs library linking");
    }
}

#[test]
fn bytecode_constants_match_the_artifacts() {
    use vouch_bindings::task_manager::TaskManager;
    let json = vouch_bindings::ARTIFACTS
        .iter()
        .find(|(n, _)| *n == "TaskManager")
        .unwrap()
        .1;
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let hex = v["bytecode"]["object"].as_str().unwrap();
    assert_eq!(format!("{}", TaskManager::BYTECODE), hex);
}
