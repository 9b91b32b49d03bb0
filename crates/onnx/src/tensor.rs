//! Constant tensors during import: decoding `TensorProto`s and folding constant subgraphs.

use crate::error::{Error, Result};
use crate::proto::{DataLocation, DataType, TensorProto};

/// Maximum number of elements of any tensor (constant or inferred shape).
pub(crate) const MAX_ELEMS: usize = 1 << 31;
/// Maximum number of elements a folded (derived) constant may have, beyond its inputs' sizes.
pub(crate) const MAX_FOLD_ELEMS: usize = 1 << 24;
/// Marks the symbolic batch size inside an integer shape tensor (`Shape` of a batched value).
pub(crate) const BATCH: i64 = i64::MIN;

/// A constant's elements.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    /// Floating-point types, converted to `f32`.
    F(Vec<f32>),
    /// Integer and boolean types, widened to `i64` ([`BATCH`] marks the symbolic batch size).
    I(Vec<i64>),
}

impl Data {
    pub(crate) fn len(&self) -> usize {
        match self {
            Data::F(v) => v.len(),
            Data::I(v) => v.len(),
        }
    }
}

/// A constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tensor {
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Data,
}

/// The product of `dims`, or `None` past [`MAX_ELEMS`].
pub(crate) fn numel(dims: &[usize]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMS)
}

fn tensor_err(name: &str, reason: impl Into<String>) -> Error {
    Error::Tensor {
        tensor: name.to_owned(),
        reason: reason.into(),
    }
}

fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exp = u32::from((bits >> 10) & 0x1f);
    let mant = u32::from(bits & 0x3ff);
    let out = match (exp, mant) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value = mant * 2^-24.
            let v = f32::from(u16::try_from(mant).unwrap_or(0)) * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, _) => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | ((exp + 112) << 23) | (mant << 13),
    };
    f32::from_bits(out)
}

fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

impl Tensor {
    /// A float tensor.
    pub(crate) fn f(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self {
            shape,
            data: Data::F(data),
        }
    }

