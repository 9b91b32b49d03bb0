//! ONNX `Resize`, `Upsample` and `ConvTranspose`, lowered into existing float ops (`Select`,
//! `Linear` between `Transpose`s; `Pad`, `Select`, `Conv`): the graph each form lowers to, and
//! every refused form (an error naming the node, never a panic).

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape, tf, ti};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::{Error, FGraph, FOp, Operand};

/// `Resize(x, roi, scales, sizes)` at `opset` on `x` of `shape`; `scales` / `sizes` as
/// constants (an empty name leaves the input out).
fn resize(
    opset: i64,
    shape: &[i64],
    scales: Option<&[f32]>,
    sizes: Option<&[i64]>,
    attrs: Vec<A<'_>>,
) -> Vec<u8> {
    let mut inits = vec![];
    let mut ins = vec!["x", ""];
    match scales {
        Some(s) => {
            inits.push(tf("scales", &[s.len() as i64], s));
            ins.push("scales");
        }
        None => ins.push(""),
    }
    if let Some(s) = sizes {
        inits.push(ti("sizes", &[s.len() as i64], s));
        ins.push("sizes");
    }
    model(
        opset,
        vec![node("Resize", &ins, &["y"], attrs)],
        inits,
        vec![input("x", shape)],
        &["y"],
    )
}

fn maps(g: &FGraph, i: usize) -> Vec<Vec<usize>> {
    match &g.nodes[i].op {
        FOp::Select { maps } => maps.clone(),
        op => panic!("expected a Select, got {op:?}"),
    }
}

fn weight(g: &FGraph, i: usize) -> (Vec<usize>, Vec<f32>) {
    match &g.nodes[i].op {
        FOp::Linear { weight, .. } | FOp::Conv { weight, .. } => (
            g.consts[*weight].shape.clone(),
            g.consts[*weight].data.clone(),
        ),
        op => panic!("expected a Linear or Conv, got {op:?}"),
    }
}

fn unsupported(e: Error) -> (String, String, String) {
    match e {
        Error::UnsupportedForm { node, op, reason } => (node, op, reason),
        e => panic!("expected an unsupported form, got {e}"),
    }
}

