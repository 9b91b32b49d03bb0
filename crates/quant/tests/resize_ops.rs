//! ONNX `ConvTranspose` and `Resize` are lowered by the importer into existing float ops (a
//! `Conv` over a zero-stuffed input; a `Select` or a `Linear` per axis): the float reference of
//! the lowered graph computes the ONNX definitions (checked here against a direct `f64`
//! computation: the scatter form of a transposed convolution, and separable bilinear
//! interpolation).

#![allow(clippy::unwrap_used, missing_docs)]

mod one_node;

use one_node::{init, int, ints, string};

use prost::Message as _;
use vouch_onnx::proto::{AttributeProto, ModelProto, TensorProto};
use vouch_quant::FTensor;

/// One node `op(inputs) -> y` on the float input `x` of `shape`, run by the float reference;
/// the output's shape and data.
fn run(
    op: &str,
    inputs: &[&str],
    attrs: Vec<AttributeProto>,
    inits: Vec<TensorProto>,
    shape: &[usize],
    x: &[f32],
) -> (Vec<usize>, Vec<f32>) {
    one_node::run(19, op, inputs, attrs, inits, shape, x)
}

/// A fixed, irregular input of `n` values in about `[-3, 3]`.
fn data(n: usize, salt: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i + salt) * 37 % 23) as f32 - 11.0) / 3.7 + (i % 3) as f32 * 0.1)
        .collect()
}

fn assert_close(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(*g) - w).abs() <= 1e-4 * w.abs().max(1.0),
            "element {i}: {g} vs {w}"
        );
    }
}

