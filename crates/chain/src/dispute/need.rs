//! Which elements of its inputs and constants one output element of a node reads: the
//! windows a one-step check proves (docs/semantics.md section 8.3), narrowed per op where the
//! element reads less than the whole tensor.

use alloy::primitives::U256;
use vouch_bindings::dispute_game::OneStepVerifier::Node;

/// Dimension `i` of a descriptor shape (1 when absent).
pub(super) fn dim(shape: &[U256], i: usize) -> usize {
    shape
        .get(i)
        .and_then(|d| usize::try_from(*d).ok())
        .unwrap_or(1)
}

/// Elements of a descriptor shape.
pub(super) fn numel(shape: &[U256]) -> usize {
    (0..shape.len()).map(|i| dim(shape, i)).product()
}

/// Elements `[lo, hi)` of dynamic input `i` (or constant `i`) that element `e` of `node`
/// reads; the whole tensor where no narrower range is known.
pub(super) fn need(node: &Node, is_const: bool, i: usize, e: usize) -> (usize, usize) {
    let shape = if is_const {
        node.constShapes.get(i)
    } else {
        node.inShapes.get(i)
    };
    let all = (0, shape.map_or(0, |s| numel(s)));
    let w = node.constShapes.first().map(Vec::as_slice).unwrap_or(&[]);
    match node.op {
        crate::graph::op::LINEAR if w.len() == 2 => {
            let (n, k) = (dim(w, 0).max(1), dim(w, 1));
            match (is_const, i) {
                (false, _) => ((e / n) * k, (e / n) * k + k),
                (true, 0) => ((e % n) * k, (e % n) * k + k),
                _ => bias_need(node, n, e % n),
            }
        }
        crate::graph::op::CONV if is_const && w.len() == 4 && node.outShape.len() == 4 => {
            let plane = dim(&node.outShape, 2) * dim(&node.outShape, 3);
            let co = (e / plane.max(1)) % dim(&node.outShape, 1).max(1);
            if i == 0 {
                let per = dim(w, 1) * dim(w, 2) * dim(w, 3);
                (co * per, co * per + per)
            } else {
                bias_need(node, dim(w, 0), co)
            }
        }
        // unary elementwise ops and copies read their input's element `e` alone
        crate::graph::op::RELU
        | crate::graph::op::CLIP
        | crate::graph::op::LEAKY_RELU
        | crate::graph::op::RESCALE
        | crate::graph::op::LUT
        | crate::graph::op::COPY
            if !is_const && i == 0 =>
        {
            (e, e + 1)
        }
        crate::graph::op::REDUCE if !is_const => reduce_need(node, e).unwrap_or(all),
        crate::graph::op::SELECT if !is_const => select_need(node, e).map_or(all, |i| (i, i + 1)),
        // the index element; the data element depends on its value (`gather_source`)
        crate::graph::op::GATHER if !is_const && i + 1 == node.inputs.len() => {
            gather_at(node, e).map_or(all, |(_, p, _)| one(p))
        }
        // binary and n-ary elementwise ops read one broadcast element of each operand (a
        // constant operand of `Add`/`Mul` too), `PRelu` its input's element `e` and one slope
        crate::graph::op::ADD
        | crate::graph::op::MUL
        | crate::graph::op::MAX
        | crate::graph::op::MIN => shape.map_or(all, |s| one(bcast(&node.outShape, s, e))),
        crate::graph::op::PRELU if !is_const => (e, e + 1),
        crate::graph::op::PRELU => match (node.inShapes.first(), shape) {
            (Some(x), Some(s)) => one(bcast(x, s, e)),
            _ => all,
        },
        crate::graph::op::TRANSPOSE if !is_const => transpose_need(node, e).map_or(all, one),
        crate::graph::op::CONCAT if !is_const => concat_need(node, i, e).unwrap_or(all),
        crate::graph::op::PAD if !is_const => pad_need(node, e).map_or(all, one),
        crate::graph::op::MAXPOOL | crate::graph::op::AVGPOOL if !is_const => {
            pool_need(node, e).unwrap_or(all)
        }
        crate::graph::op::SOFTMAX | crate::graph::op::ARGMAX if !is_const => {
            axis_need(node, e).unwrap_or(all)
        }
        _ => all,
    }
}

