//! `TreeEnsemble` (`docs/semantics.md` section 3.1): the engine on feature codes reaches the
//! leaves a float walk of the same trees reaches on the float values (every mode, NaN, values
//! on and between thresholds), whatever the batch and thread count; malformed codes fail.

use vouch_engine::Tensor;
use vouch_engine::vectors::{Case, Rng, all_cases};
use vouch_model::{Aggregate, Op};
use vouch_semantics::NodeMode;
use vouch_semantics::tree::feature_code;

fn tree_cases() -> Vec<Case> {
    let groups = all_cases();
    let (_, cases) = groups
        .into_iter()
        .find(|(n, _)| *n == "TreeEnsemble")
        .expect("tree vectors");
    cases
}

/// Feature `f`'s thresholds in case `c`.
fn thresholds(c: &Case, f: usize) -> Vec<f32> {
    let (b, t) = (&c.consts[4].data, &c.consts[5].data);
    t[b[f] as usize..b[f + 1] as usize]
        .iter()
        .map(|&v| f32::from_bits(v as u32))
        .collect()
}

/// The scores of one float row by walking the trees with float comparisons.
fn float_walk(c: &Case, x: &[f32]) -> Vec<i64> {
    let Op::TreeEnsemble { aggregate, .. } = c.op else {
        unreachable!()
    };
    let (nodes, weights, roots, base) = (
        &c.consts[0].data,
        &c.consts[1].data,
        &c.consts[2].data,
        &c.consts[3].data,
    );
    let mut acc: Vec<Option<i64>> = vec![None; base.len()];
    for &root in roots {
        let mut i = root as usize;
        loop {
            let r = &nodes[i * 6..i * 6 + 6];
            let mode = NodeMode::from_code(r[0]).unwrap();
            if mode == NodeMode::Leaf {
                for w in weights[r[4] as usize * 2..(r[4] + r[5]) as usize * 2].chunks(2) {
                    let a = &mut acc[w[0] as usize];
                    let v = i64::from(w[1]);
                    *a = Some(match (aggregate, *a) {
                        (_, None) => v,
                        (Aggregate::Sum, Some(s)) => s + v,
                        (Aggregate::Min, Some(s)) => s.min(v),
                        (Aggregate::Max, Some(s)) => s.max(v),
                    });
                }
                break;
            }
            let f = r[1] as usize;
            let t = thresholds(c, f)[(r[2] as usize - 1) / 2];
            i = if mode.holds_f32(x[f], t, r[3] != 0) {
                r[4]
            } else {
                r[5]
            } as usize;
        }
    }
    acc.iter()
        .zip(base)
        .map(|(a, &b)| i64::from(b) + a.unwrap_or(0))
        .collect()
}

/// Float values for feature `f`: NaN, ±inf, each threshold, just below and above it.
fn values(t: &[f32], r: &mut Rng) -> f32 {
    let k = (r.next_u64() % (t.len() as u64 * 3 + 3)) as usize;
    match k {
        0 => f32::NAN,
        1 => f32::INFINITY,
        2 => f32::NEG_INFINITY,
        k => {
            let v = t[(k - 3) / 3];
            match (k - 3) % 3 {
                0 => v,
                1 => v.next_down(),
                _ => v.next_up(),
            }
        }
    }
}

#[test]
fn codes_reach_the_leaves_of_the_float_walk() {
    let mut r = Rng::new(7);
    for mut c in tree_cases() {
        let f = c.inputs[0].shape[1];
        let rows = 200;
        let xs: Vec<f32> = (0..rows * f)
            .map(|i| values(&thresholds(&c, i % f), &mut r))
            .collect();
        let codes: Vec<i32> = xs
            .iter()
            .enumerate()
            .map(|(i, &x)| feature_code(x, &thresholds(&c, i % f)))
            .collect();
        c.inputs = vec![Tensor {
            shape: vec![rows, f],
            data: codes,
        }];
        c.out_shape = vec![rows, c.out_shape[1]];
        let z = c.run().unwrap();
        let n = c.out_shape[1];
        for (row, x) in xs.chunks(f).enumerate() {
            let want = float_walk(&c, x);
            let got: Vec<i64> = z.data[row * n..row * n + n]
                .iter()
                .map(|&v| i64::from(v))
                .collect();
            assert_eq!(got, want, "{} row {row} x={x:?}", c.name);
        }
        // batch and threads change nothing: row by row, four workers
        for (row, _) in xs.chunks(f).enumerate().take(20) {
            let mut one = c.clone();
            one.inputs = vec![Tensor {
                shape: vec![1, f],
                data: c.inputs[0].data[row * f..row * f + f].to_vec(),
            }];
            one.out_shape = vec![1, n];
            assert_eq!(one.run().unwrap().data, z.data[row * n..row * n + n]);
        }
        assert_eq!(c.run_with_threads(4).unwrap(), z);
    }
}

