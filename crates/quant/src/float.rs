//! The float reference executor: runs an imported [`FGraph`] in `f32`, single-threaded, in one
//! fixed summation order, with `libm`'s platform-independent `exp`/`tanh`. It is what the
//! quantizer calibrates on and what the accuracy report compares against; it is not part of
//! the integer semantics.

use crate::{Error, Result};
use vouch_engine::tensor::{broadcast_index, broadcast_shape, numel, strides};
use vouch_onnx::graph::{Dim, FGraph, FNode, FOp, Operand};

pub use vouch_task::codec::FTensor;

/// Resolves a symbolic shape for `batch`.
pub fn resolve(shape: &[Dim], batch: usize) -> Vec<usize> {
    shape
        .iter()
        .map(|d| if let Dim::Fixed(n) = d { *n } else { batch })
        .collect()
}

/// Runs the graph; returns every value (inputs and node outputs), indexed by value id.
pub fn run(g: &FGraph, inputs: Vec<FTensor>) -> Result<Vec<FTensor>> {
    let batch = inputs
        .iter()
        .zip(&g.inputs)
        .find_map(|(t, &v)| {
            g.values[v]
                .shape
                .iter()
                .position(|d| *d == Dim::Batch)
                .and_then(|i| t.shape.get(i).copied())
        })
        .unwrap_or(1);
    let mut vals: Vec<Option<FTensor>> = vec![None; g.values.len()];
    for (t, &v) in inputs.into_iter().zip(&g.inputs) {
        let want = resolve(&g.values[v].shape, batch);
        if t.shape != want {
            return Err(Error::Input {
                name: g.values[v].name.clone(),
                reason: format!("shape {:?}, the model expects {want:?}", t.shape),
            });
        }
        vals[v] = Some(t);
    }
    for node in &g.nodes {
        let out_shape = resolve(&g.values[node.output].shape, batch);
        let out = run_node(g, node, &vals, out_shape)?;
        vals[node.output] = Some(out);
    }
    Ok(vals.into_iter().map(Option::unwrap_or_default).collect())
}

fn node_err(node: &FNode, reason: impl Into<String>) -> Error {
    Error::Node {
        node: node.name.clone(),
        reason: reason.into(),
    }
}