/// The one-element window `[i, i + 1)`.
fn one(i: usize) -> (usize, usize) {
    (i, i + 1)
}

/// Index into a tensor of shape `s` of the element numpy broadcasting maps to element `e` of
/// the output shape `os` (as `Shapes.bcast` in the Solidity checker).
pub(super) fn bcast(os: &[U256], s: &[U256], mut e: usize) -> usize {
    let (r, sr) = (os.len(), s.len());
    let (mut idx, mut mul) = (0usize, 1usize);
    for d in (1..=r).rev() {
        let od = dim(os, d - 1).max(1);
        let coord = e % od;
        e /= od;
        if d + sr > r {
            let sd = dim(s, d - 1 + sr - r);
            idx += if sd == 1 { 0 } else { coord } * mul;
            mul *= sd;
        }
    }
    idx
}

/// The attribute `i` of `node` as an integer.
fn attr(node: &Node, i: usize) -> Option<i64> {
    node.attrs.get(i).map(|a| a.as_i64())
}

/// An ONNX axis attribute (negative counts from the end) in a tensor of rank `rank`.
fn axis_of(a: i64, rank: usize) -> Option<usize> {
    let r = i64::try_from(rank).ok()?;
    usize::try_from(if a < 0 { a + r } else { a })
        .ok()
        .filter(|&x| x < rank)
}

/// The input element a `Transpose` element reads (attrs: the permutation).
fn transpose_need(node: &Node, mut e: usize) -> Option<usize> {
    let xs = node.inShapes.first()?;
    let r = node.outShape.len();
    let mut coord = vec![0usize; r];
    for d in (0..r).rev() {
        let od = dim(&node.outShape, d).max(1);
        coord[d] = e % od;
        e /= od;
    }
    let mut in_coord = vec![0usize; r];
    for (d, &c) in coord.iter().enumerate() {
        *in_coord.get_mut(usize::try_from(attr(node, d)?).ok()?)? = c;
    }
    let mut src = 0usize;
    for (d, &c) in in_coord.iter().enumerate() {
        src = src.checked_mul(dim(xs, d))?.checked_add(c)?;
    }
    Some(src)
}

/// The window of input `i` of a `Concat` element: its one element in the input it comes from,
/// the first element of every other input (read by nothing; a window cannot be empty).
fn concat_need(node: &Node, i: usize, e: usize) -> Option<(usize, usize)> {
    let os = &node.outShape;
    let axis = axis_of(attr(node, 0)?, os.len())?;
    let len = dim(os, axis).max(1);
    let inner: usize = (axis + 1..os.len()).map(|d| dim(os, d)).product();
    let inner = inner.max(1);
    let outer = e / (len * inner);
    let (mut j, rest) = ((e / inner) % len, e % inner);
    for (k, s) in node.inShapes.iter().enumerate() {
        let li = dim(s, axis);
        if j < li {
            return Some(if k == i {
                one((outer * li + j) * inner + rest)
            } else {
                (0, 1)
            });
        }
        j -= li;
    }
    None
}

/// The input element a `Pad` element reads (attrs `[mode, value, begin pads.., end pads..]`);
/// the first element when it reads none (a constant pad).
fn pad_need(node: &Node, mut e: usize) -> Option<usize> {
    let xs = node.inShapes.first()?;
    let r = node.outShape.len();
    let mode = attr(node, 0)?;
    let (mut src, mut mul) = (0usize, 1usize);
    for ax in (0..r).rev() {
        let size = i64::try_from(dim(xs, ax)).ok()?;
        let od = dim(&node.outShape, ax).max(1);
        let mut i = i64::try_from(e % od).ok()? - attr(node, 2 + ax)?;
        e /= od;
        if i < 0 || i >= size {
            i = match mode {
                0 => return Some(0),
                1 if i < 0 => -i,
                1 => 2 * (size - 1) - i,
                2 => i.clamp(0, size - 1),
                3 if size > 0 => i.rem_euclid(size),
                _ => return None,
            };
        }
        src = src.checked_add(usize::try_from(i).ok()?.checked_mul(mul)?)?;
        mul = mul.checked_mul(dim(xs, ax))?;
    }
    Some(src)
}