    /// An integer tensor.
    pub(crate) fn i(shape: Vec<usize>, data: Vec<i64>) -> Self {
        Self {
            shape,
            data: Data::I(data),
        }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// Decodes a `TensorProto` (data embedded in the message).
    pub(crate) fn from_proto(t: &TensorProto) -> Result<Self> {
        let name = t.name.as_str();
        if t.data_location == DataLocation::External as i32 || !t.external_data.is_empty() {
            return Err(Error::ExternalData {
                tensor: name.to_owned(),
            });
        }
        let mut shape = Vec::with_capacity(t.dims.len());
        for &d in &t.dims {
            let d = usize::try_from(d)
                .map_err(|_| tensor_err(name, format!("negative dimension {d}")))?;
            shape.push(d);
        }
        let n = numel(&shape).ok_or_else(|| Error::TooLarge {
            tensor: name.to_owned(),
            limit: MAX_ELEMS,
        })?;
        let dt = DataType::try_from(t.data_type)
            .map_err(|_| tensor_err(name, format!("unknown data type {}", t.data_type)))?;
        let raw = &t.raw_data;
        let use_raw = !raw.is_empty() || n == 0;
        let check = |len: usize| -> Result<()> {
            if len == n {
                Ok(())
            } else {
                Err(tensor_err(
                    name,
                    format!("{len} elements stored for shape {shape:?} ({n} elements)"),
                ))
            }
        };
        let data = match dt {
            DataType::Float => {
                if use_raw {
                    Data::F(
                        raw_chunks::<4>(raw, n, name)?
                            .map(f32::from_le_bytes)
                            .collect(),
                    )
                } else {
                    check(t.float_data.len())?;
                    Data::F(t.float_data.clone())
                }
            }
            DataType::Double => {
                let v: Vec<f64> = if use_raw {
                    raw_chunks::<8>(raw, n, name)?
                        .map(f64::from_le_bytes)
                        .collect()
                } else {
                    check(t.double_data.len())?;
                    t.double_data.clone()
                };
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "f64 -> f32 rounding is intended"
                )]
                Data::F(v.into_iter().map(|x| x as f32).collect())
            }
            DataType::Float16 | DataType::Bfloat16 => {
                let conv = if dt == DataType::Float16 {
                    f16_to_f32
                } else {
                    bf16_to_f32
                };
                if use_raw {
                    Data::F(
                        raw_chunks::<2>(raw, n, name)?
                            .map(|b| conv(u16::from_le_bytes(b)))
                            .collect(),
                    )
                } else {
                    check(t.int32_data.len())?;
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "bit pattern in the low 16 bits"
                    )]
                    Data::F(t.int32_data.iter().map(|&b| conv(b as u16)).collect())
                }
            }
            DataType::Int8 | DataType::Uint8 | DataType::Bool => {
                if use_raw {
                    let v = raw_chunks::<1>(raw, n, name)?;
                    Data::I(if dt == DataType::Int8 {
                        v.map(|b| i64::from(i8::from_le_bytes(b))).collect()
                    } else {
                        v.map(|b| i64::from(b[0])).collect()
                    })
                } else {
                    check(t.int32_data.len())?;
                    Data::I(t.int32_data.iter().map(|&x| i64::from(x)).collect())
                }
            }
            DataType::Int16 | DataType::Uint16 => {
                if use_raw {
                    let v = raw_chunks::<2>(raw, n, name)?;
                    Data::I(if dt == DataType::Int16 {
                        v.map(|b| i64::from(i16::from_le_bytes(b))).collect()
                    } else {
                        v.map(|b| i64::from(u16::from_le_bytes(b))).collect()
                    })
                } else {
                    check(t.int32_data.len())?;
                    Data::I(t.int32_data.iter().map(|&x| i64::from(x)).collect())
                }
            }
            DataType::Int32 => {
                if use_raw {
                    Data::I(
                        raw_chunks::<4>(raw, n, name)?
                            .map(|b| i64::from(i32::from_le_bytes(b)))
                            .collect(),
                    )
                } else {
                    check(t.int32_data.len())?;
                    Data::I(t.int32_data.iter().map(|&x| i64::from(x)).collect())
                }
            }
            DataType::Int64 => {
                if use_raw {
                    Data::I(
                        raw_chunks::<8>(raw, n, name)?
                            .map(i64::from_le_bytes)
                            .collect(),
                    )
                } else {
                    check(t.int64_data.len())?;
                    Data::I(t.int64_data.clone())
                }
            }
            DataType::Uint32 | DataType::Uint64 => {
                let v: Vec<u64> = if use_raw {
                    if dt == DataType::Uint32 {
                        raw_chunks::<4>(raw, n, name)?
                            .map(|b| u64::from(u32::from_le_bytes(b)))
                            .collect()
                    } else {
                        raw_chunks::<8>(raw, n, name)?
                            .map(u64::from_le_bytes)
                            .collect()
                    }
                } else {
                    check(t.uint64_data.len())?;
                    t.uint64_data.clone()
                };
                let v = v
                    .into_iter()
                    .map(|x| {
                        i64::try_from(x).map_err(|_| tensor_err(name, "uint64 value out of range"))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Data::I(v)
            }
            DataType::Undefined | DataType::String | DataType::Complex64 | DataType::Complex128 => {
                return Err(tensor_err(name, format!("unsupported data type {dt:?}")));
            }
        };
        Ok(Self { shape, data })
    }

    /// The elements as `f32` (integers converted; the symbolic batch size is an error).
    pub(crate) fn to_f32(&self) -> Option<Vec<f32>> {
        match &self.data {
            Data::F(v) => Some(v.clone()),
            #[expect(
                clippy::cast_precision_loss,
                reason = "integer constants used as floats"
            )]
            Data::I(v) => v
                .iter()
                .map(|&x| (x != BATCH).then_some(x as f32))
                .collect(),
        }
    }

    /// The elements as `i64` (floats must be integral).
    pub(crate) fn to_i64(&self) -> Option<Vec<i64>> {
        match &self.data {
            Data::I(v) => Some(v.clone()),
            #[expect(
                clippy::cast_possible_truncation,
                reason = "checked integral and in range"
            )]
            Data::F(v) => v
                .iter()
                .map(|&x| (x.fract() == 0.0 && x.abs() < 9.0e18).then_some(x as i64))
                .collect(),
        }
    }

    /// Reinterprets the shape (same element count).
    pub(crate) fn reshaped(mut self, shape: Vec<usize>) -> Option<Self> {
        (numel(&shape) == Some(self.len())).then(|| {
            self.shape = shape;
            self
        })
    }

    /// Applies `f` to every element of each storage kind.
    fn map_data(&self, idx: &[usize]) -> Data {
        match &self.data {
            Data::F(v) => Data::F(idx.iter().filter_map(|&i| v.get(i).copied()).collect()),
            Data::I(v) => Data::I(idx.iter().filter_map(|&i| v.get(i).copied()).collect()),
        }
    }

    /// Permutes axes.
    pub(crate) fn transpose(&self, perm: &[usize]) -> Option<Self> {
        let rank = self.shape.len();
        if perm.len() != rank {
            return None;
        }
        let out_shape: Vec<usize> = perm
            .iter()
            .map(|&p| self.shape.get(p).copied())
            .collect::<Option<_>>()?;
        let in_strides = strides(&self.shape);
        let idx = gather_index(&out_shape, |pos| {
            pos.iter()
                .zip(perm)
                .map(|(&i, &p)| i * in_strides.get(p).copied().unwrap_or(0))
                .sum()
        })?;
        Some(Self {
            shape: out_shape,
            data: self.map_data(&idx),
        })
    }

    /// Concatenates along `axis`.
    pub(crate) fn concat(parts: &[Tensor], axis: usize) -> Option<Self> {
        let first = parts.first()?;
        let mut shape = first.shape.clone();
        let mut total = 0usize;
        let is_f = matches!(first.data, Data::F(_));
        for p in parts {
            if p.shape.len() != shape.len() || matches!(p.data, Data::F(_)) != is_f {
                return None;
            }
            for (a, (&x, &y)) in p.shape.iter().zip(&shape).enumerate() {
                if a != axis && x != y {
                    return None;
                }
            }
            total = total.checked_add(*p.shape.get(axis)?)?;
        }
        *shape.get_mut(axis)? = total;
        let largest = parts.iter().map(Tensor::len).max().unwrap_or(0);
        if numel(&shape)? > MAX_FOLD_ELEMS.max(largest) {
            return None;
        }
        let outer: usize = shape.iter().take(axis).product();
        let inner: usize = shape.iter().skip(axis + 1).product();
        let mut fv = Vec::new();
        let mut iv = Vec::new();
        for o in 0..outer {
            for p in parts {
                let chunk = p.shape.get(axis)? * inner;
                let range = o * chunk..(o + 1) * chunk;
                match &p.data {
                    Data::F(v) => fv.extend_from_slice(v.get(range)?),
                    Data::I(v) => iv.extend_from_slice(v.get(range)?),
                }
            }
        }
        Some(Self {
            shape,
            data: if is_f { Data::F(fv) } else { Data::I(iv) },
        })
    }

    /// `Gather` along `axis` with (already non-negative) indices of shape `idx_shape`.
    pub(crate) fn gather(&self, axis: usize, idx_shape: &[usize], idx: &[usize]) -> Option<Self> {
        let dim = *self.shape.get(axis)?;
        if idx.iter().any(|&i| i >= dim) {
            return None;
        }
        let outer: usize = self.shape.iter().take(axis).product();
        let inner: usize = self.shape.iter().skip(axis + 1).product();
        let mut shape: Vec<usize> = self.shape.iter().take(axis).copied().collect();
        shape.extend_from_slice(idx_shape);
        shape.extend(self.shape.iter().skip(axis + 1).copied());
        if numel(&shape)? > MAX_FOLD_ELEMS.max(self.len()) {
            return None;
        }
        let mut pos = Vec::with_capacity(numel(&shape)?);
        for o in 0..outer {
            for &i in idx {
                for k in 0..inner {
                    pos.push((o * dim + i) * inner + k);
                }
            }
        }
        Some(Self {
            shape,
            data: self.map_data(&pos),
        })
    }

    /// Numpy broadcasting to `target` as ONNX `Expand` does (the output shape is the broadcast
    /// of both shapes, so a target axis of 1 keeps the input's size). `None` when the shapes
    /// do not broadcast or the output would exceed `limit` elements (and the input's size).
    /// The output is written row by row (one allocation, the result's; no index per element),
    /// so a generated weight of any size the limit allows folds in its own memory.
    pub(crate) fn expanded(&self, target: &[usize], limit: usize) -> Option<Self> {
        let shape = broadcast_fixed(&self.shape, target)?;
        if numel(&shape)? > limit.max(self.len()) {
            return None;
        }
        let data = match &self.data {
            Data::F(v) => Data::F(broadcast_rows(v, &self.shape, &shape)?),
            Data::I(v) => Data::I(broadcast_rows(v, &self.shape, &shape)?),
        };
        Some(Self { shape, data })
    }

    /// Slices: for each `(axis, start, end, step)`, normalized per ONNX `Slice` rules.
    pub(crate) fn slice(&self, specs: &[(usize, i64, i64, i64)]) -> Option<Self> {
        if self.len() == 0 {
            return None;
        }
        let rank = self.shape.len();
        let mut ranges: Vec<Vec<usize>> = self.shape.iter().map(|&d| (0..d).collect()).collect();
        for &(axis, start, end, step) in specs {
            if step == 0 || axis >= rank {
                return None;
            }
            let sel = crate::lower::slice_indices(*self.shape.get(axis)?, start, end, step)?;
            *ranges.get_mut(axis)? = sel;
        }
        let shape: Vec<usize> = ranges.iter().map(Vec::len).collect();
        let in_strides = strides(&self.shape);
        let idx = gather_index(&shape, |pos| {
            pos.iter()
                .enumerate()
                .map(|(a, &i)| {
                    ranges.get(a).and_then(|r| r.get(i)).copied().unwrap_or(0)
                        * in_strides.get(a).copied().unwrap_or(0)
                })
                .sum()
        })?;
        Some(Self {
            shape,
            data: self.map_data(&idx),
        })
    }
}

