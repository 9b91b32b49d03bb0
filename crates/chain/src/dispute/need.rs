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
        _ => all,
    }
}

/// The elements of output `o`'s bias (constant 1) among `n` outputs: its one value, or its
/// `[hi, lo]` pair when the bias is wide (`[N, 2]`, docs/semantics.md section 3).
pub(super) fn bias_need(node: &Node, n: usize, o: usize) -> (usize, usize) {
    let wide = node
        .constShapes
        .get(1)
        .is_some_and(|b| b.len() == 2 && dim(b, 0) == n && dim(b, 1) == 2);
    if wide { (2 * o, 2 * o + 2) } else { (o, o + 1) }
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
}