/// The window of a pool element: from the first to the last input element of its kernel
/// window inside the input plane (attrs `[kH, kW, sH, sW, dH, dW, padTop, padLeft, ..]`; a
/// rank-3 input is one row high), as `Pool._window2d` reads them.
fn pool_need(node: &Node, e: usize) -> Option<(usize, usize)> {
    let xs = node.inShapes.first()?;
    let one_d = xs.len() == 3;
    let (h, w) = if one_d {
        (1, dim(xs, 2))
    } else {
        (dim(xs, 2), dim(xs, 3))
    };
    let os = &node.outShape;
    let (oh_n, ow_n) = if one_d {
        (1, dim(os, 2).max(1))
    } else {
        (dim(os, 2).max(1), dim(os, 3).max(1))
    };
    let (ow, oh) = (e % ow_n, (e / ow_n) % oh_n);
    let base = (e / (ow_n * oh_n)) * h * w;
    let a = |i| attr(node, i);
    let span = |o: usize, k: i64, s: i64, d: i64, p: i64, n: usize| -> Option<(usize, usize)> {
        let n = i64::try_from(n).ok()?;
        let first = i64::try_from(o).ok()? * s - p;
        let (lo, hi) = (first.max(0), (first + (k - 1) * d).min(n - 1));
        Some((usize::try_from(lo).ok()?, usize::try_from(hi.max(lo)).ok()?))
    };
    let (r0, r1) = span(oh, a(0)?, a(2)?, a(4)?, a(6)?, h)?;
    let (c0, c1) = span(ow, a(1)?, a(3)?, a(5)?, a(7)?, w)?;
    Some((base + r0 * w + c0, base + r1 * w + c1 + 1))
}

/// The window of a `Softmax` or `ArgMax` element: the elements along its axis (attr 0) in its
/// slice, first to last.
fn axis_need(node: &Node, e: usize) -> Option<(usize, usize)> {
    let xs = node.inShapes.first()?;
    let axis = axis_of(attr(node, 0)?, xs.len())?;
    let len = dim(xs, axis).max(1);
    let inner: usize = (axis + 1..xs.len()).map(|d| dim(xs, d)).product();
    let inner = inner.max(1);
    let base = if node.op == crate::graph::op::SOFTMAX {
        e - ((e / inner) % len) * inner
    } else {
        (e / inner) * len * inner + e % inner
    };
    Some((base, base + (len - 1) * inner + 1))
}

/// The elements of output `o`'s bias (constant 1) among `n` outputs: its one value, its
/// `[hi, lo]` pair when the bias is wide (`[N, 2]`), or its `[hi, lo, M]` triple in a
/// per-channel node (`[N, 3]`, docs/semantics.md section 3).
pub(super) fn bias_need(node: &Node, n: usize, o: usize) -> (usize, usize) {
    let cols = node
        .constShapes
        .get(1)
        .filter(|b| b.len() == 2 && dim(b, 0) == n && matches!(dim(b, 1), 2 | 3))
        .map_or(1, |b| dim(b, 1));
    (cols * o, cols * o + cols)
}

/// The window of a `Reduce` element: from its first to its last input element (at most
/// `vouch_semantics::MAX_REDUCE_SPAN`, docs/semantics.md section 8.1), not the whole input.
fn reduce_need(node: &Node, mut e: usize) -> Option<(usize, usize)> {
    let shape = node.inShapes.first()?;
    let axes: Vec<usize> = node
        .attrs
        .get(5..)?
        .iter()
        .map(|a| usize::try_from(a.as_i64()).ok())
        .collect::<Option<_>>()?;
    let (mut base, mut span, mut stride) = (0usize, 1usize, 1usize);
    for a in (0..shape.len()).rev() {
        let d = dim(shape, a).max(1);
        if axes.contains(&a) {
            span = span.checked_add((d - 1).checked_mul(stride)?)?;
        } else {
            base = base.checked_add((e % d).checked_mul(stride)?)?;
            e /= d;
        }
        stride = stride.checked_mul(d)?;
    }
    Some((base, base.checked_add(span)?))
}