#[test]
fn nearest_is_one_select_of_every_resized_axis() {
    let attrs = vec![
        A::S("coordinate_transformation_mode", "asymmetric"),
        A::S("nearest_mode", "floor"),
    ];
    let g = imp(&resize(
        13,
        &[-1, 2, 2, 3],
        Some(&[1.0, 1.0, 2.0, 2.0]),
        None,
        attrs,
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Select"]);
    assert_eq!(
        maps(&g, 0),
        [vec![], vec![], vec![0, 0, 1, 1], vec![0, 0, 1, 1, 2, 2]]
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(4), Fixed(6)]);
    // the default (half_pixel, round_prefer_floor) downsampling 4 -> 2 reads 0.5 -> 0, 2.5 -> 2
    let g = imp(&resize(13, &[-1, 1, 4], None, Some(&[1, 1, 2]), vec![])).unwrap();
    assert_eq!(maps(&g, 0), [vec![], vec![], vec![0, 2]]);
    // round_prefer_ceil picks the upper neighbour on the tie
    let attrs = vec![A::S("nearest_mode", "round_prefer_ceil")];
    let g = imp(&resize(13, &[-1, 1, 4], None, Some(&[1, 1, 2]), attrs)).unwrap();
    assert_eq!(maps(&g, 0), [vec![], vec![], vec![1, 3]]);
}

#[test]
fn bilinear_is_a_linear_per_axis_the_inner_one_between_transposes() {
    let attrs = vec![A::S("mode", "linear")];
    let g = imp(&resize(
        19,
        &[-1, 1, 2, 2],
        Some(&[1.0, 1.0, 2.0, 2.0]),
        None,
        attrs,
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Linear", "Transpose", "Linear", "Transpose"]);
    let (shape, w) = weight(&g, 0);
    assert_eq!(shape, [4, 2]);
    // half_pixel sources -0.25, 0.25, 0.75, 1.25 (clamped at the edges)
    assert_eq!(w, [1.0, 0.0, 0.75, 0.25, 0.25, 0.75, 0.0, 1.0]);
    assert_eq!(
        g.nodes[1].op,
        FOp::Transpose {
            perm: vec![0, 1, 3, 2]
        }
    );
    assert_eq!(weight(&g, 2).0, [4, 2]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(4), Fixed(4)]);
    // linear downsampling by 2 onto integral sources (asymmetric) is a selection
    let attrs = vec![
        A::S("mode", "linear"),
        A::S("coordinate_transformation_mode", "asymmetric"),
    ];
    let g = imp(&resize(
        19,
        &[-1, 1, 4, 4],
        Some(&[1.0, 1.0, 0.5, 0.5]),
        None,
        attrs,
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Select"]);
    assert_eq!(maps(&g, 0)[2], [0, 2]);
}

#[test]
fn mixed_axes_select_first_then_interpolate() {
    // height doubled by nearest-equivalent integral sources, width by a true interpolation
    let attrs = vec![
        A::S("mode", "linear"),
        A::S("coordinate_transformation_mode", "align_corners"),
    ];
    let g = imp(&resize(
        13,
        &[-1, 1, 3, 2],
        None,
        Some(&[1, 1, 5, 3]),
        attrs,
    ))
    .unwrap();
    // align_corners 3 -> 5 reads 0, 0.5, 1, 1.5, 2: a matrix; 2 -> 3 reads 0, 0.5, 1
    assert_eq!(ops(&g), ["Linear", "Transpose", "Linear", "Transpose"]);
    assert_eq!(weight(&g, 0).1, [1.0, 0.0, 0.5, 0.5, 0.0, 1.0]);
    let attrs = vec![A::S("mode", "linear")];
    let g = imp(&resize(
        13,
        &[-1, 1, 3, 2],
        None,
        Some(&[1, 1, 6, 1]),
        attrs,
    ))
    .unwrap();
    // half_pixel 2 -> 1 reads 0.5: a matrix on width; 3 -> 6: a matrix on height
    assert_eq!(ops(&g), ["Linear", "Transpose", "Linear", "Transpose"]);
    let attrs = vec![
        A::S("mode", "linear"),
        A::S("coordinate_transformation_mode", "asymmetric"),
    ];
    let g = imp(&resize(
        13,
        &[-1, 1, 4, 2],
        None,
        Some(&[1, 1, 2, 4]),
        attrs,
    ))
    .unwrap();
    // height 4 -> 2 at integral sources is a Select; width 2 -> 4 reads 0, 0.5, 1, 1.5
    assert_eq!(ops(&g), ["Select", "Linear"]);
    assert_eq!(maps(&g, 0)[2], [0, 2]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(2), Fixed(4)]);
}

#[test]
fn sizes_axes_and_aspect_ratio_policy() {
    // opset 18 axes [3, 2]: sizes per listed axis; not_larger keeps the smaller scale (2)
    let attrs = vec![
        A::Is("axes", &[3, 2]),
        A::S("keep_aspect_ratio_policy", "not_larger"),
    ];
    let g = imp(&resize(18, &[-1, 1, 2, 2], None, Some(&[6, 4]), attrs)).unwrap();
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(4), Fixed(4)]);
    let attrs = vec![
        A::Is("axes", &[2, 3]),
        A::S("keep_aspect_ratio_policy", "not_smaller"),
    ];
    let g = imp(&resize(18, &[-1, 1, 2, 2], None, Some(&[6, 4]), attrs)).unwrap();
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(6), Fixed(6)]);
    // scales give floor(in * scale)
    let g = imp(&resize(
        13,
        &[-1, 1, 5],
        Some(&[1.0, 1.0, 0.6]),
        None,
        vec![],
    ))
    .unwrap();
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(3)]);
    // the symbolic batch size in sizes (a Shape of the input, as exporters write it)
    let m = model(
        15,
        vec![
            node("Shape", &["x"], &["n"], vec![A::I("end", 1)]),
            node("Concat", &["n", "rest"], &["sizes"], vec![A::I("axis", 0)]),
            node("Resize", &["x", "", "", "sizes"], &["y"], vec![]),
        ],
        vec![ti("rest", &[2], &[1, 4])],
        vec![input("x", &[-1, 1, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Select"]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(4)]);
}

#[test]
fn crop_and_resize_extrapolates_through_the_bias() {
    let m = model(
        13,
        vec![node(
            "Resize",
            &["x", "roi", "", "sizes"],
            &["y"],
            vec![
                A::S("mode", "linear"),
                A::S("coordinate_transformation_mode", "tf_crop_and_resize"),
                A::F("extrapolation_value", 10.0),
            ],
        )],
        vec![
            tf("roi", &[6], &[0.0, 0.0, 0.4, 1.0, 1.0, 1.2]),
            ti("sizes", &[3], &[1, 1, 3]),
        ],
        vec![input("x", &[-1, 1, 4])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Linear"]);
    let FOp::Linear {
        bias: Some(bias), ..
    } = &g.nodes[0].op
    else {
        panic!("a bias")
    };
    // sources 1.2, 2.4 and 3.6, past the last index 3: the extrapolation value
    assert_eq!(g.consts[*bias].data, [0.0, 0.0, 10.0]);
    let w = weight(&g, 0).1;
    assert_eq!(&w[8..], [0.0; 4]);
}

#[test]
fn cubic_and_antialias_are_matrices_whose_rows_sum_to_one() {
    for attrs in [
        vec![A::S("mode", "cubic")],
        vec![
            A::S("mode", "cubic"),
            A::I("exclude_outside", 1),
            A::F("cubic_coeff_a", -0.5),
        ],
        vec![A::S("mode", "linear"), A::I("antialias", 1)],
        vec![A::S("mode", "cubic"), A::I("antialias", 1)],
    ] {
        let g = imp(&resize(
            18,
            &[-1, 1, 8],
            Some(&[1.0, 1.0, 0.375]),
            None,
            attrs,
        ))
        .unwrap();
        assert_eq!(ops(&g), ["Linear"]);
        let (shape, w) = weight(&g, 0);
        assert_eq!(shape, [3, 8]);
        for row in w.chunks(8) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{row:?}");
        }
    }
}

#[test]
fn opset_10_and_upsample_are_asymmetric() {
    let m = model(
        10,
        vec![node("Resize", &["x", "scales"], &["y"], vec![])],
        vec![tf("scales", &[3], &[1.0, 1.0, 2.0])],
        vec![input("x", &[-1, 1, 3])],
        &["y"],
    );
    assert_eq!(maps(&imp(&m).unwrap(), 0)[2], [0, 0, 1, 1, 2, 2]);
    // downsampling by onnxruntime's rule before opset 11: the upper neighbour
    let m = model(
        10,
        vec![node("Resize", &["x", "scales"], &["y"], vec![])],
        vec![tf("scales", &[3], &[1.0, 1.0, 0.4])],
        vec![input("x", &[-1, 1, 5])],
        &["y"],
    );
    assert_eq!(maps(&imp(&m).unwrap(), 0)[2], [0, 3]);
    let m = model(
        7,
        vec![node(
            "Upsample",
            &["x"],
            &["y"],
            vec![A::Fs("scales", &[1.0, 1.0, 2.0, 3.0])],
        )],
        vec![],
        vec![input("x", &[-1, 1, 1, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(maps(&g, 0)[3], [0, 0, 0, 1, 1, 1]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(2), Fixed(6)]);
    let m = model(
        9,
        vec![node(
            "Upsample",
            &["x", "s"],
            &["y"],
            vec![A::S("mode", "linear")],
        )],
        vec![tf("s", &[3], &[1.0, 1.0, 2.0])],
        vec![input("x", &[-1, 1, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(weight(&g, 0).1, [1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 0.0, 1.0]);
}

#[test]
fn refused_resize_forms_name_the_node_and_the_form() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            resize(13, &[-1, 1, 2], Some(&[2.0, 1.0, 1.0]), None, vec![]),
            "batch axis",
        ),
        (
            model(
                10,
                vec![node(
                    "Resize",
                    &["x", "s"],
                    &["y"],
                    vec![A::S("mode", "cubic")],
                )],
                vec![tf("s", &[3], &[1.0, 1.0, 2.0])],
                vec![input("x", &[-1, 1, 2])],
                &["y"],
            ),
            "cubic",
        ),
        (
            resize(
                18,
                &[-1, 1, 2],
                Some(&[1.0, 1.0, 2.0]),
                None,
                vec![A::I("antialias", 1)],
            ),
            "antialias",
        ),
    ];
    for (m, want) in cases {
        let (node, op, reason) = unsupported(imp(&m).unwrap_err());
        assert_eq!((node.as_str(), op.as_str()), ("n_y", "Resize"));
        assert!(reason.contains(want), "{reason}");
    }
    let m = resize(
        13,
        &[-1, 1, 2],
        Some(&[1.0, 1.0, 2.0]),
        None,
        vec![A::S("coordinate_transformation_mode", "diagonal")],
    );
    assert!(
        matches!(imp(&m), Err(Error::BadAttribute { attr, .. }) if attr == "coordinate_transformation_mode")
    );
    let m = resize(13, &[-1, 1, 2], None, None, vec![]);
    assert!(matches!(imp(&m), Err(Error::BadInput { index: 2, .. })));
    let m = resize(
        13,
        &[-1, 1, 2],
        Some(&[1.0, 1.0, 2.0]),
        None,
        vec![A::S("coordinate_transformation_mode", "tf_crop_and_resize")],
    );
    assert!(matches!(imp(&m), Err(Error::BadInput { index: 1, .. })));
    let m = resize(13, &[-1, 1, 2], Some(&[1.0, 1.0, -2.0]), None, vec![]);
    assert!(matches!(imp(&m), Err(Error::BadInput { index: 2, .. })));
}

/// `ConvTranspose` of `x` (`shape`) by a weight of `wshape` (values `0, 1, ..`) and `attrs`.
fn conv_t(shape: &[i64], wshape: &[i64], attrs: Vec<A<'_>>) -> Vec<u8> {
    let n: i64 = wshape.iter().product();
    let w: Vec<f32> = (0..n).map(|i| i as f32).collect();
    model(
        13,
        vec![node("ConvTranspose", &["x", "w"], &["y"], attrs)],
        vec![tf("w", wshape, &w)],
        vec![input("x", shape)],
        &["y"],
    )
}

fn conv_params(g: &FGraph, i: usize) -> ([usize; 4], [usize; 2], usize) {
    match &g.nodes[i].op {
        FOp::Conv {
            pads,
            dilations,
            group,
            strides,
            ..
        } => {
            assert_eq!(*strides, [1, 1]);
            (*pads, *dilations, *group)
        }
        op => panic!("expected a Conv, got {op:?}"),
    }
}

#[test]
fn stride_one_conv_transpose_is_one_conv_by_the_flipped_kernel() {
    let g = imp(&conv_t(&[-1, 1, 3, 3], &[1, 2, 2, 2], vec![])).unwrap();
    assert_eq!(ops(&g), ["Conv"]);
    assert_eq!(g.nodes[0].inputs, [Operand::Value(g.inputs[0])]);
    assert_eq!(conv_params(&g, 0), ([1, 1, 1, 1], [1, 1], 1));
    // W [C_in=1, C_out=2, 2, 2] = 0..8 -> [C_out, C_in, 2, 2], each kernel reversed
    assert_eq!(
        weight(&g, 0),
        (
            vec![2, 1, 2, 2],
            vec![3.0, 2.0, 1.0, 0.0, 7.0, 6.0, 5.0, 4.0]
        )
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(4), Fixed(4)]);
    // pads larger than the kernel extent crop the input instead: a Select
    let g = imp(&conv_t(
        &[-1, 1, 5],
        &[1, 1, 2],
        vec![A::Is("pads", &[2, 0])],
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Select", "Conv"]);
    assert_eq!(maps(&g, 0)[2], [1, 2, 3, 4]);
    assert_eq!(conv_params(&g, 1).0, [0, 0, 0, 1]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(4)]);
}

#[test]
fn strided_conv_transpose_reads_a_zero_between_elements() {
    let attrs = vec![
        A::Is("strides", &[3, 2]),
        A::Is("pads", &[1, 0, 1, 2]),
        A::Is("output_padding", &[1, 1]),
        A::Is("dilations", &[2, 1]),
        A::I("group", 2),
    ];
    let g = imp(&conv_t(&[-1, 2, 2, 3], &[2, 3, 2, 3], attrs)).unwrap();
    assert_eq!(ops(&g), ["Pad", "Select", "Conv"]);
    match &g.nodes[0].op {
        FOp::Pad { pads, value, .. } => {
            assert_eq!(pads, &[0, 0, 0, 0, 0, 0, 1, 1]);
            assert_eq!(*value, 0.0);
        }
        op => panic!("{op:?}"),
    }
    // height: stuffed 0 _ _ 1 (index 2 is the padded zero), lead (k-1)d - p = 1, out 5
    // width: stuffed 0 _ 1 _ 2, lead 2, trail 2 - 2 + 1 = 1
    let m = maps(&g, 1);
    assert_eq!(m[2], [0, 2, 2, 1]);
    assert_eq!(m[3], [0, 3, 1, 3, 2]);
    let (pads, dil, group) = conv_params(&g, 2);
    assert_eq!((pads, dil, group), ([1, 2, 2, 1], [2, 1], 2));
    // out = s (in - 1) + output_padding + (k - 1) d + 1 - pads
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(6), Fixed(5), Fixed(6)]);
    assert_eq!(weight(&g, 2).0, [6, 1, 2, 3]);
}

#[test]
fn a_kernel_equal_to_the_stride_is_a_1x1_conv_interleaved() {
    let attrs = vec![A::Is("strides", &[2, 3]), A::I("group", 2)];
    let g = imp(&conv_t(&[-1, 4, 2, 5], &[4, 3, 2, 3], attrs)).unwrap();
    assert_eq!(ops(&g), ["Conv", "Reshape", "Transpose", "Reshape"]);
    assert_eq!(conv_params(&g, 0), ([0; 4], [1, 1], 2));
    let (shape, w) = weight(&g, 0);
    assert_eq!(shape, [36, 2, 1, 1]);
    // output channel c, kernel position k, input channel i of its group reads W[g·2 + i, c, k]
    // (W = 0, 1, ..: W[i, c, k] = (i · 3 + c) · 6 + k)
    let at = |o: usize, i: usize| w[o * 2 + i];
    assert_eq!((at(0, 0), at(0, 1)), (0.0, 18.0));
    assert_eq!((at(7, 0), at(7, 1)), (7.0, 25.0));
    // output channel 3 is group 1's first: input channels 2 and 3
    assert_eq!((at(18, 0), at(18, 1)), (36.0, 54.0));
    assert_eq!(
        g.nodes[2].op,
        FOp::Transpose {
            perm: vec![0, 1, 4, 2, 5, 3]
        }
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(6), Fixed(4), Fixed(15)]);
    // 1-D
    let g = imp(&conv_t(
        &[-1, 1, 5],
        &[1, 2, 4],
        vec![A::Is("strides", &[4])],
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Conv", "Reshape", "Transpose", "Reshape"]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(20)]);
    // a pad or an output_padding takes the general form
    let attrs = vec![A::Is("strides", &[4]), A::Is("output_padding", &[1])];
    let g = imp(&conv_t(&[-1, 1, 5], &[1, 2, 4], attrs)).unwrap();
    assert_eq!(ops(&g), ["Pad", "Select", "Conv"]);
}

#[test]
fn conv_transpose_output_shape_and_auto_pad() {
    // output_shape 10 from a natural 9: the extra row at the end
    let attrs = vec![A::Is("strides", &[3]), A::Is("output_shape", &[10])];
    let g = imp(&conv_t(&[-1, 1, 3], &[1, 1, 3], attrs)).unwrap();
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(10)]);
    // SAME_UPPER: out = in * stride, the odd pad element at the end
    let attrs = vec![A::Is("strides", &[2]), A::S("auto_pad", "SAME_UPPER")];
    let g = imp(&conv_t(&[-1, 1, 3], &[1, 1, 3], attrs)).unwrap();
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(6)]);
    // total padding 1: SAME_UPPER pads (0, 1) -> lead 2, SAME_LOWER (1, 0) -> lead 1
    assert_eq!(conv_params(&g, 2).0, [0, 2, 0, 1]);
    let attrs = vec![A::Is("strides", &[2]), A::S("auto_pad", "SAME_LOWER")];
    let g = imp(&conv_t(&[-1, 1, 3], &[1, 1, 3], attrs)).unwrap();
    assert_eq!(conv_params(&g, 2).0, [0, 1, 0, 2]);
}

#[test]
fn refused_conv_transpose_forms_name_the_node() {
    let (node, op, reason) =
        unsupported(imp(&conv_t(&[-1, 1, 2, 2, 2], &[1, 1, 2, 2, 2], vec![])).unwrap_err());
    assert_eq!((node.as_str(), op.as_str()), ("n_y", "ConvTranspose"));
    assert!(reason.contains("3-D"), "{reason}");
    let e = imp(&conv_t(&[-1, 2, 3], &[1, 1, 2], vec![])).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    let e = imp(&conv_t(
        &[-1, 1, 3],
        &[1, 1, 2],
        vec![A::Is("strides", &[0])],
    ))
    .unwrap_err();
    assert!(matches!(e, Error::BadAttribute { .. }), "{e}");
    let e = imp(&conv_t(
        &[-1, 1, 3],
        &[1, 1, 2],
        vec![A::Is("pads", &[4, 4])],
    ))
    .unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    let e = imp(&conv_t(
        &[-1, 1, 3],
        &[1, 1, 2],
        vec![A::S("auto_pad", "SOMETIMES")],
    ))
    .unwrap_err();
    assert!(matches!(e, Error::BadAttribute { .. }), "{e}");
}
