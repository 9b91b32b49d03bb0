//! The runtime tensor: a concrete shape and `i32` elements.

use vouch_model::Dim;

/// A tensor at run time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tensor {
    /// Concrete shape.
    pub shape: Vec<usize>,
    /// Row-major elements.
    pub data: Vec<i32>,
}

impl Tensor {
    /// A tensor from parts; `None` if the data does not fit the shape.
    pub fn new(shape: Vec<usize>, data: Vec<i32>) -> Option<Self> {
        (numel(&shape) == Some(data.len())).then_some(Self { shape, data })
    }

    /// All zeros.
    pub fn zeros(shape: Vec<usize>) -> Self {
        let n = numel(&shape).unwrap_or(0);
        Self {
            shape,
            data: vec![0; n],
        }
    }

    /// The tensor commitment (`docs/semantics.md` section 6).
    pub fn commitment(&self) -> vouch_primitives::B256 {
        vouch_primitives::tensor_commitment(&self.data)
    }
}

/// Element count, `None` on overflow.
pub fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Row-major strides.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Substitutes the batch size into a symbolic shape.
pub fn resolve(shape: &[Dim], batch: usize) -> Vec<usize> {
    shape
        .iter()
        .map(|d| match d {
            Dim::Batch => batch,
            Dim::Fixed(n) => *n as usize,
        })
        .collect()
}

/// Numpy broadcast of two shapes, `None` if incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// For every element of `out_shape`, the index into a tensor of shape `src` broadcast to it.
pub fn broadcast_index(src: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let total = numel(out_shape).unwrap_or(0);
    if src == out_shape {
        return (0..total).collect();
    }
    let n = out_shape.len();
    let src_strides = strides(src);
    // Stride of each output axis in the source (0 where broadcast).
    let eff: Vec<usize> = (0..n)
        .map(|i| {
            if i + src.len() < n {
                return 0;
            }
            let j = i + src.len() - n;
            if src[j] == 1 { 0 } else { src_strides[j] }
        })
        .collect();
    let mut idx = vec![0usize; n];
    let mut out = Vec::with_capacity(total);
    let mut off = 0usize;
    for _ in 0..total {
        out.push(off);
        for ax in (0..n).rev() {
            idx[ax] += 1;
            off += eff[ax];
            if idx[ax] < out_shape[ax] {
                break;
            }
            off -= eff[ax] * out_shape[ax];
            idx[ax] = 0;
        }
    }
    out
}