/// The one entry of an `n`-entry `Lut` table an element whose input value is `x` reads
/// (`docs/semantics.md` section 3: `x + n/2`); `None` for other ops, or an input outside the
/// table (whose one-step check fails whatever window it gets).
pub(super) fn lut_entry(node: &Node, x: Option<i32>, n: usize) -> Option<(usize, usize)> {
    if node.op != crate::graph::op::LUT {
        return None;
    }
    let j = vouch_semantics::lut_index(x?, n)?;
    Some((j, j + 1))
}

/// A `Gather` element's coordinates `(o, p, i)` and its data's `(n, inner)`.
type GatherGeometry = ((usize, usize, usize), (usize, usize));

/// The coordinates `(o, p, i)` of `Gather` element `e` (attrs `[axis]`): `o` over the data's
/// axes before `axis`, `p` the index element it reads, `i` over the axes after; and the
/// data's `(n, inner)`. The data is `consts[0]` for a constant table, else `inputs[0]`; the
/// indices are the last input.
fn gather_geometry(node: &Node, e: usize) -> Option<GatherGeometry> {
    let xs = if node.consts.is_empty() {
        node.inShapes.first()?
    } else {
        node.constShapes.first()?
    };
    let axis = usize::try_from(attr(node, 0)?)
        .ok()
        .filter(|&a| a < xs.len())?;
    let inner: usize = (axis + 1..xs.len()).map(|d| dim(xs, d)).product();
    let (inner, m) = (inner.max(1), numel(node.inShapes.last()?).max(1));
    Some((
        (e / (m * inner), (e / inner) % m, e % inner),
        (dim(xs, axis), inner),
    ))
}

/// The coordinates `(o, p, i)` of `Gather` element `e` ([`gather_geometry`]).
pub(super) fn gather_at(node: &Node, e: usize) -> Option<(usize, usize, usize)> {
    gather_geometry(node, e).map(|(c, _)| c)
}

/// The data element `Gather` element `e` copies when its index element holds `v`
/// (`vouch_semantics::gather_index`: from the end once, then clamped); `None` for other ops.
pub(super) fn gather_source(node: &Node, e: usize, v: i32) -> Option<usize> {
    if node.op != crate::graph::op::GATHER {
        return None;
    }
    let ((o, _, i), (n, inner)) = gather_geometry(node, e)?;
    let j = vouch_semantics::gather_index(v, n)?;
    o.checked_mul(n)?
        .checked_add(j)?
        .checked_mul(inner)?
        .checked_add(i)
}

