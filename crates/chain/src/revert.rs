//! Revert reasons decoded into plain text: custom errors of every vouch contract by name with
//! their arguments, `Error(string)` and `Panic(uint256)`.

use alloy::dyn_abi::{DynSolValue, JsonAbiExt};
use alloy::json_abi::{Error as AbiError, JsonAbi};
use alloy::primitives::{FixedBytes, hex};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Selector -> error, over every committed artifact.
fn table() -> &'static BTreeMap<FixedBytes<4>, AbiError> {
    static TABLE: OnceLock<BTreeMap<FixedBytes<4>, AbiError>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = BTreeMap::new();
        for (_, json) in vouch_bindings::ARTIFACTS {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
                continue;
            };
            let Some(abi) = v
                .get("abi")
                .and_then(|a| serde_json::from_value::<JsonAbi>(a.clone()).ok())
            else {
                continue;
            };
            for e in abi.errors() {
                t.entry(e.selector()).or_insert_with(|| e.clone());
            }
        }
        // The exported zk verifiers (`vouch zk export-verifier`) are generated, not artifacts;
        // TaskManager.submitZk passes their reverts through.
        for sig in ZK_VERIFIER_ERRORS {
            if let Ok(e) = AbiError::parse(sig) {
                t.entry(e.selector()).or_insert(e);
            }
        }
        t
    })
}

/// The custom errors of the exported zk verifier (`vouch_zk::solidity`).
const ZK_VERIFIER_ERRORS: [&str; 1] = ["error PrecompileFailed(address precompile)"];

/// Decodes revert data into `Name(arg, ...)`, `"message"` or `panic 0x..`; unknown data is
/// shown as hex.
pub fn decode(data: &[u8]) -> String {
    if data.is_empty() {
        return "no reason given".to_owned();
    }
    let (sel, args) = data.split_at(data.len().min(4));
    if let Ok(sel) = <[u8; 4]>::try_from(sel) {
        match sel {
            // Error(string)
            [0x08, 0xc3, 0x79, 0xa0] => {
                if let Ok(DynSolValue::String(s)) =
                    alloy::dyn_abi::DynSolType::String.abi_decode_params(args)
                {
                    return format!("\"{s}\"");
                }
            }
            // Panic(uint256)
            [0x4e, 0x48, 0x7b, 0x71] => {
                if let Ok(DynSolValue::Uint(code, _)) =
                    alloy::dyn_abi::DynSolType::Uint(256).abi_decode_params(args)
                {
                    return format!("panic 0x{code:x}");
                }
            }
            _ => {
                if let Some(err) = table().get(&FixedBytes(sel)) {
                    if let Ok(values) = err.abi_decode_input(args) {
                        let parts: Vec<String> = err
                            .inputs
                            .iter()
                            .zip(&values)
                            .map(|(p, v)| {
                                if p.name.is_empty() {
                                    fmt_value(v)
                                } else {
                                    format!("{}: {}", p.name, fmt_value(v))
                                }
                            })
                            .collect();
                        return format!("{}({})", err.name, parts.join(", "));
                    }
                    return err.name.clone();
                }
            }
        }
    }
    format!("unknown revert data 0x{}", hex::encode(data))
}

fn fmt_value(v: &DynSolValue) -> String {
    match v {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::Address(a) => a.to_string(),
        DynSolValue::FixedBytes(w, n) => format!("0x{}", hex::encode(&w[..*n])),
        DynSolValue::Bytes(b) => format!("0x{}", hex::encode(b)),
        DynSolValue::String(s) => format!("\"{s}\""),
        DynSolValue::Array(xs) | DynSolValue::FixedArray(xs) | DynSolValue::Tuple(xs) => {
            format!(
                "[{}]",
                xs.iter().map(fmt_value).collect::<Vec<_>>().join(", ")
            )
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError;
    use vouch_bindings::provider_staking::ProviderStaking::InsufficientFreeStake;

    #[test]
    fn custom_error_by_name_with_args() {
        let data = InsufficientFreeStake {
            free: alloy::primitives::U256::from(5),
            wanted: alloy::primitives::U256::from(7),
        }
        .abi_encode();
        assert_eq!(decode(&data), "InsufficientFreeStake(free: 5, wanted: 7)");
    }

    #[test]
    fn zk_verifier_error_by_name() {
        let data = crate::zk::IVouchZkVerifier::PrecompileFailed {
            precompile: alloy::primitives::Address::with_last_byte(8),
        }
        .abi_encode();
        assert_eq!(
            decode(&data),
            "PrecompileFailed(precompile: 0x0000000000000000000000000000000000000008)"
        );
    }

    #[test]
    fn error_string_and_unknown() {
        let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
        data.extend(DynSolValue::String("nope".into()).abi_encode_params());
        assert_eq!(decode(&data), "\"nope\"");
        assert_eq!(decode(&[1, 2, 3, 4]), "unknown revert data 0x01020304");
        assert_eq!(decode(&[]), "no reason given");
    }
}