/// The 2-D transposed convolution by its definition: every input element scatters its
/// kernel, `y[n, g·co_g + o, i·s + k·d - pad]  += x[n, g·ci_g + c, i] · w[g·ci_g + c, o, k]`.
#[allow(clippy::too_many_arguments)]
fn conv_transpose_direct(
    x: &[f32],
    [n, ci, h, w]: [usize; 4],
    wt: &[f32],
    [kh, kw]: [usize; 2],
    co_g: usize,
    group: usize,
    bias: &[f32],
    s: [usize; 2],
    d: [usize; 2],
    pads: [i64; 4],
    out: [usize; 2],
) -> Vec<f64> {
    let (ci_g, co) = (ci / group, co_g * group);
    let mut y = vec![0f64; n * co * out[0] * out[1]];
    for b in 0..n {
        for (o, &bv) in bias.iter().enumerate() {
            for p in 0..out[0] * out[1] {
                y[(b * co + o) * out[0] * out[1] + p] = f64::from(bv);
            }
        }
        for c in 0..ci {
            let g = c / ci_g;
            for i in 0..h {
                for j in 0..w {
                    let xv = f64::from(x[((b * ci + c) * h + i) * w + j]);
                    for o in 0..co_g {
                        for a in 0..kh {
                            for e in 0..kw {
                                let yy = (i * s[0] + a * d[0]) as i64 - pads[0];
                                let yx = (j * s[1] + e * d[1]) as i64 - pads[1];
                                if yy < 0 || yx < 0 || yy >= out[0] as i64 || yx >= out[1] as i64 {
                                    continue;
                                }
                                let wv = f64::from(wt[((c * co_g + o) * kh + a) * kw + e]);
                                let oc = g * co_g + o;
                                y[((b * co + oc) * out[0] + yy as usize) * out[1] + yx as usize] +=
                                    xv * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    y
}

#[test]
fn conv_transpose_is_the_scatter_of_each_input_element() {
    // (input [N, C, H, W], kernel, C_out / group, group, strides, dilations, pads, output_padding)
    type Case = (
        [usize; 4],
        [usize; 2],
        usize,
        usize,
        [usize; 2],
        [usize; 2],
        [i64; 4],
        [i64; 2],
    );
    let cases: [Case; 5] = [
        ([1, 1, 3, 3], [3, 3], 2, 1, [1, 1], [1, 1], [0; 4], [0, 0]),
        ([2, 4, 3, 2], [2, 2], 3, 2, [2, 2], [1, 1], [0; 4], [0, 0]),
        (
            [1, 2, 4, 3],
            [3, 2],
            2,
            1,
            [3, 2],
            [2, 1],
            [1, 0, 2, 1],
            [1, 1],
        ),
        (
            [1, 3, 2, 2],
            [3, 3],
            1,
            3,
            [2, 2],
            [1, 1],
            [1, 1, 1, 1],
            [1, 1],
        ),
        (
            [1, 1, 5, 4],
            [2, 3],
            1,
            1,
            [1, 2],
            [1, 2],
            [3, 0, 0, 4],
            [0, 1],
        ),
    ];
    for (shape, k, co_g, group, s, d, pads, op) in cases {
        let ci = shape[1];
        let wt = data(ci * co_g * k[0] * k[1], 5);
        let bias: Vec<f32> = (0..co_g * group).map(|o| o as f32 * 0.25 - 0.5).collect();
        let x = data(shape.iter().product(), 0);
        let out: [usize; 2] = std::array::from_fn(|a| {
            let v = s[a] as i64 * (shape[2 + a] as i64 - 1)
                + op[a]
                + (k[a] as i64 - 1) * d[a] as i64
                + 1
                - pads[a]
                - pads[a + 2];
            v as usize
        });
        let want = conv_transpose_direct(&x, shape, &wt, k, co_g, group, &bias, s, d, pads, out);
        let as_i = |v: [usize; 2]| v.map(|x| x as i64);
        let (got_shape, got) = run(
            "ConvTranspose",
            &["x", "w", "b"],
            vec![
                ints("strides", &as_i(s)),
                ints("dilations", &as_i(d)),
                ints("pads", &pads),
                ints("output_padding", &op),
                int("group", group as i64),
            ],
            vec![
                init("w", &[ci, co_g, k[0], k[1]], &wt),
                init("b", &[co_g * group], &bias),
            ],
            &shape,
            &x,
        );
        assert_eq!(got_shape, [shape[0], co_g * group, out[0], out[1]]);
        assert_close(&got, &want);
    }
}

/// Bilinear interpolation of one `[h, w]` image at the output size, `half_pixel` coordinates
/// clamped at the edges, computed directly from the four neighbours of each output pixel.
fn bilinear_direct(x: &[f32], [h, w]: [usize; 2], [oh, ow]: [usize; 2]) -> Vec<f64> {
    let src = |o: usize, n: usize, on: usize| {
        let c = ((o as f64 + 0.5) * n as f64 / on as f64 - 0.5).clamp(0.0, (n - 1) as f64);
        let i0 = c.floor() as usize;
        (i0, (i0 + 1).min(n - 1), c - i0 as f64)
    };
    let mut y = Vec::with_capacity(oh * ow);
    for a in 0..oh {
        let (r0, r1, fr) = src(a, h, oh);
        for b in 0..ow {
            let (c0, c1, fc) = src(b, w, ow);
            let p = |r: usize, c: usize| f64::from(x[r * w + c]);
            let top = p(r0, c0) * (1.0 - fc) + p(r0, c1) * fc;
            let bottom = p(r1, c0) * (1.0 - fc) + p(r1, c1) * fc;
            y.push(top * (1.0 - fr) + bottom * fr);
        }
    }
    y
}

#[test]
fn linear_resize_is_bilinear_interpolation() {
    for (h, w, oh, ow) in [(3, 4, 6, 8), (5, 3, 2, 7), (4, 4, 9, 3)] {
        let x = data(2 * h * w, 3);
        let sizes = TensorProto {
            name: "sizes".into(),
            dims: vec![4],
            data_type: 7,
            int64_data: vec![1, 2, oh as i64, ow as i64],
            ..Default::default()
        };
        let (shape, got) = run(
            "Resize",
            &["x", "", "", "sizes"],
            vec![string("mode", "linear")],
            vec![sizes],
            &[1, 2, h, w],
            &x,
        );
        assert_eq!(shape, [1, 2, oh, ow]);
        let want: Vec<f64> = x
            .chunks(h * w)
            .flat_map(|img| bilinear_direct(img, [h, w], [oh, ow]))
            .collect();
        assert_close(&got, &want);
    }
}

/// Every exported ONNX backend case of `Resize`, `Upsample` and `ConvTranspose`
/// (`target/onnx-node`, written by `testdata/onnx-node/export.py`): the float reference of the
/// lowered graph equals the expected output to `f32` rounding (the lowering is exact; the
/// integer run of `onnx_node.rs` then only adds the quantization error).
#[test]
fn lowered_backend_cases_match_the_onnx_outputs_in_float() {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/onnx-node");
    assert!(
        base.is_dir(),
        "{} is missing: run `python3 testdata/onnx-node/export.py`",
        base.display()
    );
    let read = |p: std::path::PathBuf| {
        let bytes = std::fs::read(&p).unwrap();
        let (shape, data) = vouch_onnx::decode_tensor(&bytes).unwrap();
        FTensor { shape, data }
    };
    let mut checked = Vec::new();
    for suite in ["node", "pytorch-converted", "pytorch-operator"] {
        for e in std::fs::read_dir(base.join(suite)).unwrap() {
            let dir = e.unwrap().path();
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let lower = name.to_lowercase();
            if !["resize", "upsample", "convtranspose"]
                .iter()
                .any(|k| lower.contains(k))
            {
                continue;
            }
            let data = dir.join("test_data_set_0");
            let mut model =
                ModelProto::decode(&*std::fs::read(dir.join("model.onnx")).unwrap()).unwrap();
            // every input after the first is a parameter (weights, scales, sizes, roi)
            let graph = model.graph.as_mut().unwrap();
            let inits: Vec<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
            let names: Vec<String> = graph
                .input
                .iter()
                .map(|i| i.name.clone())
                .filter(|n| !inits.contains(n))
                .collect();
            for (i, n) in names.iter().enumerate().skip(1) {
                let bytes = std::fs::read(data.join(format!("input_{i}.pb"))).unwrap();
                let mut t = TensorProto::decode(bytes.as_slice()).unwrap();
                t.name = n.clone();
                graph.initializer.push(t);
            }
            let g = vouch_onnx::import(&model.encode_to_vec(), &Default::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let x = read(data.join("input_0.pb"));
            let want = read(data.join("output_0.pb"));
            let values = vouch_quant::float::run(&g, vec![x]).unwrap();
            let got = &values[g.outputs[0]];
            assert_eq!(got.shape, want.shape, "{name}");
            let scale = want.data.iter().fold(1f32, |m, v| m.max(v.abs()));
            for (i, (a, b)) in got.data.iter().zip(&want.data).enumerate() {
                assert!(
                    (a - b).abs() <= 2e-6 * scale,
                    "{name}: element {i}: {a} vs {b}"
                );
            }
            checked.push(name);
        }
    }
    assert!(checked.len() >= 50, "{checked:?}");
}
