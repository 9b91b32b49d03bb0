//! The shapes of graph inputs: the sizes the ONNX file declares, the batch axis, the sizes the
//! caller binds to the other symbolic dimensions ([`ImportOptions::shapes`], then
//! [`ImportOptions::sample_shapes`], then a `dim_param` bound on another input), and the
//! reading of a batch fixed at 1 as the rows axis ([`BatchAxis`]).
//!
//! Axis 0 of an input is its batch axis when it is symbolic (a `dim_param`, `0`, `-1` or no
//! value): [`Dim::Batch`], whatever size a binding gives there. Any other symbolic axis must be
//! bound to a size; the package is then fixed at that size.

use std::collections::HashMap;

use crate::ImportOptions;
use crate::error::{Error, Result};
use crate::graph::{BatchAxis, Dim};
use crate::import::dims_numel;
use crate::proto::tensor_shape_proto::dimension::Value as DimValue;
use crate::proto::{ValueInfoProto, type_proto};
use crate::tensor::MAX_ELEMS;

/// One axis as the ONNX file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Declared {
    /// A positive `dim_value`.
    Fixed(usize),
    /// A `dim_param` name.
    Param(String),
    /// No value, or a `dim_value` of `0` or below.
    Unknown,
}

/// The ONNX name of a tensor element type (`TensorProto.DataType`).
pub(crate) fn type_name(t: i32) -> String {
    let name = match t {
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        14 => "complex64",
        15 => "complex128",
        16 => "bfloat16",
        _ => return format!("data type {t}"),
    };
    name.to_owned()
}

/// The declared axes of a float graph input.
fn declared(vi: &ValueInfoProto) -> Result<Vec<Declared>> {
    let err = |reason: String| Error::Input {
        name: vi.name.clone(),
        reason,
    };
    let Some(type_proto::Value::TensorType(tt)) = vi.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(err("not a tensor".to_owned()));
    };
    if !matches!(tt.elem_type, 1 | 10 | 11 | 16) {
        return Err(err(format!(
            "element type {} is not floating point (vouch reads float inputs only)",
            type_name(tt.elem_type)
        )));
    }
    let shape = tt
        .shape
        .as_ref()
        .ok_or_else(|| err("no shape".to_owned()))?;
    shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(DimValue::DimValue(n)) if *n > 0 => usize::try_from(*n)
                .ok()
                .filter(|&u| u <= MAX_ELEMS)
                .map(Declared::Fixed)
                .ok_or_else(|| err(format!("dimension {n} too large"))),
            Some(DimValue::DimParam(p)) if !p.is_empty() => Ok(Declared::Param(p.clone())),
            _ => Ok(Declared::Unknown),
        })
        .collect()
}

/// The declared shape as `--shape` spells it (`1x3xheightxwidth`), `?` for an unnamed axis.
fn spelled(decl: &[Declared]) -> String {
    decl.iter()
        .enumerate()
        .map(|(i, d)| match d {
            Declared::Fixed(n) => n.to_string(),
            _ if i == 0 => "1".to_owned(),
            Declared::Param(p) => p.clone(),
            Declared::Unknown => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join("x")
}

/// The shapes of the kept graph inputs `kept` (in order), given every graph input name of the
/// model (`all`, to check the names bindings use), and how the batch axis was read. With
/// `promote`, inputs whose axis 0 is all fixed at 1 get a [`Dim::Batch`] there.
pub(crate) fn input_shapes(
    kept: &[&ValueInfoProto],
    all: &[&str],
    opts: &ImportOptions,
    promote: bool,
) -> Result<(Vec<Vec<Dim>>, BatchAxis)> {
    for name in opts.shapes.keys() {
        if !all.contains(&name.as_str()) {
            return Err(Error::ShapeName {
                name: name.clone(),
                inputs: all.join(", "),
            });
        }
    }
    let decls: Vec<Vec<Declared>> = kept.iter().map(|vi| declared(vi)).collect::<Result<_>>()?;
    // explicit shapes: the rank and the fixed axes (after the batch axis) must agree
    for (vi, decl) in kept.iter().zip(&decls) {
        let Some(given) = opts.shapes.get(&vi.name) else {
            continue;
        };
        let bad = |reason: String| Error::Input {
            name: vi.name.clone(),
            reason,
        };
        if given.len() != decl.len() {
            return Err(bad(format!(
                "the shape given for it has {} axes, the model's ({}) {}",
                given.len(),
                spelled(decl),
                decl.len()
            )));
        }
        for (axis, (&g, d)) in given.iter().zip(decl).enumerate() {
            if g == 0 || g > MAX_ELEMS {
                return Err(bad(format!(
                    "the shape given for it has size {g} at axis {axis}"
                )));
            }
            if let Declared::Fixed(n) = d
                && axis > 0
                && *n != g
            {
                return Err(bad(format!(
                    "axis {axis} is {n} in the model, {g} in the shape given for it"
                )));
            }
        }
    }
    // a dim_param bound on one input binds it on every input (explicit shapes first)
    let mut params: HashMap<&str, usize> = HashMap::new();
    for source in [&opts.shapes, &opts.sample_shapes] {
        for (vi, decl) in kept.iter().zip(&decls) {
            let Some(given) = source.get(&vi.name).filter(|g| g.len() == decl.len()) else {
                continue;
            };
            for (d, &g) in decl.iter().zip(given).skip(1) {
                if let Declared::Param(p) = d
                    && g > 0
                {
                    params.entry(p.as_str()).or_insert(g);
                }
            }
        }
    }
    let mut shapes = Vec::with_capacity(kept.len());
    for (vi, decl) in kept.iter().zip(&decls) {
        let bound = |source: &std::collections::BTreeMap<String, Vec<usize>>, axis: usize| {
            source
                .get(&vi.name)
                .filter(|g| g.len() == decl.len())
                .and_then(|g| g.get(axis).copied())
                .filter(|&g| g > 0 && g <= MAX_ELEMS)
        };
        let mut dims = Vec::with_capacity(decl.len());
        for (axis, d) in decl.iter().enumerate() {
            dims.push(match d {
                Declared::Fixed(n) => Dim::Fixed(*n),
                _ if axis == 0 => Dim::Batch,
                _ => {
                    let by_param = match d {
                        Declared::Param(p) => params.get(p.as_str()).copied(),
                        _ => None,
                    };
                    let size = bound(&opts.shapes, axis)
                        .or_else(|| bound(&opts.sample_shapes, axis))
                        .or(by_param)
                        .ok_or_else(|| Error::UnboundDim {
                            input: vi.name.clone(),
                            axis,
                            param: match d {
                                Declared::Param(p) => format!("`{p}`"),
                                _ => "unnamed".to_owned(),
                            },
                            example: spelled(decl),
                        })?;
                    Dim::Fixed(size)
                }
            });
        }
        let one_row: Vec<Dim> = dims
            .iter()
            .map(|d| if *d == Dim::Batch { Dim::Fixed(1) } else { *d })
            .collect();
        if dims_numel(&one_row).is_none() {
            return Err(Error::TooLarge {
                tensor: vi.name.clone(),
                limit: MAX_ELEMS,
            });
        }
        shapes.push(dims);
    }
    let fixed_one = !shapes.is_empty()
        && shapes
            .iter()
            .all(|s: &Vec<Dim>| s.first() == Some(&Dim::Fixed(1)));
    if promote && fixed_one {
        for s in &mut shapes {
            if let Some(d) = s.first_mut() {
                *d = Dim::Batch;
            }
        }
        return Ok((shapes, BatchAxis::FixedOneAsRows));
    }
    Ok((shapes, BatchAxis::AsDeclared))
}
