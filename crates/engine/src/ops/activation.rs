//! Elementwise activations: `Relu`, `Clip`, `LeakyRelu`, `PRelu` and the table `Lut`
//! (Sigmoid, Tanh), on the unary and binary maps of [`super::elementwise`].

use super::elementwise::{Plain, binary, max_abs, par_map, unary};
use super::{NodeRun, SemResult};
use crate::Result;
use crate::tensor::{Tensor, broadcast_shape};
use vouch_semantics::{Error as SemError, Requant};

/// `T[X + n/2]` for an `n`-entry table ([`vouch_semantics::lut_index`]).
pub fn lut(x: &Tensor, table: &[i32]) -> SemResult<Tensor> {
    unary(x, |v| {
        vouch_semantics::lut_index(v, table.len())
            .and_then(|i| table.get(i).copied())
            .ok_or(SemError::Domain {
                what: "lut input outside the table",
            })
    })
}

/// Runs a `Relu` node: `max(x, 0)`.
pub(crate) fn run_relu(r: &NodeRun<'_>) -> Result<Tensor> {
    // Cannot fail: a plain map (which vectorizes) instead of the checked one, into a kept
    // buffer (every element written).
    let mut data = r.bufs.take(r.x.data.len());
    for (o, &v) in data.iter_mut().zip(&r.x.data) {
        *o = v.max(0);
    }
    Ok(Tensor {
        shape: r.x.shape.clone(),
        data,
    })
}

/// Runs a `Clip` node: `clamp(x, lo, hi)`.
pub(crate) fn run_clip(r: &NodeRun<'_>, lo: i32, hi: i32) -> Result<Tensor> {
    unary(r.x, |v| Ok(v.clamp(lo, hi))).map_err(|e| r.sem(e))
}

/// Runs a `LeakyRelu` node: `x` where `x >= 0`, else `requant(x)`.
pub(crate) fn run_leaky_relu(r: &NodeRun<'_>, rq: &Requant) -> Result<Tensor> {
    unary(r.x, |v| {
        if v >= 0 {
            Ok(v)
        } else {
            rq.apply(i64::from(v))
        }
    })
    .map_err(|e| r.sem(e))
}

/// Runs a `Lut` node on its table constant (when `fast` and every input indexes the table,
/// a plain lookup over the pool, in `t16`, the table as `i16`s, when given).
pub(crate) fn run_lut(
    r: &NodeRun<'_>,
    table: u32,
    fast: bool,
    t16: Option<&[i16]>,
) -> Result<Tensor> {
    let t = r.konst(table);
    let data = match t16.filter(|t16| t16.len() == t.len()) {
        Some(t16) if fast => lut_in_range(r.x, t16),
        _ if fast => lut_in_range(r.x, t),
        _ => None,
    };
    if let Some(data) = data {
        return Ok(Tensor {
            shape: r.x.shape.clone(),
            data,
        });
    }
    lut(r.x, t).map_err(|e| r.sem(e))
}

/// A `Lut` table as `i16`s when every entry fits (an `act16` output's always do): half the
/// cache lines of the `i32` constant, the same values. `None` otherwise.
pub(crate) fn table16(table: &[i32]) -> Option<Vec<i16>> {
    table.iter().map(|&v| i16::try_from(v).ok()).collect()
}