#[test]
fn codes_outside_a_features_range_are_refused() {
    let mut c = tree_cases().remove(0);
    c.inputs[0].data[1] = 5; // feature 1 has two thresholds: codes up to 4
    let err = c.run().unwrap_err().to_string();
    assert!(err.contains("feature code"), "{err}");
    c.inputs[0].data[1] = -2;
    assert!(c.run().is_err());
}

#[test]
fn malformed_trees_are_refused_by_validation() {
    let base = tree_cases().remove(0);
    // a child before its parent
    let mut c = base.clone();
    c.consts[0].data[4] = 0;
    assert!(c.run().unwrap_err().to_string().contains("children"));
    // an even threshold code
    let mut c = base.clone();
    c.consts[0].data[2] = 2;
    assert!(c.run().unwrap_err().to_string().contains("threshold code"));
    // a weight target out of range
    let mut c = base.clone();
    c.consts[1].data[0] = 2;
    assert!(c.run().unwrap_err().to_string().contains("target"));
    // a target whose bound reaches 2^31
    let mut c = base.clone();
    c.consts[1].data[1] = i32::MAX;
    assert!(c.run().unwrap_err().to_string().contains("2^31"));
    // unsorted thresholds
    let mut c = base;
    c.consts[5].data.swap(0, 1);
    assert!(c.run().unwrap_err().to_string().contains("increasing"));
}

/// A random forest over `f` features with `th[k]` thresholds each: every node mode, both
/// missing directions, threshold codes anywhere in and around the code range, 1-3 targets.
fn random_forest(r: &mut Rng, f: usize, th: &[i32]) -> (Vec<i32>, Vec<i32>, Vec<i32>, Vec<i32>) {
    let (mut nodes, mut weights, mut roots) = (Vec::new(), Vec::new(), Vec::new());
    let n = 1 + (r.next_u64() % 3) as usize;
    for _ in 0..1 + r.next_u64() % 12 {
        roots.push((nodes.len() / 6) as i32);
        // a full tree of random depth, breadth first: children after their parent
        let depth = (r.next_u64() % 7) as u32;
        let first = (nodes.len() / 6) as i32;
        let total = (1i32 << (depth + 1)) - 1;
        for k in 0..total {
            let level = 31 - (k + 1).leading_zeros();
            if level == depth || r.next_u64().is_multiple_of(9) && k > 0 && level + 1 < depth {
                let count = (r.next_u64() % 3) as i32;
                nodes.extend([6, 0, 0, 0, (weights.len() / 2) as i32, count]);
                for _ in 0..count {
                    weights.push((r.next_u64() % n as u64) as i32);
                    weights.push((r.next_u64() % 2001) as i32 - 1000);
                }
                continue;
            }
            let feat = (r.next_u64() % f as u64) as usize;
            let c = (r.next_u64() % (2 * th[feat] as u64 + 5)) as i32 - 2;
            let mode = (r.next_u64() % 6) as i32;
            let missing = (r.next_u64() % 2) as i32;
            nodes.extend([
                mode,
                feat as i32,
                c,
                missing,
                first + 2 * k + 1,
                first + 2 * k + 2,
            ]);
        }
    }
    let base = (0..n).map(|_| (r.next_u64() % 101) as i32 - 50).collect();
    (nodes, weights, roots, base)
}

#[test]
fn compiled_walk_matches_the_reference_walk() {
    use vouch_engine::ops::{Compiled, Trees, tree_ensemble_with};
    let mut r = Rng::new(11);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for _ in 0..300 {
        let f = 1 + (r.next_u64() % 5) as usize;
        let th: Vec<i32> = (0..f).map(|_| (r.next_u64() % 6) as i32).collect();
        let mut bounds = vec![0];
        for t in &th {
            bounds.push(bounds.last().unwrap() + t);
        }
        let (nodes, weights, roots, base) = random_forest(&mut r, f, &th);
        for aggregate in [Aggregate::Sum, Aggregate::Min, Aggregate::Max] {
            let trees = Trees {
                nodes: &nodes,
                weights: &weights,
                roots: &roots,
                base: &base,
                bounds: &bounds,
                aggregate,
            };
            let compiled = Compiled::new(&trees).expect("a well-formed forest compiles");
            let rows = 1 + (r.next_u64() % 40) as usize;
            let data = (0..rows * f)
                .map(|i| (r.next_u64() % (2 * th[i % f] as u64 + 2)) as i32 - 1)
                .collect();
            let x = Tensor {
                shape: vec![rows, f],
                data,
            };
            let shape = [rows, base.len()];
            let want = tree_ensemble_with(&x, &trees, None, &shape).unwrap();
            let got = tree_ensemble_with(&x, &trees, Some(&compiled), &shape).unwrap();
            assert_eq!(got, want, "{aggregate:?} nodes {nodes:?} x {:?}", x.data);
            // inside a pool of two, eight rows or more split into blocks (the engine runs
            // small batches inline, so its thread tests may never reach this path)
            let split = pool.install(|| tree_ensemble_with(&x, &trees, Some(&compiled), &shape));
            assert_eq!(split.unwrap(), want, "{aggregate:?} in a pool of two");
        }
    }
}
