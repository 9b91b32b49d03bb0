//! `Linear` on the fast paths (the input packed into reused per-thread buffers, the
//! accumulators finished by the vectorized loop of `gemm::finish`) gives the reference path's
//! integers (`VOUCH_ENGINE_REFERENCE`), on 1 and 2 threads, and each row the same as that row
//! run alone: `act16` inputs with values at the `i16` bounds, weights at `±32767`, row lengths
//! and output widths that leave tails past the vector width, negative sums whose rounding
//! matters, with and without a bias, `i64` accumulators (requantized) and `i32` ones (wide).

use vouch_engine::vectors::{Case, Rng};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Kind, Op, Requant};

/// A `Linear` of `x` (`[rows, k]`) by `w` (`[n, k]`), requantized onto `act16` or wide.
fn case(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, wide: bool) -> Case {
    let (rows, n) = (x.shape[0], w.shape[0]);
    Case {
        name: "linear".into(),
        op: Op::Linear {
            weight: 0,
            bias: bias.map(|_| 1),
            rq: Requant {
                m: if wide { 1 } else { 20_001 },
                s: if wide { 0 } else { 33 },
                lo: if wide { i32::MIN } else { -32_768 },
                hi: if wide { i32::MAX } else { 32_767 },
            },
            wide,
        },
        inputs: vec![x.clone()],
        consts: std::iter::once(w.clone()).chain(bias.cloned()).collect(),
        out_shape: vec![rows, n],
        out_kind: if wide { Kind::Wide } else { Kind::Act16 },
    }
}

fn run(c: &Case, threads: usize, reference: bool) -> Vec<i32> {
    // SAFETY: this test binary's only test; set before the engine reads it.
    unsafe {
        std::env::set_var(
            vouch_engine::profile::REFERENCE_ENV,
            if reference { "1" } else { "0" },
        )
    };
    let pkg = c.package();
    pkg.validate().expect("valid package");
    let engine = Engine::new(
        &pkg,
        Options {
            threads,
            trace: false,
        },
    )
    .expect("engine");
    engine.run(c.inputs.clone()).expect("run").outputs[0]
        .data
        .clone()
}

#[test]
fn the_fast_linear_gives_the_reference_integers() {
    let mut r = Rng::new(0x11ea);
    let mut checked = 0;
    for rows in [1, 3, 8, 9] {
        for k in [1, 17, 64, 67] {
            for n in [1, 7, 16, 67] {
                for (wide, with_bias) in [(false, false), (false, true), (true, true)] {
                    let x = r.act16(&[rows, k]);
                    // wide: weights of magnitude 1 keep the section 4 bound inside `i32`
                    let w = if wide {
                        r.tensor(&[n, k], -1, 1)
                    } else {
                        r.with_edges(&[n, k], -32_767, 32_767)
                    };
                    let b = r.tensor(&[n], -(1 << 20), 1 << 20);
                    let c = case(&x, &w, with_bias.then_some(&b), wide);
                    let want = run(&c, 1, true);
                    assert_eq!(want.len(), rows * n);
                    for threads in [1, 2] {
                        assert_eq!(
                            run(&c, threads, false),
                            want,
                            "{rows}x{k} by {n}, wide {wide}, bias {with_bias}, {threads} threads"
                        );
                    }
                    // each row alone, on the fast path
                    for row in 0..rows {
                        let one = Tensor {
                            shape: vec![1, k],
                            data: x.data[row * k..(row + 1) * k].to_vec(),
                        };
                        let c1 = case(&one, &w, with_bias.then_some(&b), wide);
                        assert_eq!(run(&c1, 1, false), want[row * n..(row + 1) * n]);
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 4 * 4 * 4 * 3);
}
