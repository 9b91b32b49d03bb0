//! A recurrent cell's gate product in one pass: `requant(a · b)` where each of `a` and `b` is
//! a value as it is, or a value looked up in a gate table (`T[w(x) + n/2]`, `w` the `Rescale`
//! into the table's window when the importer wrote one): what an unrolled LSTM's `i ⊙ g`,
//! `f ⊙ c` and `o ⊙ h(c)` are. The same integers as the `Rescale`, `Lut` and `Mul` nodes one
//! by one, computed only when no check of theirs can fail.

use super::elementwise::{Plain, magnitude, min_max, par_map};
use crate::tensor::Tensor;
use vouch_model::Requant;

/// One operand of a gate product.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Side<'a> {
    /// The value read (the table's input when `table` is given).
    pub(crate) x: &'a Tensor,
    /// The table it is looked up in, when it is.
    pub(crate) table: Option<Table<'a>>,
}

/// A gate table and the `Rescale` into its window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table<'a> {
    /// The entries.
    pub(crate) data: &'a [i32],
    /// The `Rescale` into the table's window, when there is one.
    pub(crate) window: Option<&'a Requant>,
    /// The largest magnitude of an entry (computed once per package).
    pub(crate) max: u32,
}

/// A [`Side`] whose every element is proved in range: the window's requantization in plain
/// arithmetic, the table's half length, and the largest magnitude the side gives.
struct Ready<'a> {
    x: &'a [i32],
    look: Option<Look<'a>>,
    max: i128,
}

/// A table lookup proved in range for every element.
#[derive(Clone, Copy)]
struct Look<'a> {
    table: &'a [i32],
    window: Option<Plain>,
    half: i32,
}

impl Look<'_> {
    /// `T[w(v) + n/2]` (in range: checked by [`ready`]).
    #[inline(always)]
    fn get(&self, v: i32) -> i32 {
        let w = self.window.map_or(v, |w| w.apply(i64::from(v)));
        self.table[(i64::from(w) + i64::from(self.half)) as usize]
    }
}

/// `s` with its checks done: every element's window indexes the table (those of the smallest
/// and the largest do, and a requantization is monotone) and the window cannot overflow.
/// `None` when a check fails.
fn ready<'a>(s: &Side<'a>) -> Option<Ready<'a>> {
    let bounds = min_max(&s.x.data);
    let x_max = i128::from(magnitude(bounds));
    let Some(Table {
        data: table,
        window,
        max,
    }) = s.table
    else {
        return Some(Ready {
            x: &s.x.data,
            look: None,
            max: x_max,
        });
    };
    let window = match window {
        Some(w) => Some(Plain::new(w, x_max)?),
        None => None,
    };
    let look = Look {
        table,
        window,
        half: i32::try_from(table.len() / 2).ok()?,
    };
    if let Some((lo, hi)) = bounds {
        let to_window = |v: i32| window.map_or(v, |w| w.apply(i64::from(v)));
        vouch_semantics::lut_index(to_window(lo), table.len())?;
        vouch_semantics::lut_index(to_window(hi), table.len())?;
    }
    Some(Ready {
        x: &s.x.data,
        look: Some(look),
        max: i128::from(max),
    })
}

/// `requant(a · b)` elementwise over operands of one shape, when every table index is in
/// range and neither requantization can overflow; `None` otherwise (the nodes then run one by
/// one and report what fails).
pub(crate) fn gate_mul_in_range(a: &Side<'_>, b: &Side<'_>, rq: &Requant) -> Option<Vec<i32>> {
    let n = a.x.data.len();
    if b.x.data.len() != n {
        return None;
    }
    let (a, b) = (ready(a)?, ready(b)?);
    let k = Plain::new(rq, a.max * b.max)?;
    Some(par_map(n, |at, o| {
        let (xa, xb) = (&a.x[at..at + o.len()], &b.x[at..at + o.len()]);
        #[cfg(target_arch = "x86_64")]
        if super::elementwise::avx512() {
            // SAFETY: AVX-512 F/DQ are present; every index is in its table (`ready`).
            unsafe { gate_mul_avx512(xa, a.look, xb, b.look, o, &k) };
            return;
        }
        gate_mul_loop(xa, a.look, xb, b.look, o, &k);
    }))
}

#[inline(always)]
fn gate_mul_loop(
    xa: &[i32],
    la: Option<Look<'_>>,
    xb: &[i32],
    lb: Option<Look<'_>>,
    o: &mut [i32],
    k: &Plain,
) {
    let side = |l: Option<Look<'_>>, v: i32| l.map_or(v, |l| l.get(v));
    for (o, (&a, &b)) in o.iter_mut().zip(xa.iter().zip(xb)) {
        *o = k.apply(i64::from(side(la, a)) * i64::from(side(lb, b)));
    }
}

/// [`gate_mul_loop`] sixteen elements at a time (the same integers), the tables read by
/// gathers.
///
/// # Safety
/// AVX-512 F/DQ are present, and every element's window indexes its table, with the bounds
/// the windows and `k` were made for (`ready`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn gate_mul_avx512(
    xa: &[i32],
    la: Option<Look<'_>>,
    xb: &[i32],
    lb: Option<Look<'_>>,
    o: &mut [i32],
    k: &Plain,
) {
    use std::arch::x86_64::*;
    let n = xa.len().min(xb.len()).min(o.len());
    let halves = |v: __m512i| {
        (
            _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)),
            _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(v)),
        )
    };
    let join = |a: __m256i, b: __m256i| _mm512_inserti64x4::<1>(_mm512_castsi256_si512(a), b);
    // sixteen elements of one side at `i` (`i + 16 <= n`)
    let side = |x: &[i32], l: Option<Look<'_>>, i: usize| {
        // SAFETY: `i + 16 <= n <= x.len()`.
        let v = unsafe { _mm512_loadu_si512(x.as_ptr().add(i).cast()) };
        let Some(l) = l else {
            return v;
        };
        let w = match l.window {
            Some(w) => {
                let (v0, v1) = halves(v);
                join(w.apply8(v0), w.apply8(v1))
            }
            None => v,
        };
        let idx = _mm512_add_epi32(w, _mm512_set1_epi32(l.half));
        // SAFETY: every index lies inside the table (the caller's guarantee).
        unsafe { _mm512_i32gather_epi32::<4>(idx, l.table.as_ptr().cast()) }
    };
    let mut i = 0;
    while i + 16 <= n {
        let (a0, a1) = halves(side(xa, la, i));
        let (b0, b1) = halves(side(xb, lb, i));
        let y = join(
            k.apply8(_mm512_mul_epi32(a0, b0)),
            k.apply8(_mm512_mul_epi32(a1, b1)),
        );
        // SAFETY: `i + 16 <= n <= o.len()`.
        unsafe { _mm512_storeu_si512(o.as_mut_ptr().add(i).cast(), y) };
        i += 16;
    }
    gate_mul_loop(&xa[i..n], la, &xb[i..n], lb, &mut o[i..n], k);
}
