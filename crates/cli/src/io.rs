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

/// Reads the inputs of `pkg` from a JSON object, in package order (`null` is a missing value
/// where the package handles one).
pub fn package_inputs(pkg: &Package, v: &Value) -> Result<Vec<FTensor>> {
    Ok(vouch_task::codec::package_inputs_from_json(pkg, v)?)
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
