//! The committed test vectors are exactly what this engine computes (drift check), and every
//! case's output agrees with an independent scalar reference of `docs/semantics.md`.

use vouch_engine::vectors::{all_cases, render_all};

#[test]
fn committed_vectors_match_the_engine() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors");
    let rendered = render_all().expect("every case runs");
    assert!(rendered.len() >= 17, "one file per op");
    for (name, text) in rendered {
        let committed = std::fs::read_to_string(dir.join(&name))
            .unwrap_or_else(|e| panic!("testdata/vectors/{name}: {e}; run `cargo run -p vouch-engine --example write_vectors`"));
        assert!(
            committed == text,
            "testdata/vectors/{name} is stale; run `cargo run -p vouch-engine --example write_vectors`"
        );
    }
}

/// Linear recomputed element by element with `i128`, independent of the packed kernels.
#[test]
fn linear_vectors_match_scalar_reference() {
    let groups = all_cases();
    let (_, cases) = groups.iter().find(|(n, _)| *n == "Linear").unwrap();
    for c in cases {
        let vouch_model::Op::Linear { rq, wide, bias, .. } = &c.op else {
            unreachable!()
        };
        let z = c.run().unwrap();
        let (w, x) = (&c.consts[0], &c.inputs[0]);
        let (n, k) = (w.shape[0], w.shape[1]);
        for (i, out) in z.data.iter().enumerate() {
            let (row, col) = (i / n, i % n);
            // a wide [N, 2] bias is B[n, 0] * 2^31 + B[n, 1] (semantics version 5); a
            // per-channel [N, 3] one the same pair then M[n] (version 6, the node's M is 0)
            let b = |j: usize| i128::from(c.consts[1].data[j]);
            let cols = match bias {
                Some(_) if c.consts[1].shape == [n, 2] || c.consts[1].shape == [n, 3] => {
                    c.consts[1].shape[1]
                }
                _ => 1,
            };
            let mut acc: i128 = match bias {
                None => 0,
                Some(_) if cols > 1 => b(cols * col) * (1 << 31) + b(cols * col + 1),
                Some(_) => b(col),
            };
            let m = if cols == 3 {
                assert_eq!(rq.m, 0, "{}: a per-channel node's own M is 0", c.name);
                b(3 * col + 2)
            } else {
                i128::from(rq.m)
            };
            for t in 0..k {
                acc += i128::from(x.data[row * k + t]) * i128::from(w.data[col * k + t]);
            }
            let want = if *wide {
                acc
            } else {
                let p = acc * m;
                let r = if rq.s == 0 {
                    p
                } else {
                    (p + (1i128 << (rq.s - 1))).div_euclid(1i128 << rq.s)
                };
                r.clamp(i128::from(rq.lo), i128::from(rq.hi))
            };
            assert_eq!(i128::from(*out), want, "{} element {i}", c.name);
        }
    }
}

/// A product's inputs are packed into `i16` lanes: a `wide` tensor (or a constant beyond 16
/// bits) feeding `Linear` or `MatMul` is refused with the reason, never silently saturated.
#[test]
fn wide_operands_of_products_are_refused() {
    let groups = all_cases();
    let find = |op: &str, name: &str| {
        let (_, cases) = groups.iter().find(|(n, _)| *n == op).unwrap();
        cases.iter().find(|c| c.name == name).unwrap().clone()
    };
    let mut lin = find("Linear", "linear_0");
    lin.inputs[0].data[0] = 40_000; // makes the input kind wide
    let err = lin.run().unwrap_err().to_string();
    assert!(err.contains("cannot feed a product"), "{err}");
    let mut mm = find("MatMul", "matmul_0");
    mm.inputs[1].data[0] = -70_000;
    let err = mm.run().unwrap_err().to_string();
    assert!(err.contains("must be act8/act16"), "{err}");
}

/// `Gather` recomputed element by element from the definition (coordinates, negative indices
/// counted from the end once, then clamped), independent of the kernel's slab copies.
#[test]
fn gather_vectors_match_the_definition() {
    let mut seen = 0;
    for (_, cases) in all_cases() {
        for c in cases {
            let vouch_model::Op::Gather { axis } = c.op else {
                continue;
            };
            let axis = axis as usize;
            let (x, idx) = match c.inputs.as_slice() {
                [idx] => (&c.consts[0], idx),
                [x, idx] => (x, idx),
                _ => panic!("{}: a Gather has one or two inputs", c.name),
            };
            let z = c.run().expect("the case runs");
            let n = x.shape[axis] as i64;
            let inner: usize = x.shape[axis + 1..].iter().product();
            let (m, q) = (idx.data.len(), inner);
            for (e, &got) in z.data.iter().enumerate() {
                let (o, p, i) = (e / (m * q), (e / q) % m, e % q);
                let v = i64::from(idx.data[p]);
                let j = (if v < 0 { v + n } else { v }).clamp(0, n - 1) as usize;
                let want = x.data[(o * n as usize + j) * inner + i];
                assert_eq!(got, want, "{} element {e}", c.name);
            }
            seen += 1;
        }
    }
    assert!(seen >= 3, "the Gather cases are drawn");
}