/// A SiLU in one pass: `requant(x · T[w + n/2])` with `w = x`, or `w = requant_window(x)` (the
/// `Rescale` into the table's window) when `window` is given, when every `w` indexes the table
/// (the smallest and largest `x` map to the smallest and largest `w`: a requantization is
/// monotone) and neither product can overflow. `None` otherwise (the nodes then run one by
/// one and report what fails).
pub(crate) fn silu_in_range(
    x: &Tensor,
    table: &[i32],
    window: Option<&Requant>,
    rq: &Requant,
) -> Option<Vec<i32>> {
    let (lo, hi) = x
        .data
        .iter()
        .fold((i32::MAX, i32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let x_max = i128::from(max_abs(x));
    let w = match window {
        Some(w) => Some(Plain::new(w, x_max)?),
        None => None,
    };
    let to_window = |v: i32| w.map_or(v, |w| w.apply(i64::from(v)));
    if !x.data.is_empty() {
        vouch_semantics::lut_index(to_window(lo), table.len())?;
        vouch_semantics::lut_index(to_window(hi), table.len())?;
    }
    let t_max = table.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    let k = Plain::new(rq, x_max * i128::from(t_max))?;
    let half = i64::try_from(table.len() / 2).ok()?;
    // the table's indices are `i32`s for the vector gather
    let half32 = i32::try_from(half).ok()?;
    Some(par_map(x.data.len(), |at, o| {
        let xs = &x.data[at..at + o.len()];
        #[cfg(target_arch = "x86_64")]
        if super::elementwise::avx512() {
            // SAFETY: AVX-512 F/DQ are present; every input's window indexes the table
            // (checked above for the smallest and the largest: a requantization is monotone).
            unsafe { silu_avx512(xs, o, table, w.as_ref(), &k, half32) };
            return;
        }
        for (o, &v) in o.iter_mut().zip(xs) {
            // in range: the window of every input lies between those of lo and hi
            let t = table[(i64::from(to_window(v)) + half) as usize];
            *o = k.apply(i64::from(v) * i64::from(t));
        }
    }))
}

/// The loop of [`silu_in_range`] sixteen elements at a time (the same integers):
/// `o = k(x · T[w(x) + half])`, the table read by a gather.
///
/// # Safety
/// AVX-512 F/DQ are present and `w(v) + half` indexes `table` for every `v` of `x` (`w` the
/// identity when `None`), with `|v|` and `|v · T[..]|` within the bounds `w` and `k` were
/// made for.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn silu_avx512(
    x: &[i32],
    o: &mut [i32],
    table: &[i32],
    w: Option<&Plain>,
    k: &Plain,
    half: i32,
) {
    use std::arch::x86_64::*;
    let n = x.len().min(o.len());
    let halves = |v: __m512i| {
        (
            _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)),
            _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(v)),
        )
    };
    let join = |a: __m256i, b: __m256i| _mm512_inserti64x4::<1>(_mm512_castsi256_si512(a), b);
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 <= n`: 16 `i32`s inside `x` and inside `o`.
        let v = unsafe { _mm512_loadu_si512(x.as_ptr().add(i).cast()) };
        let (v0, v1) = halves(v);
        let wv = match w {
            Some(w) => join(w.apply8(v0), w.apply8(v1)),
            None => v,
        };
        let idx = _mm512_add_epi32(wv, _mm512_set1_epi32(half));
        // SAFETY: every index lies inside the table (the caller's guarantee).
        let t = unsafe { _mm512_i32gather_epi32::<4>(idx, table.as_ptr().cast()) };
        let (t0, t1) = halves(t);
        let y = join(
            k.apply8(_mm512_mul_epi32(v0, t0)),
            k.apply8(_mm512_mul_epi32(v1, t1)),
        );
        // SAFETY: as the load.
        unsafe { _mm512_storeu_si512(o.as_mut_ptr().add(i).cast(), y) };
        i += 16;
    }
    for (o, &v) in o[i..n].iter_mut().zip(&x[i..n]) {
        let wv = w.map_or(v, |w| w.apply(i64::from(v)));
        let t = table[(i64::from(wv) + i64::from(half)) as usize];
        *o = k.apply(i64::from(v) * i64::from(t));
    }
}

/// [`lut`] when the smallest and the largest input index the table (then every input does):
/// `T[X + n/2]` without a per-element check, split over the pool for large tensors. `None`
/// (the checked path runs and reports the element outside) otherwise.
fn lut_in_range<T: Copy + Into<i32> + Sync>(x: &Tensor, table: &[T]) -> Option<Vec<i32>> {
    let (lo, hi) = x
        .data
        .iter()
        .fold((i32::MAX, i32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if x.data.is_empty() {
        return Some(Vec::new());
    }
    vouch_semantics::lut_index(lo, table.len())?;
    vouch_semantics::lut_index(hi, table.len())?;
    let half = i64::try_from(table.len() / 2).ok()?;
    Some(par_map(x.data.len(), |at, o| {
        for (o, &v) in o.iter_mut().zip(&x.data[at..]) {
            // in range: lo <= v <= hi, both index the table
            *o = table[(i64::from(v) + half) as usize].into();
        }
    }))
}

/// `PRelu`: `x` where `x >= 0`, else `requant(x · S)` with the slope `S` broadcast to `x`.
pub fn prelu(x: &Tensor, slope: &Tensor, rq: &Requant) -> SemResult<Tensor> {
    binary(x, slope, &x.shape, |v, a| {
        if v >= 0 {
            i32::try_from(v).map_err(|_| SemError::Overflow { what: "prelu" })
        } else {
            rq.apply(v * a)
        }
    })
}

/// Runs a `PRelu` node on its slope constant, which must broadcast to the input.
pub(crate) fn run_prelu(r: &NodeRun<'_>, slope: u32, rq: &Requant) -> Result<Tensor> {
    let c = r
        .pkg
        .consts
        .get(slope as usize)
        .ok_or_else(|| r.err("slope constant missing"))?;
    let s = Tensor {
        shape: c.shape.iter().map(|&d| d as usize).collect(),
        data: c.data.clone(),
    };
    if broadcast_shape(&r.x.shape, &s.shape).as_deref() != Some(&r.x.shape[..]) {
        return Err(r.err(format!(
            "slope {:?} does not broadcast to {:?}",
            s.shape, r.x.shape
        )));
    }
    prelu(r.x, &s, rq).map_err(|e| r.sem(e))
}
