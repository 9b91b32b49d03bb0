//! JSON inputs and outputs, and package files.

use eyre::{Result, WrapErr};
use serde_json::Value;
use std::path::Path;
use vouch_model::Package;
use vouch_quant::FTensor;

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).wrap_err_with(|| format!("{} is not valid JSON", path.display()))
}

/// Reads the inputs named `names` from a JSON object, in that order.
pub fn inputs_from_json(v: &Value, names: &[&str]) -> Result<Vec<FTensor>> {
    Ok(vouch_quant::json::inputs_from_json(v, names)?)
}

pub use vouch_quant::json::tensor_to_nested;

/// Reads and validates a package file.
pub fn read_package(path: &Path) -> Result<Package> {
    let bytes =
        std::fs::read(path).wrap_err_with(|| format!("cannot read package {}", path.display()))?;
    Package::from_bytes(&bytes)
        .wrap_err_with(|| format!("{} is not a valid vouch package", path.display()))
}

pub use vouch_localnet::write_atomic;