/// Row-major strides of `shape`.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        let next = s.get(a + 1).copied().unwrap_or(1) * shape.get(a + 1).copied().unwrap_or(1);
        if let Some(x) = s.get_mut(a) {
            *x = next;
        }
    }
    s
}

/// For every position of `shape` in row-major order, `f(position)`.
fn gather_index(shape: &[usize], f: impl Fn(&[usize]) -> usize) -> Option<Vec<usize>> {
    let n = numel(shape)?;
    let mut out = Vec::with_capacity(n);
    let mut pos = vec![0usize; shape.len()];
    for _ in 0..n {
        out.push(f(&pos));
        for a in (0..shape.len()).rev() {
            let (Some(p), Some(&d)) = (pos.get_mut(a), shape.get(a)) else {
                break;
            };
            *p += 1;
            if *p < d {
                break;
            }
            *p = 0;
        }
    }
    Some(out)
}

fn raw_chunks<'a, const W: usize>(
    raw: &'a [u8],
    n: usize,
    name: &str,
) -> Result<impl Iterator<Item = [u8; W]> + 'a> {
    if Some(raw.len()) != n.checked_mul(W) {
        return Err(tensor_err(
            name,
            format!(
                "raw_data has {} bytes, expected {n} elements of {W} bytes",
                raw.len()
            ),
        ));
    }
    Ok(raw.chunks_exact(W).map(|c| {
        let mut a = [0u8; W];
        a.copy_from_slice(c);
        a
    }))
}

