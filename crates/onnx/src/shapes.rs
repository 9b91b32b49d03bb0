//! The shapes of graph inputs: the sizes the ONNX file declares, the batch axis, the sizes the
//! caller binds to the other symbolic dimensions ([`ImportOptions::shapes`], then
//! [`ImportOptions::sample_shapes`], then a `dim_param` bound on another input), and the
//! reading of a batch fixed at 1 as the rows axis ([`BatchAxis`]); the element types an input
//! may have (float, integer, boolean: [`integer_range`]) and an input bound to a constant
//! ([`bound_const`], [`ImportOptions::consts`]).
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
use crate::tensor::{MAX_ELEMS, Tensor};

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

/// The value range of an integer or boolean ONNX element type (inclusive), `None` for the
/// others (`uint64` is read up to `i64::MAX`).
pub(crate) const fn integer_range(elem_type: i32) -> Option<(i64, i64)> {
    Some(match elem_type {
        2 => (0, u8::MAX as i64),
        3 => (i8::MIN as i64, i8::MAX as i64),
        4 => (0, u16::MAX as i64),
        5 => (i16::MIN as i64, i16::MAX as i64),
        6 => (i32::MIN as i64, i32::MAX as i64),
        7 => (i64::MIN, i64::MAX),
        9 => (0, 1),
        12 => (0, u32::MAX as i64),
        13 => (0, i64::MAX),
        _ => return None,
    })
}

/// Whether an ONNX element type is floating point.
const fn is_float(elem_type: i32) -> bool {
    matches!(elem_type, 1 | 10 | 11 | 16)
}

/// The element type and declared axes of a graph input.
fn declared_typed(vi: &ValueInfoProto) -> Result<(i32, Vec<Declared>)> {
    let err = |reason: String| Error::Input {
        name: vi.name.clone(),
        reason,
    };
    let Some(type_proto::Value::TensorType(tt)) = vi.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(err("not a tensor".to_owned()));
    };
    if !is_float(tt.elem_type) && integer_range(tt.elem_type).is_none() {
        return Err(err(format!(
            "element type {} is neither a number nor a boolean (vouch reads float, integer \
             and boolean inputs)",
            type_name(tt.elem_type)
        )));
    }
    let shape = tt
        .shape
        .as_ref()
        .ok_or_else(|| err("no shape".to_owned()))?;
    let dims = shape
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
        .collect::<Result<_>>()?;
    Ok((tt.elem_type, dims))
}

/// The declared axes of a graph input (float, integer or boolean).
fn declared(vi: &ValueInfoProto) -> Result<Vec<Declared>> {
    declared_typed(vi).map(|(_, d)| d)
}

/// The integer range of graph input `vi` when its element type is integer or boolean
/// ([`integer_range`]).
pub(crate) fn input_integer_range(vi: &ValueInfoProto) -> Option<(i64, i64)> {
    let type_proto::Value::TensorType(tt) = vi.r#type.as_ref()?.value.as_ref()?;
    integer_range(tt.elem_type)
}

/// Graph input `vi` bound to a constant holding `values` ([`ImportOptions::consts`]): of the
/// input's element type (an integer type takes integers in its range only) and its declared
/// shape, one symbolic axis sized by the number of values.
pub(crate) fn bound_const(vi: &ValueInfoProto, values: &[f64]) -> Result<Tensor> {
    let err = |reason: String| Error::Input {
        name: vi.name.clone(),
        reason: format!("the constant bound to it: {reason}"),
    };
    let (elem, decl) = declared_typed(vi)?;
    let fixed: usize = decl
        .iter()
        .map(|d| match d {
            Declared::Fixed(n) => *n,
            _ => 1,
        })
        .product();
    let open = decl
        .iter()
        .filter(|d| !matches!(d, Declared::Fixed(_)))
        .count();
    let n = values.len();
    let shape: Vec<usize> = match open {
        0 if n == fixed => decl
            .iter()
            .map(|d| if let Declared::Fixed(k) = d { *k } else { 1 })
            .collect(),
        1 if n > 0 && n.is_multiple_of(fixed) => decl
            .iter()
            .map(|d| match d {
                Declared::Fixed(k) => *k,
                _ => n / fixed,
            })
            .collect(),
        _ => {
            return Err(err(format!(
                "{n} values do not fill its declared shape ({})",
                spelled(&decl)
            )));
        }
    };
    match integer_range(elem) {
        Some((lo, hi)) => {
            let ints = values
                .iter()
                .map(|&v| {
                    #[expect(clippy::cast_possible_truncation, reason = "checked to be exact")]
                    let i = v as i64;
                    #[expect(clippy::cast_precision_loss, reason = "an exactness check")]
                    let exact = v.is_finite() && i as f64 == v;
                    if exact && (lo..=hi).contains(&i) {
                        Ok(i)
                    } else {
                        Err(err(format!(
                            "{v} is not a {} value (integers {lo} to {hi})",
                            type_name(elem)
                        )))
                    }
                })
                .collect::<Result<Vec<i64>>>()?;
            Ok(Tensor::i(shape, ints))
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "float inputs are read as f32"
        )]
        None => Ok(Tensor::f(shape, values.iter().map(|&v| v as f32).collect())),
    }
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
    // dimensions bound by name must name a dim_param some kept input declares
    let declared_params: Vec<&str> = decls
        .iter()
        .flatten()
        .filter_map(|d| match d {
            Declared::Param(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    for (name, &size) in &opts.dims {
        let bad = |reason: String| {
            Err(Error::DimName {
                name: name.clone(),
                reason,
            })
        };
        if !declared_params.contains(&name.as_str()) {
            let mut params = declared_params.clone();
            params.sort_unstable();
            params.dedup();
            return bad(format!(
                "no graph input declares it (their symbolic dimensions: {})",
                if params.is_empty() {
                    "none".to_owned()
                } else {
                    params.join(", ")
                }
            ));
        }
        if size == 0 || size > MAX_ELEMS {
            return bad(format!("{size} is not from 1 to {MAX_ELEMS}"));
        }
    }
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
                Declared::Param(p) if opts.dims.contains_key(p) => {
                    Dim::Fixed(opts.dims.get(p).copied().unwrap_or(1))
                }
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
    // every input fixes axis 0 at 1, or is wholly fixed (a recurrent state of its own
    // layout, shared by the rows: `vouch_model::Package::shares_inputs`)
    let at_one = |s: &Vec<Dim>| s.first() == Some(&Dim::Fixed(1));
    let fixed_one =
        shapes.iter().any(at_one) && shapes.iter().all(|s| at_one(s) || !s.contains(&Dim::Batch));
    if promote && fixed_one {
        for s in shapes.iter_mut().filter(|s| at_one(s)) {
            if let Some(d) = s.first_mut() {
                *d = Dim::Batch;
            }
        }
        return Ok((shapes, BatchAxis::FixedOneAsRows));
    }
    Ok((shapes, BatchAxis::AsDeclared))
}
