//! The JSON tensor format shared by calibration samples, inference inputs and outputs: an
//! object mapping each tensor name to a nested array whose first axis is the batch. `null` is
//! a missing value (NaN), read only for an input whose model handles one
//! ([`inputs_from_json_missing`]).

use super::{FTensor, InputError};
use serde_json::Value;

type Result<T> = core::result::Result<T, InputError>;

fn bad(name: &str, reason: String) -> InputError {
    InputError {
        name: name.to_owned(),
        reason,
    }
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

/// Flattens a nested JSON array of numbers into a shape and row-major data.
pub fn nested_to_tensor(name: &str, v: &Value) -> Result<FTensor> {
    nested_to_tensor_in(name, v, false)
}

/// [`nested_to_tensor`], reading `null` as a missing value (NaN) when `missing` is set.
fn nested_to_tensor_in(name: &str, v: &Value, missing: bool) -> Result<FTensor> {
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
        return Err(bad(
            name,
            format!("must be a nested array (rows = batch), got {}", kind(v)),
        ));
    }
    let mut data = Vec::new();
    flatten(name, v, &shape, 0, missing, &mut data)?;
    Ok(FTensor { shape, data })
}

fn flatten(
    name: &str,
    v: &Value,
    shape: &[usize],
    depth: usize,
    missing: bool,
    out: &mut Vec<f32>,
) -> Result<()> {
    match (v, shape.get(depth)) {
        (Value::Array(a), Some(&n)) => {
            if a.len() != n {
                return Err(bad(
                    name,
                    format!(
                        "ragged: an array at depth {depth} has {} elements, expected {n}",
                        a.len()
                    ),
                ));
            }
            a.iter()
                .try_for_each(|x| flatten(name, x, shape, depth + 1, missing, out))
        }
        (Value::Number(x), None) => match x.as_f64() {
            Some(f) if f.is_finite() && f.abs() <= f64::from(f32::MAX) => {
                out.push(f as f32);
                Ok(())
            }
            _ => Err(bad(name, format!("{x} is not a finite f32 number"))),
        },
        (Value::Null, None) if missing => {
            out.push(f32::NAN);
            Ok(())
        }
        (Value::Null, None) => Err(bad(
            name,
            "null (a missing value) where the model has no missing-value handling (an \
             ai.onnx.ml Imputer on the input, or tree ensembles reading it)"
                .into(),
        )),
        (other, _) => Err(bad(
            name,
            format!("unexpected {} at depth {depth}", kind(other)),
        )),
    }
}

/// Reads the tensors named `names` from a JSON object, in that order; unknown keys are errors.
pub fn inputs_from_json(v: &Value, names: &[&str]) -> Result<Vec<FTensor>> {
    inputs_from_json_missing(v, names, &[])
}

/// [`inputs_from_json`] where `null` is a missing value (NaN) in each input whose `missing`
/// flag is set (it has an imputation, or tree ensembles read it: `docs/semantics.md`
/// section 5); a `null` anywhere else is refused, naming the input.
pub fn inputs_from_json_missing(
    v: &Value,
    names: &[&str],
    missing: &[bool],
) -> Result<Vec<FTensor>> {
    let obj = v.as_object().ok_or_else(|| {
        bad(
            "<inputs>",
            "must be a JSON object mapping input names to arrays".into(),
        )
    })?;
    if let Some(key) = obj.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(bad(
            key,
            format!("unknown input; the model's inputs are {names:?}"),
        ));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let v = obj
                .get(*n)
                .ok_or_else(|| bad(n, format!("missing; the model's inputs are {names:?}")))?;
            nested_to_tensor_in(n, v, missing.get(i).copied().unwrap_or(false))
        })
        .collect()
}

/// Turns flat data and a shape into nested JSON arrays.
pub fn tensor_to_nested(shape: &[usize], data: &[f64]) -> Value {
    match shape.split_first() {
        None => data.first().map_or(Value::Null, |&x| {
            serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
        }),
        Some((&n, rest)) => {
            let step: usize = rest.iter().product();
            Value::Array(
                (0..n)
                    .map(|i| {
                        tensor_to_nested(rest, data.get(i * step..(i + 1) * step).unwrap_or(&[]))
                    })
                    .collect(),
            )
        }
    }
}