fn run_node(
    g: &FGraph,
    node: &FNode,
    vals: &[Option<FTensor>],
    out_shape: Vec<usize>,
) -> Result<FTensor> {
    let get = |o: &Operand| -> Result<FTensor> {
        match *o {
            Operand::Value(v) => vals
                .get(v)
                .and_then(Option::clone)
                .ok_or_else(|| node_err(node, format!("value {v} missing"))),
            Operand::Const(c) => g
                .consts
                .get(c)
                .map(|c| FTensor {
                    shape: c.shape.clone(),
                    data: c.data.clone(),
                })
                .ok_or_else(|| node_err(node, format!("constant {c} missing"))),
        }
    };
    let ins = node.inputs.iter().map(get).collect::<Result<Vec<_>>>()?;
    let x = ins.first().ok_or_else(|| node_err(node, "no inputs"))?;
    let konst = |c: usize| &g.consts[c];
    let total = numel(&out_shape).unwrap_or(0);
    let unary = |f: &dyn Fn(f32) -> f32| FTensor {
        shape: out_shape.clone(),
        data: x.data.iter().map(|&v| f(v)).collect(),
    };
    let out = match &node.op {
        FOp::Linear { weight, bias } => {
            let w = konst(*weight);
            let (n, k) = (w.shape[0], w.shape[1]);
            let m = x.data.len().checked_div(k).unwrap_or(0);
            let mut data = vec![0f32; m * n];
            for i in 0..m {
                let xr = &x.data[i * k..(i + 1) * k];
                for j in 0..n {
                    let wr = &w.data[j * k..(j + 1) * k];
                    let mut s = bias.map_or(0.0, |b| konst(b).data[j]);
                    for (a, b) in xr.iter().zip(wr) {
                        s += a * b;
                    }
                    data[i * n + j] = s;
                }
            }
            FTensor {
                shape: out_shape,
                data,
            }
        }
        FOp::Conv {
            weight,
            bias,
            kernel,
            strides: st,
            pads,
            dilations,
            group,
        } => {
            let w = konst(*weight);
            let (nb, c, h, wd) =
                nchw(&x.shape).ok_or_else(|| node_err(node, "conv input is not NCHW"))?;
            let (_, co, oh, ow) =
                nchw(&out_shape).ok_or_else(|| node_err(node, "conv output is not NCHW"))?;
            let (cg, og) = (c / group, co / group);
            let mut data = vec![0f32; total];
            for b in 0..nb {
                for o in 0..co {
                    let gi = o / og;
                    for y in 0..oh {
                        for xo in 0..ow {
                            let mut s = bias.map_or(0.0, |bb| konst(bb).data[o]);
                            for ci in 0..cg {
                                for ky in 0..kernel[0] {
                                    let Some(iy) = pos(y, ky, st[0], dilations[0], pads[0], h)
                                    else {
                                        continue;
                                    };
                                    for kx in 0..kernel[1] {
                                        let Some(ix) =
                                            pos(xo, kx, st[1], dilations[1], pads[1], wd)
                                        else {
                                            continue;
                                        };
                                        let xv =
                                            x.data[((b * c + gi * cg + ci) * h + iy) * wd + ix];
                                        let wv = w.data
                                            [((o * cg + ci) * kernel[0] + ky) * kernel[1] + kx];
                                        s += xv * wv;
                                    }
                                }
                            }
                            data[((b * co + o) * oh + y) * ow + xo] = s;
                        }
                    }
                }
            }
            FTensor {
                shape: out_shape,
                data,
            }
        }
        FOp::MatMul => {
            let y = &ins[1];
            let (xr, yr) = (x.shape.len(), y.shape.len());
            let (m, k, n) = (x.shape[xr - 2], x.shape[xr - 1], y.shape[yr - 1]);
            let bshape = &out_shape[..out_shape.len() - 2];
            let xb = broadcast_index(&x.shape[..xr - 2], bshape);
            let yb = broadcast_index(&y.shape[..yr - 2], bshape);
            let mut data = Vec::with_capacity(total);
            for (&bx, &by) in xb.iter().zip(&yb) {
                for i in 0..m {
                    for j in 0..n {
                        let mut s = 0f32;
                        for t in 0..k {
                            s += x.data[bx * m * k + i * k + t] * y.data[by * k * n + t * n + j];
                        }
                        data.push(s);
                    }
                }
            }
            FTensor {
                shape: out_shape,
                data,
            }
        }
        FOp::Add | FOp::Sub | FOp::Mul => {
            let y = &ins[1];
            if broadcast_shape(&x.shape, &y.shape).as_deref() != Some(out_shape.as_slice()) {
                return Err(node_err(
                    node,
                    format!("cannot broadcast {:?} with {:?}", x.shape, y.shape),
                ));
            }
            let (xi, yi) = (
                broadcast_index(&x.shape, &out_shape),
                broadcast_index(&y.shape, &out_shape),
            );
            let f = |a: f32, b: f32| match node.op {
                FOp::Add => a + b,
                FOp::Sub => a - b,
                _ => a * b,
            };
            let data = xi
                .iter()
                .zip(&yi)
                .map(|(&a, &b)| f(x.data[a], y.data[b]))
                .collect();
            FTensor {
                shape: out_shape,
                data,
            }
        }
        FOp::Relu => unary(&|v| v.max(0.0)),
        FOp::Clip { min, max } => unary(&|v| v.max(*min).min(*max)),
        FOp::LeakyRelu { alpha } => unary(&|v| if v >= 0.0 { v } else { alpha * v }),
        FOp::Sigmoid => unary(&|v| 1.0 / (1.0 + libm::expf(-v))),
        FOp::Tanh => unary(&|v| libm::tanhf(v)),
        FOp::Softmax { axis } => {
            let (outer, len, inner) = split(&x.shape, *axis);
            let mut data = vec![0f32; x.data.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let idx = |j: usize| (o * len + j) * inner + i;
                    let m = (0..len)
                        .map(|j| x.data[idx(j)])
                        .fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0f32;
                    for j in 0..len {
                        let e = libm::expf(x.data[idx(j)] - m);
                        data[idx(j)] = e;
                        sum += e;
                    }
                    for j in 0..len {
                        data[idx(j)] /= sum;
                    }
                }
            }
            FTensor {
                shape: out_shape,
                data,
            }
        }
        FOp::ArgMax {
            axis,
            select_last_index,
            ..
        } => {
            let (outer, len, inner) = split(&x.shape, *axis);
            let mut data = Vec::with_capacity(outer * inner);
            for o in 0..outer {
                for i in 0..inner {
                    let mut best = 0;
                    for j in 1..len {
                        let (v, b) = (
                            x.data[(o * len + j) * inner + i],
                            x.data[(o * len + best) * inner + i],
                        );
                        if v > b || (*select_last_index && v == b) {
                            best = j;
                        }
                    }
                    data.push(best as f32);
                }
            }
            FTensor {
                shape: out_shape,
                data,
            }
        }
        FOp::MaxPool {
            kernel,
            strides: st,
            pads,
            dilations,
            ..
        } => pool(node, x, &out_shape, *kernel, *st, *pads, *dilations, None)?,
        FOp::AveragePool {
            kernel,
            strides: st,
            pads,
            count_include_pad,
            ..
        } => pool(
            node,
            x,
            &out_shape,
            *kernel,
            *st,
            *pads,
            [1, 1],
            Some(*count_include_pad),
        )?,
        FOp::GlobalAveragePool => {
            let (_, _, h, w) = nchw(&x.shape).ok_or_else(|| node_err(node, "input is not NCHW"))?;
            let hw = (h * w).max(1);
            let data = x
                .data
                .chunks(hw)
                .map(|p| p.iter().sum::<f32>() / hw as f32)
                .collect();
            FTensor {
                shape: out_shape,
                data,
            }
        }
        FOp::Reshape => FTensor {
            shape: out_shape,
            data: x.data.clone(),
        },
        FOp::Transpose { perm } => {
            let src = strides(&x.shape);
            let mut data = Vec::with_capacity(total);
            let ost = strides(&out_shape);
            for i in 0..total {
                let mut off = 0;
                for (ax, &p) in perm.iter().enumerate() {
                    off += (i / ost[ax]) % out_shape[ax] * src[p];
                }
                data.push(x.data[off]);
            }
            FTensor {
                shape: out_shape,
                data,
            }
        }
        FOp::Concat { axis } => {
            let outer: usize = out_shape[..*axis].iter().product();
            let inner: usize = out_shape[axis + 1..].iter().product();
            let mut data = Vec::with_capacity(total);
            for o in 0..outer {
                for t in &ins {
                    let chunk = t.shape[*axis] * inner;
                    data.extend_from_slice(&t.data[o * chunk..(o + 1) * chunk]);
                }
            }
            FTensor {
                shape: out_shape,
                data,
            }
        }
    };
    if out.data.len() != total {
        return Err(node_err(
            node,
            format!(
                "computed {} elements for shape {:?}",
                out.data.len(),
                out.shape
            ),
        ));
    }
    Ok(out)
}

fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

fn nchw(s: &[usize]) -> Option<(usize, usize, usize, usize)> {
    match *s {
        [n, c, h, w] => Some((n, c, h, w)),
        [n, c, w] => Some((n, c, 1, w)),
        _ => None,
    }
}

fn pos(o: usize, t: usize, stride: usize, dil: usize, pad: usize, size: usize) -> Option<usize> {
    let p = (o * stride + t * dil).checked_sub(pad)?;
    (p < size).then_some(p)
}

#[allow(clippy::too_many_arguments)]
fn pool(
    node: &FNode,
    x: &FTensor,
    out_shape: &[usize],
    k: [usize; 2],
    st: [usize; 2],
    pads: [usize; 4],
    dil: [usize; 2],
    avg: Option<bool>,
) -> Result<FTensor> {
    let (_, _, h, w) = nchw(&x.shape).ok_or_else(|| node_err(node, "pool input is not NCHW"))?;
    let (_, _, oh, ow) =
        nchw(out_shape).ok_or_else(|| node_err(node, "pool output is not NCHW"))?;
    let mut data = Vec::new();
    for plane in x.data.chunks((h * w).max(1)) {
        for y in 0..oh {
            for xo in 0..ow {
                let (mut best, mut sum, mut n) = (f32::NEG_INFINITY, 0f32, 0usize);
                for ky in 0..k[0] {
                    for kx in 0..k[1] {
                        if let (Some(iy), Some(ix)) = (
                            pos(y, ky, st[0], dil[0], pads[0], h),
                            pos(xo, kx, st[1], dil[1], pads[1], w),
                        ) {
                            let v = plane[iy * w + ix];
                            best = best.max(v);
                            sum += v;
                            n += 1;
                        }
                    }
                }
                data.push(match avg {
                    None => best,
                    Some(true) => sum / (k[0] * k[1]) as f32,
                    Some(false) => sum / n.max(1) as f32,
                });
            }
        }
    }
    Ok(FTensor {
        shape: out_shape.to_vec(),
        data,
    })
}
