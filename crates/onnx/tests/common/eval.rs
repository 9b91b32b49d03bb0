//! A float evaluator of the lowered ops an SVM uses (`Linear`, `MatMul`, `Sub`, `Clip`,
//! `Map`, `Reshape`, `Select`, `Concat`, `ArgMax`), one row, for checking a lowering's
//! arithmetic against the formula it implements.

use vouch_onnx::{Dim, FGraph, FOp, Operand};

/// A value's shape with the batch axis at 1.
fn dims(g: &FGraph, v: usize) -> Vec<usize> {
    g.values[v]
        .shape
        .iter()
        .map(|d| match d {
            Dim::Batch => 1,
            Dim::Fixed(n) => *n,
        })
        .collect()
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The coordinates of flat index `i` in `shape`.
fn coords(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut c = vec![0; shape.len()];
    for a in (0..shape.len()).rev() {
        c[a] = i % shape[a];
        i /= shape[a];
    }
    c
}

/// Every value of `g` with its one graph input row `x`.
pub(crate) fn run(g: &FGraph, x: &[f32]) -> Vec<Vec<f32>> {
    let mut vals: Vec<Vec<f32>> = vec![Vec::new(); g.values.len()];
    vals[g.inputs[0]] = x.to_vec();
    for n in &g.nodes {
        let get = |o: &Operand| -> (Vec<f32>, Vec<usize>) {
            match *o {
                Operand::Value(v) => (vals[v].clone(), dims(g, v)),
                Operand::Const(c) => (g.consts[c].data.clone(), g.consts[c].shape.clone()),
            }
        };
        let (a, sa) = get(&n.inputs[0]);
        let out_shape = dims(g, n.output);
        let out: Vec<f32> = match &n.op {
            FOp::Linear { weight, bias } => {
                let w = &g.consts[*weight];
                let (rows, k) = (w.shape[0], w.shape[1]);
                a.chunks_exact(k)
                    .flat_map(|xr| {
                        (0..rows).map(move |r| {
                            let b = bias.map_or(0.0, |b| g.consts[b].data[r]);
                            b + (0..k).map(|j| w.data[r * k + j] * xr[j]).sum::<f32>()
                        })
                    })
                    .collect()
            }
            FOp::MatMul => {
                let (b, sb) = get(&n.inputs[1]);
                let (m, k, p) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
                let batches = a.len() / (m * k);
                let mut o = Vec::with_capacity(batches * m * p);
                for t in 0..batches {
                    for i in 0..m {
                        for j in 0..p {
                            o.push(
                                (0..k)
                                    .map(|l| a[t * m * k + i * k + l] * b[t * k * p + l * p + j])
                                    .sum(),
                            );
                        }
                    }
                }
                o
            }
            FOp::Sub => {
                let (b, sb) = get(&n.inputs[1]);
                let total: usize = out_shape.iter().product();
                let r = out_shape.len();
                let pad = |s: &[usize]| -> Vec<usize> {
                    let mut p = vec![1; r - s.len()];
                    p.extend_from_slice(s);
                    p
                };
                let (pa, pb) = (pad(&sa), pad(&sb));
                let (ta, tb) = (strides(&pa), strides(&pb));
                (0..total)
                    .map(|i| {
                        let c = coords(i, &out_shape);
                        let ia: usize = (0..r).map(|d| (c[d] % pa[d]) * ta[d]).sum();
                        let ib: usize = (0..r).map(|d| (c[d] % pb[d]) * tb[d]).sum();
                        a[ia] - b[ib]
                    })
                    .collect()
            }
            FOp::Clip { min, max } => a.iter().map(|v| v.max(*min).min(*max)).collect(),
            FOp::Map { f } => a.iter().map(|v| f.apply(*v)).collect(),
            FOp::Reshape => a,
            FOp::Select { maps } => {
                let total: usize = out_shape.iter().product();
                let t = strides(&sa);
                (0..total)
                    .map(|i| {
                        let c = coords(i, &out_shape);
                        let at: usize = c
                            .iter()
                            .enumerate()
                            .map(|(d, &o)| maps[d].get(o).copied().unwrap_or(o) * t[d])
                            .sum();
                        a[at]
                    })
                    .collect()
            }
            FOp::Concat { axis } => {
                let parts: Vec<(Vec<f32>, Vec<usize>)> = n.inputs.iter().map(get).collect();
                let outer: usize = out_shape[..*axis].iter().product();
                let mut o = Vec::new();
                for t in 0..outer {
                    for (p, s) in &parts {
                        let inner: usize = s[*axis..].iter().product();
                        o.extend_from_slice(&p[t * inner..(t + 1) * inner]);
                    }
                }
                o
            }
            FOp::ArgMax { .. } => {
                let k = *sa.last().unwrap();
                a.chunks_exact(k)
                    .map(|r| {
                        let m = r.iter().copied().fold(f32::MIN, f32::max);
                        r.iter().position(|v| *v == m).unwrap() as f32
                    })
                    .collect()
            }
            op => panic!("not evaluated here: {op:?}"),
        };
        vals[n.output] = out;
    }
    vals
}