/// Numpy broadcasting of two fixed shapes.
pub(crate) fn broadcast_fixed(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= rank {
            a.get(i + a.len() - rank).copied()?
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b.get(i + b.len() - rank).copied()?
        } else {
            1
        };
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Element index into a broadcast operand of shape `s` for each output position of `out`.
pub(crate) fn broadcast_index(s: &[usize], out: &[usize]) -> Option<Vec<usize>> {
    let rank = out.len();
    let st = strides(s);
    gather_index(out, |pos| {
        let mut i = 0;
        for (a, (&d, &stride)) in s.iter().zip(&st).enumerate() {
            let p = pos.get(a + rank - s.len()).copied().unwrap_or(0);
            if d != 1 {
                i += p * stride;
            }
        }
        i
    })
}

/// `v` (of shape `s`) broadcast to `out` (a broadcast of `s`), written one row of the last
/// axis at a time: a copied run of the source row, or one value repeated along a broadcast
/// axis. The same elements as gathering through [`broadcast_index`], without its index.
fn broadcast_rows<T: Copy>(v: &[T], s: &[usize], out: &[usize]) -> Option<Vec<T>> {
    let n = numel(out)?;
    let rank = out.len();
    let pad = rank.checked_sub(s.len())?;
    let sp: Vec<usize> = (0..rank)
        .map(|a| {
            a.checked_sub(pad)
                .map_or(1, |i| s.get(i).copied().unwrap_or(1))
        })
        .collect();
    let st = strides(&sp);
    let Some((&last, outer)) = out.split_last() else {
        return v.first().map(|&x| vec![x]);
    };
    let mut res = Vec::with_capacity(n);
    if n == 0 {
        return Some(res);
    }
    let repeat = sp.last().copied() == Some(1);
    let mut pos = vec![0usize; outer.len()];
    for _ in 0..n / last {
        let base: usize = pos
            .iter()
            .zip(sp.iter().zip(&st))
            .map(|(&p, (&d, &stride))| if d == 1 { 0 } else { p * stride })
            .sum();
        if repeat {
            res.extend(std::iter::repeat_n(*v.get(base)?, last));
        } else {
            res.extend_from_slice(v.get(base..base.checked_add(last)?)?);
        }
        for (p, &d) in pos.iter_mut().zip(outer).rev() {
            *p += 1;
            if *p < d {
                break;
            }
            *p = 0;
        }
    }
    Some(res)
}

/// Integers as a message shows them: the symbolic batch size ([`BATCH`]) as `N`, never as
/// the marker's value.
pub(crate) fn show_ints(v: &[i64]) -> String {
    let parts: Vec<String> = v
        .iter()
        .map(|&x| {
            if x == BATCH {
                "N".to_owned()
            } else {
                x.to_string()
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Elementwise binary op on constants with numpy broadcasting.
pub(crate) fn fold_binary(
    a: &Tensor,
    b: &Tensor,
    ff: impl Fn(f32, f32) -> f32,
    fi: impl Fn(i64, i64) -> Option<i64>,
) -> Option<Tensor> {
    let shape = broadcast_fixed(&a.shape, &b.shape)?;
    if numel(&shape)? > MAX_FOLD_ELEMS.max(a.len()).max(b.len()) {
        return None;
    }
    let ia = broadcast_index(&a.shape, &shape)?;
    let ib = broadcast_index(&b.shape, &shape)?;
    match (&a.data, &b.data) {
        (Data::I(x), Data::I(y)) => {
            let v = ia
                .iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    let (p, q) = (*x.get(i)?, *y.get(j)?);
                    if p == BATCH || q == BATCH {
                        None
                    } else {
                        fi(p, q)
                    }
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Tensor::i(shape, v))
        }
        _ => {
            let (x, y) = (a.to_f32()?, b.to_f32()?);
            let v = ia
                .iter()
                .zip(&ib)
                .map(|(&i, &j)| Some(ff(*x.get(i)?, *y.get(j)?)))
                .collect::<Option<Vec<_>>>()?;
            Some(Tensor::f(shape, v))
        }
    }
}