/// The one input element a `Select` element reads (attrs `[len_0.., maps..]`, section 8.1).
fn select_need(node: &Node, mut e: usize) -> Option<usize> {
    let shape = node.inShapes.first()?;
    let r = shape.len();
    let attr = |i: usize| {
        node.attrs
            .get(i)
            .and_then(|a| usize::try_from(a.as_i64()).ok())
    };
    let lens: Vec<usize> = (0..r).map(attr).collect::<Option<_>>()?;
    let mut starts = Vec::with_capacity(r);
    let mut at = r;
    for &k in &lens {
        starts.push(at);
        at = at.checked_add(k)?;
    }
    let (mut src, mut stride) = (0usize, 1usize);
    for a in (0..r).rev() {
        let o = e % dim(&node.outShape, a).max(1);
        e /= dim(&node.outShape, a).max(1);
        let i = if lens[a] == 0 {
            o
        } else {
            attr(starts[a] + o)?
        };
        src = src.checked_add(i.checked_mul(stride)?)?;
        stride = stride.checked_mul(dim(shape, a))?;
    }
    Some(src)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::I256;

    #[test]
    fn a_reduce_element_reads_its_span_not_the_whole_input() {
        let u = |v: &[u64]| v.iter().map(|&x| U256::from(x)).collect::<Vec<_>>();
        let node = Node {
            op: crate::graph::op::REDUCE,
            inputs: vec![U256::ZERO],
            inShapes: vec![u(&[1, 4, 3, 5])],
            consts: vec![],
            constShapes: vec![],
            outShape: u(&[1, 3]),
            // mean over axes 1 and 3
            attrs: [1i64, 1, 0, -128, 127, 1, 3]
                .iter()
                .map(|&a| I256::try_from(a).unwrap())
                .collect(),
        };
        // element 2 keeps axis-2 coordinate 2: base 2·5, span 1 + 3·15 + 4·1
        assert_eq!(need(&node, false, 0, 2), (10, 60));
        assert_eq!(need(&node, false, 0, 0), (0, 50));
        // every element the reduction reads is inside the window
        for e in 0..3 {
            let (lo, hi) = need(&node, false, 0, e);
            for (i1, i3) in (0..4).flat_map(|i| (0..5).map(move |j| (i, j))) {
                assert!((lo..hi).contains(&(i1 * 15 + e * 5 + i3)));
            }
        }
    }

    #[test]
    fn a_select_element_reads_one_input_element() {
        let u = |v: &[u64]| v.iter().map(|&x| U256::from(x)).collect::<Vec<_>>();
        // X [2, 3, 4]; axis 1 reversed and cut to [2, 0], axis 2 tiled to [0, 1, 2, 3, 0]
        let attrs = [0i64, 2, 5, 2, 0, 0, 1, 2, 3, 0];
        let node = Node {
            op: crate::graph::op::SELECT,
            inputs: vec![U256::ZERO],
            inShapes: vec![u(&[2, 3, 4])],
            consts: vec![],
            constShapes: vec![],
            outShape: u(&[2, 2, 5]),
            attrs: attrs.iter().map(|&a| I256::try_from(a).unwrap()).collect(),
        };
        let x: Vec<usize> = (0..24).collect();
        let maps = vec![vec![], vec![2, 0], vec![0, 1, 2, 3, 0]];
        let want = vouch_engine::ops::select_index(&[2, 3, 4], &maps).1;
        for (e, &w) in want.iter().enumerate() {
            assert_eq!(need(&node, false, 0, e), (x[w], x[w] + 1), "element {e}");
        }
    }

    #[test]
    fn a_gather_element_reads_its_index_then_the_element_it_names() {
        use crate::graph::op::GATHER;
        // X [2, 5, 3] computed, I [4], axis 1: Z [2, 4, 3]; Z[1, 2, 0] reads I[2]
        let n = node(GATHER, &[&[2, 5, 3], &[4]], &[2, 4, 3], &[1]);
        let e = 12 + 2 * 3;
        assert_eq!(need(&n, false, 1, e), (2, 3));
        assert_eq!(gather_at(&n, e), Some((1, 2, 0)));
        // I[2] = 3: X[1, 3, 0]; -1: X[1, 4, 0]; 9 and -9 clamp to X[1, 4, 0] and X[1, 0, 0]
        assert_eq!(gather_source(&n, e, 3), Some(15 + 9));
        assert_eq!(gather_source(&n, e, -1), Some(15 + 12));
        assert_eq!(gather_source(&n, e, 9), Some(15 + 12));
        assert_eq!(gather_source(&n, e, -9), Some(15));
        // a constant table [6, 4] picked by I [2, 3] along axis 0: the index is the one input
        let mut t = node(GATHER, &[&[2, 3]], &[2, 3, 4], &[0]);
        t.consts = vec![U256::ZERO];
        t.constShapes = vec![vec![U256::from(6u64), U256::from(4u64)]];
        assert_eq!(need(&t, false, 0, 4 * 4 + 1), (4, 5));
        assert_eq!(gather_source(&t, 4 * 4 + 1, 5), Some(5 * 4 + 1));
        assert_eq!(
            gather_source(&node(crate::graph::op::RELU, &[&[4]], &[4], &[]), 0, 1),
            None
        );
    }

    #[test]
    fn a_lut_element_reads_the_one_entry_its_input_names() {
        let node = |op| Node {
            op,
            inputs: vec![U256::ZERO],
            inShapes: vec![vec![U256::from(4u64)]],
            consts: vec![U256::ZERO],
            constShapes: vec![vec![U256::from(65_536u64)]],
            outShape: vec![U256::from(4u64)],
            attrs: vec![],
        };
        let lut = node(crate::graph::op::LUT);
        assert_eq!(lut_entry(&lut, Some(-32_768), 65_536), Some((0, 1)));
        assert_eq!(lut_entry(&lut, Some(5), 65_536), Some((32_773, 32_774)));
        assert_eq!(lut_entry(&lut, Some(-129), 256), None);
        assert_eq!(lut_entry(&node(crate::graph::op::RELU), Some(5), 256), None);
    }

    fn node(op: u8, ins: &[&[u64]], out: &[u64], attrs: &[i64]) -> Node {
        let u = |v: &[u64]| v.iter().map(|&x| U256::from(x)).collect::<Vec<_>>();
        Node {
            op,
            inputs: ins.iter().map(|_| U256::ZERO).collect(),
            inShapes: ins.iter().map(|s| u(s)).collect(),
            consts: vec![],
            constShapes: vec![],
            outShape: u(out),
            attrs: attrs.iter().map(|&a| I256::try_from(a).unwrap()).collect(),
        }
    }

    #[test]
    fn a_pool_element_reads_its_kernel_rows_inside_the_plane() {
        use crate::graph::op::MAXPOOL;
        // X [1, 2, 8, 8], 3x3 kernel, stride 1, dilation 1, pads 1: output [1, 2, 8, 8]
        let n = node(
            MAXPOOL,
            &[&[1, 2, 8, 8]],
            &[1, 2, 8, 8],
            &[3, 3, 1, 1, 1, 1, 1, 1, 1, 1],
        );
        // plane 1, (3, 3): rows 2..=4, columns 2..=4
        assert_eq!(
            need(&n, false, 0, 64 + 3 * 8 + 3),
            (64 + 2 * 8 + 2, 64 + 4 * 8 + 5)
        );
        // the corner (0, 0) of plane 0: the padding clipped away
        assert_eq!(need(&n, false, 0, 0), (0, 8 + 2));
    }

    #[test]
    fn transpose_pad_concat_and_broadcast_elements_read_one_element() {
        use crate::graph::op::{ADD, CONCAT, PAD, TRANSPOSE};
        // X [2, 3, 4] with perm [2, 0, 1]: Z [4, 2, 3]; Z[3, 1, 2] = X[1, 2, 3]
        let t = node(TRANSPOSE, &[&[2, 3, 4]], &[4, 2, 3], &[2, 0, 1]);
        assert_eq!(need(&t, false, 0, 3 * 6 + 3 + 2), (12 + 8 + 3, 12 + 8 + 4));
        // X [1, 3] edge-padded by 2 on the left: Z [1, 5]; Z[0] reads X[0], Z[4] reads X[2]
        let p = node(PAD, &[&[1, 3]], &[1, 5], &[2, 0, 0, 2, 0, 0]);
        assert_eq!(need(&p, false, 0, 0), (0, 1));
        assert_eq!(need(&p, false, 0, 4), (2, 3));
        // [2, 2] ++ [2, 3] on axis 1: Z[1, 3] is the second input's [1, 1]; the first reads nothing
        let c = node(CONCAT, &[&[2, 2], &[2, 3]], &[2, 5], &[1]);
        assert_eq!(need(&c, false, 1, 8), (4, 5));
        assert_eq!(need(&c, false, 0, 8), (0, 1));
        // [2, 3] + [3]: Z[1, 2] reads X[5] and Y[2]
        let a = node(ADD, &[&[2, 3], &[3]], &[2, 3], &[1, 1, 1, 0, -128, 127]);
        assert_eq!(need(&a, false, 0, 5), (5, 6));
        assert_eq!(need(&a, false, 1, 5), (2, 3));
    }
}
