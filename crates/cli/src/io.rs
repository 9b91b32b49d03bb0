//! JSON inputs and outputs, and package files.

use eyre::{Result, WrapErr, bail, eyre};
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

/// Flattens a nested JSON array of numbers into a shape and row-major data.
pub fn nested_to_tensor(name: &str, v: &Value) -> Result<FTensor> {
    let mut shape = Vec::new();
    let mut cur = v;
    while let Value::Array(a) = cur {
        shape.push(a.len());
        match a.first() {
            Some(first) => cur = first,
            None => break,
        }
    }
    if shape.is_empty() {
        bail!(
            "input {name:?} must be a nested array (rows = batch), got {}",
            kind(v)
        );
    }
    let mut data = Vec::new();
    flatten(name, v, &shape, 0, &mut data)?;
    Ok(FTensor { shape, data })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn flatten(name: &str, v: &Value, shape: &[usize], depth: usize, out: &mut Vec<f32>) -> Result<()> {
    match (v, shape.get(depth)) {
        (Value::Array(a), Some(&n)) => {
            if a.len() != n {
                bail!(
                    "input {name:?} is ragged: an array at depth {depth} has {} elements, expected {n}",
                    a.len()
                );
            }
            a.iter()
                .try_for_each(|x| flatten(name, x, shape, depth + 1, out))
        }
        (Value::Number(x), None) => {
            let f = x
                .as_f64()
                .ok_or_else(|| eyre!("input {name:?}: {x} is not a finite number"))?;
            if !f.is_finite() {
                bail!("input {name:?}: {x} is not a finite number");
            }
            out.push(f as f32);
            Ok(())
        }
        (other, _) => bail!(
            "input {name:?}: unexpected {} at depth {depth}",
            kind(other)
        ),
    }
}

/// Reads the inputs named `names` from a JSON object, in that order.
pub fn inputs_from_json(v: &Value, names: &[&str]) -> Result<Vec<FTensor>> {
    let obj = v
        .as_object()
        .ok_or_else(|| eyre!("inputs must be a JSON object mapping input names to arrays"))?;
    for key in obj.keys() {
        if !names.contains(&key.as_str()) {
            bail!("unknown input {key:?}; the model's inputs are {names:?}");
        }
    }
    names
        .iter()
        .map(|n| {
            let v = obj
                .get(*n)
                .ok_or_else(|| eyre!("missing input {n:?}; the model's inputs are {names:?}"))?;
            nested_to_tensor(n, v)
        })
        .collect()
}

/// Turns flat data and a shape into nested JSON arrays.
pub fn tensor_to_nested(shape: &[usize], data: &[f64]) -> Value {
    fn rec(shape: &[usize], data: &[f64]) -> Value {
        match shape.split_first() {
            None => data.first().map_or(Value::Null, |&x| {
                serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
            }),
            Some((&n, rest)) => {
                let step: usize = rest.iter().product();
                Value::Array(
                    (0..n)
                        .map(|i| rec(rest, &data[i * step..(i + 1) * step]))
                        .collect(),
                )
            }
        }
    }
    rec(shape, data)
}

/// Reads and validates a package file.
pub fn read_package(path: &Path) -> Result<Package> {
    let bytes =
        std::fs::read(path).wrap_err_with(|| format!("cannot read package {}", path.display()))?;
    Package::from_bytes(&bytes)
        .wrap_err_with(|| format!("{} is not a valid vouch package", path.display()))
}

/// Writes `bytes` to `path` atomically (temporary file, sync, rename), so a failure (a full
/// disk) never leaves a truncated file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("vouch-tmp");
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).wrap_err_with(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}
