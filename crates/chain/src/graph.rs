//! The graph commitment of docs/semantics.md section 8: one `OneStepVerifier.Node` descriptor
//! per node ([`descriptors`]), its leaf `keccak256(abi.encode(node))` ([`node_leaf`]), and the
//! graph header committed in the registry as `graphRoot`:
//! `keccak256(abi.encode(uint256 numNodes, bytes32 nodesRoot, uint256[] outputNodes))`, where
//! `nodesRoot` is the Merkle root of the node leaves (contracts/src/DisputeGame.sol,
//! `postGraph`).
//!
//! Shapes are the package's value and constant shapes with the batch dimension fixed at 1
//! (the executed graph of a single-row task).

use alloy::primitives::{B256, I256, U256, keccak256};
use alloy::sol_types::SolValue;
use vouch_bindings::dispute_game::OneStepVerifier::Node;
use vouch_model::{Dim, Kind, Op, Operand, Package};

/// `GRAPH_INPUT | i`: the reference to graph input `i` of kind `act8` in `Node.inputs` (its
/// high bit alone, `graph_input(0)`, is the flag of every graph-input reference).
pub fn graph_input(i: usize) -> U256 {
    (U256::from(1) << 255) | U256::from(i)
}

/// `GRAPH_INPUT | code << 64 | i`: the reference to graph input `i` of kind `kind`
/// (docs/semantics.md section 8.1; `contracts/src/InputRange.sol`): code 0 `act8` (so an
/// `act8` reference is [`graph_input`]), 1 `act16`, 2 a kind the engine does not range-check.
pub fn graph_input_of(i: usize, kind: Kind) -> U256 {
    let code: u64 = match kind {
        Kind::Act8 => 0,
        Kind::Act16 => 1,
        Kind::Wide | Kind::Index => 2,
    };
    graph_input(i) | (U256::from(code) << 64)
}

/// The graph input a `Node.inputs` reference names (its low 64 bits), `None` for a node output.
pub fn input_index(r: U256) -> Option<usize> {
    if r & graph_input(0) == U256::ZERO {
        return None;
    }
    usize::try_from(r & U256::from(u64::MAX)).ok()
}

/// The range `[lo, hi]` of the kind a graph-input reference declares, `None` when the engine
/// does not range-check that kind (or `r` is not a graph input).
pub fn input_range(r: U256) -> Option<(i32, i32)> {
    input_index(r)?;
    let code = (r >> 64) & U256::from(0xffu64);
    if code == U256::ZERO {
        Kind::Act8.act_range()
    } else if code == U256::from(1u64) {
        Kind::Act16.act_range()
    } else {
        None
    }
}

/// Op codes of `OneStepVerifier` (docs/semantics.md section 8.1).
pub mod op {
    /// `Linear`.
    pub const LINEAR: u8 = 0;
    /// `Conv`.
    pub const CONV: u8 = 1;
    /// `MatMul`.
    pub const MATMUL: u8 = 2;
    /// `Add` (and `Sub`, as `Add` with a negative `Mb`).
    pub const ADD: u8 = 3;
    /// `Mul`.
    pub const MUL: u8 = 5;
    /// `Rescale`.
    pub const RESCALE: u8 = 6;
    /// `Relu`.
    pub const RELU: u8 = 7;
    /// `Clip`.
    pub const CLIP: u8 = 8;
    /// `LeakyRelu`.
    pub const LEAKY_RELU: u8 = 9;
    /// `Lut`.
    pub const LUT: u8 = 10;
    /// `Softmax`.
    pub const SOFTMAX: u8 = 11;
    /// `ArgMax`.
    pub const ARGMAX: u8 = 12;
    /// `MaxPool`.
    pub const MAXPOOL: u8 = 13;
    /// `AveragePool`.
    pub const AVGPOOL: u8 = 14;
    /// `Reshape`, `Flatten`, `Squeeze`, `Unsqueeze`, `Identity`.
    pub const COPY: u8 = 16;
    /// `Transpose`.
    pub const TRANSPOSE: u8 = 17;
    /// `Concat`.
    pub const CONCAT: u8 = 18;
    /// `Pad`.
    pub const PAD: u8 = 19;
    /// `Reduce` (sum, mean, max, min over any axes).
    pub const REDUCE: u8 = 20;
    /// `Max` (n-ary).
    pub const MAX: u8 = 21;
    /// `Min` (n-ary).
    pub const MIN: u8 = 22;
    /// `PRelu`.
    pub const PRELU: u8 = 23;
    /// `Select` (per-axis index maps).
    pub const SELECT: u8 = 24;
    /// `Gather` by a computed index: attrs `[axis]`; inputs `[X, I]`, or `[I]` with consts
    /// `[X]` for a constant table (docs/semantics.md section 8.1).
    pub const GATHER: u8 = 25;
    /// `TreeEnsemble`: consts `[nodes, weights, roots, base, bounds, thresholds]`, attrs
    /// `[aggregate]` (docs/semantics.md sections 8.1 and 8.6).
    pub const TREE_ENSEMBLE: u8 = 30;
}

fn dims(shape: &[Dim]) -> Vec<U256> {
    shape
        .iter()
        .map(|d| match d {
            Dim::Batch => U256::from(1),
            Dim::Fixed(n) => U256::from(*n),
        })
        .collect()
}

fn ints(v: &[i64]) -> Vec<I256> {
    v.iter()
        .map(|&x| I256::try_from(x).unwrap_or_default())
        .collect()
}

fn rq(r: &vouch_model::Requant) -> [i64; 4] {
    [r.m, i64::from(r.s), i64::from(r.lo), i64::from(r.hi)]
}

fn u(v: &[u32]) -> Vec<i64> {
    v.iter().map(|&x| i64::from(x)).collect()
}

/// The descriptor of every node of `pkg`, in node order (docs/semantics.md section 8.1).
pub fn descriptors(pkg: &Package) -> Vec<Node> {
    let producer = |v: u32| pkg.nodes.iter().position(|n| n.output == v);
    let graph_in = |v: u32| pkg.inputs.iter().position(|s| s.value == v);
    let value_shape = |v: u32| {
        pkg.values
            .get(v as usize)
            .map(|t| dims(&t.shape))
            .unwrap_or_default()
    };
    let const_shape = |c: u32| {
        pkg.consts
            .get(c as usize)
            .map(|k| k.shape.iter().map(|&d| U256::from(d)).collect())
            .unwrap_or_default()
    };
    pkg.nodes
        .iter()
        .map(|node| {
            let mut inputs = Vec::new();
            let mut in_shapes = Vec::new();
            let mut consts: Vec<u32> = node.op.param_consts();
            for o in &node.inputs {
                match *o {
                    Operand::Value(v) => {
                        let r = match producer(v) {
                            Some(j) => U256::from(j),
                            None => graph_input_of(
                                graph_in(v).unwrap_or(usize::MAX >> 1),
                                pkg.values.get(v as usize).map_or(Kind::Act8, |t| t.kind),
                            ),
                        };
                        inputs.push(r);
                        in_shapes.push(value_shape(v));
                    }
                    Operand::Const(c) => consts.push(c),
                }
            }
            let (code, attrs): (u8, Vec<i64>) = match &node.op {
                Op::Linear { rq: r, wide, .. } => {
                    let mut a = rq(r).to_vec();
                    a.push(i64::from(*wide));
                    (op::LINEAR, a)
                }
                Op::Conv {
                    kernel,
                    strides,
                    pads,
                    dilations,
                    group,
                    rq: r,
                    wide,
                    ..
                } => {
                    let mut a = rq(r).to_vec();
                    a.push(i64::from(*wide));
                    a.push(i64::from(*group));
                    a.extend(u(kernel));
                    a.extend(u(strides));
                    a.extend(u(dilations));
                    a.extend(u(pads));
                    (op::CONV, a)
                }
                Op::MatMul { rq: r, wide } => {
                    let mut a = rq(r).to_vec();
                    a.push(i64::from(*wide));
                    (op::MATMUL, a)
                }
                Op::Add { ma, mb, rq: r } => {
                    let mut a = vec![*ma, *mb];
                    a.extend(rq(r));
                    (op::ADD, a)
                }
                Op::Mul { rq: r } => (op::MUL, rq(r).to_vec()),
                Op::Rescale { rq: r } => (op::RESCALE, rq(r).to_vec()),
                Op::Relu => (op::RELU, Vec::new()),
                Op::Clip { lo, hi } => (op::CLIP, vec![i64::from(*lo), i64::from(*hi)]),
                Op::LeakyRelu { rq: r } => (op::LEAKY_RELU, rq(r).to_vec()),
                Op::Lut { .. } => (op::LUT, Vec::new()),
                Op::Softmax { axis, rq: r, .. } => {
                    let mut a = vec![i64::from(*axis)];
                    a.extend(rq(r));
                    (op::SOFTMAX, a)
                }
                Op::ArgMax {
                    axis,
                    keepdims,
                    select_last_index,
                } => (
                    op::ARGMAX,
                    vec![
                        i64::from(*axis),
                        i64::from(*keepdims),
                        i64::from(*select_last_index),
                    ],
                ),
                Op::MaxPool {
                    kernel,
                    strides,
                    pads,
                    dilations,
                } => {
                    let mut a = u(kernel);
                    a.extend(u(strides));
                    a.extend(u(dilations));
                    a.extend(u(pads));
                    (op::MAXPOOL, a)
                }
                Op::AveragePool {
                    kernel,
                    strides,
                    pads,
                    count_include_pad,
                } => {
                    let mut a = u(kernel);
                    a.extend(u(strides));
                    a.extend([1, 1]);
                    a.extend(u(pads));
                    a.push(i64::from(*count_include_pad));
                    (op::AVGPOOL, a)
                }
                Op::Reshape => (op::COPY, Vec::new()),
                Op::Transpose { perm } => (op::TRANSPOSE, u(perm)),
                Op::Concat { axis } => (op::CONCAT, vec![i64::from(*axis)]),
                Op::Pad { mode, pads, value } => {
                    let mut a = vec![i64::from(mode.code()), i64::from(*value)];
                    a.extend(u(pads));
                    (op::PAD, a)
                }
                Op::Reduce {
                    mode, axes, rq: r, ..
                } => {
                    let mut a = vec![i64::from(mode.code())];
                    a.extend(rq(r));
                    a.extend(u(axes));
                    (op::REDUCE, a)
                }
                Op::Max => (op::MAX, Vec::new()),
                Op::Min => (op::MIN, Vec::new()),
                Op::PRelu { rq: r, .. } => (op::PRELU, rq(r).to_vec()),
                Op::TreeEnsemble { aggregate, .. } => {
                    (op::TREE_ENSEMBLE, vec![i64::from(aggregate.code())])
                }
                Op::Select { maps } => {
                    // [len_0, .., len_{r-1}, map_0.., map_1.., ..] (len 0: the identity)
                    let mut a: Vec<i64> = maps.iter().map(|m| m.len() as i64).collect();
                    a.extend(maps.iter().flat_map(|m| u(m)));
                    (op::SELECT, a)
                }
                Op::Gather { axis } => (op::GATHER, vec![i64::from(*axis)]),
            };
            Node {
                op: code,
                inputs,
                inShapes: in_shapes,
                consts: consts.iter().map(|&c| U256::from(c)).collect(),
                constShapes: consts.iter().map(|&c| const_shape(c)).collect(),
                outShape: value_shape(node.output),
                attrs: ints(&attrs),
            }
        })
        .collect()
}

/// A node's leaf: `keccak256(abi.encode(node))`.
pub fn node_leaf(node: &Node) -> B256 {
    keccak256(node.abi_encode())
}

/// The leaves of [`descriptors`].
pub fn node_leaves(pkg: &Package) -> Vec<[u8; 32]> {
    descriptors(pkg).iter().map(|n| node_leaf(n).0).collect()
}

/// The preimage of a model version's `graphRoot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphHeader {
    /// Number of nodes (trace leaves).
    pub num_nodes: u64,
    /// Merkle root of the node descriptor hashes.
    pub nodes_root: B256,
    /// Trace indices of the graph outputs, in output order.
    pub output_nodes: Vec<u64>,
}

impl GraphHeader {
    /// `keccak256(abi.encode(numNodes, nodesRoot, outputNodes))`.
    pub fn root(&self) -> B256 {
        let outs: Vec<U256> = self.output_nodes.iter().map(|&n| U256::from(n)).collect();
        keccak256((U256::from(self.num_nodes), self.nodes_root, outs).abi_encode_params())
    }

    /// `outputNodes` as the contract takes them.
    pub fn output_nodes_u256(&self) -> Vec<U256> {
        self.output_nodes.iter().map(|&n| U256::from(n)).collect()
    }
}

/// The graph header of a package: one leaf per node, outputs by producing node.
pub fn header_of(pkg: &vouch_model::Package) -> GraphHeader {
    let leaves = node_leaves(pkg);
    let output_nodes = pkg
        .outputs
        .iter()
        .filter_map(|o| pkg.nodes.iter().position(|n| n.output == o.value))
        .map(|i| i as u64)
        .collect();
    GraphHeader {
        num_nodes: pkg.nodes.len() as u64,
        nodes_root: B256::from(vouch_primitives::merkle_root(&leaves)),
        output_nodes,
    }
}

/// What the registry stores for a package file's bytes.
pub fn commitments_of(bytes: &[u8], pkg: &vouch_model::Package) -> crate::system::ModelCommitments {
    let cid = vouch_model::Package::cid_of_bytes(bytes);
    crate::system::ModelCommitments {
        package_cid: cid.to_string(),
        // the sha2-256 digest inside the CID: of the bytes for a one-block package, of the
        // UnixFS root node otherwise (nodes check it against the CID they fetch)
        package_hash: B256::from(*cid.digest()),
        weights_root: B256::from(pkg.weights_root()),
        graph_root: header_of(pkg).root(),
        semantics_version: pkg.semantics_version,
        metadata_uri: String::new(),
        outputs: outputs_of(pkg),
    }
}

/// Each graph output's elements per row (its shape with the batch dimension at 1) and scale,
/// in package order: what the ModelRegistry records for result delivery.
pub fn outputs_of(pkg: &vouch_model::Package) -> Vec<crate::system::OutputSpec> {
    pkg.outputs
        .iter()
        .filter_map(|o| pkg.values.get(usize::try_from(o.value).ok()?))
        .map(|v| {
            let size = v
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Batch => 1,
                    Dim::Fixed(n) => *n,
                })
                .product();
            crate::system::OutputSpec::new(size, v.scale)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(x: u64) -> [u8; 32] {
        U256::from(x).to_be_bytes::<32>()
    }

    #[test]
    fn node_leaf_is_abi_encode_of_the_struct_as_section_8_1_lays_it_out() {
        // Relu of graph input 0, shape [1, 2]
        let node = Node {
            op: op::RELU,
            inputs: vec![graph_input(0)],
            inShapes: vec![vec![U256::from(1), U256::from(2)]],
            consts: vec![],
            constShapes: vec![],
            outShape: vec![U256::from(1), U256::from(2)],
            attrs: vec![],
        };
        let mut enc = Vec::new();
        enc.extend(word(0x20)); // the struct is one dynamic argument
        // tuple head: op, then six offsets from the tuple start
        let heads = [7u64, 7 * 32, 9 * 32, 14 * 32, 15 * 32, 16 * 32, 19 * 32];
        for h in heads {
            enc.extend(word(h));
        }
        enc.extend(word(1)); // inputs: [2^255 | 0]
        enc.extend(graph_input(0).to_be_bytes::<32>());
        // inShapes: length, one offset (from the first offset word), [1, 2]
        for x in [1, 0x20, 2, 1, 2] {
            enc.extend(word(x));
        }
        enc.extend(word(0)); // consts
        enc.extend(word(0)); // constShapes
        for x in [2, 1, 2] {
            enc.extend(word(x)); // outShape
        }
        enc.extend(word(0)); // attrs
        assert_eq!(node.abi_encode(), enc);
        assert_eq!(node_leaf(&node), keccak256(&enc));
    }

    /// A package of one node `op` from input `x` (`in_shape`) to output `z` (`out_shape`).
    fn one_node(op: Op, kind: vouch_model::Kind, in_shape: &[u32], out_shape: &[u32]) -> Package {
        use vouch_model::{AccuracyReport, Dim, IoSpec, Node as INode, TensorInfo};
        // the first axis is the batch
        let t = |name: &str, shape: &[u32]| TensorInfo {
            name: name.into(),
            kind,
            scale: 1.0,
            shape: std::iter::once(Dim::Batch)
                .chain(shape[1..].iter().map(|&d| Dim::Fixed(d)))
                .collect(),
        };
        Package {
            semantics_version: 2,
            name: op.name().into(),
            source_sha256: [0; 32],
            inputs: vec![IoSpec::new("x", 0)],
            outputs: vec![IoSpec::new("z", 1)],
            values: vec![t("x", in_shape), t("z", out_shape)],
            consts: vec![],
            nodes: vec![INode {
                name: "node".into(),
                op,
                inputs: vec![Operand::Value(0)],
                output: 1,
            }],
            accuracy: AccuracyReport::default(),
        }
    }

    #[test]
    fn pad_attrs_are_mode_value_then_begins_and_ends() {
        use vouch_model::{Kind, PadMode};
        let op = Op::Pad {
            mode: PadMode::Edge,
            pads: vec![0, 1, 0, 2],
            value: 0,
        };
        let d = descriptors(&one_node(op, Kind::Act8, &[1, 3], &[1, 6]));
        assert_eq!(d[0].op, op::PAD);
        let attrs: Vec<i64> = d[0].attrs.iter().map(|a| a.as_i64()).collect();
        assert_eq!(attrs, [2, 0, 0, 1, 0, 2]);
        assert_eq!(d[0].outShape, [U256::from(1), U256::from(6)]);
    }

    #[test]
    fn select_attrs_are_map_lengths_then_maps() {
        let op = Op::Select {
            maps: vec![vec![], vec![2, 0], vec![0, 1, 2, 3, 0]],
        };
        let d = descriptors(&one_node(
            op,
            vouch_model::Kind::Act16,
            &[1, 3, 4],
            &[1, 2, 5],
        ));
        assert_eq!(d[0].op, op::SELECT);
        let attrs: Vec<i64> = d[0].attrs.iter().map(|a| a.as_i64()).collect();
        assert_eq!(attrs, [0, 2, 5, 2, 0, 0, 1, 2, 3, 0]);
    }

    #[test]
    fn gather_attrs_are_the_axis() {
        let d = descriptors(&one_node(
            Op::Gather { axis: 1 },
            vouch_model::Kind::Act8,
            &[1, 3, 4],
            &[1, 3, 4],
        ));
        assert_eq!(d[0].op, op::GATHER);
        let attrs: Vec<i64> = d[0].attrs.iter().map(|a| a.as_i64()).collect();
        assert_eq!(attrs, [1]);
    }

    #[test]
    fn reduce_attrs_are_mode_requant_then_axes() {
        use vouch_model::{Kind, ReduceMode, Requant};
        let op = Op::Reduce {
            mode: ReduceMode::Sum,
            axes: vec![1, 3],
            keepdims: false,
            rq: Requant {
                m: 20_000,
                s: 17,
                lo: 0,
                hi: 32_767,
            },
        };
        let pkg = one_node(op, Kind::Act16, &[1, 3, 4, 5], &[1, 4]);
        let d = descriptors(&pkg);
        assert_eq!(d[0].op, op::REDUCE);
        let attrs: Vec<i64> = d[0].attrs.iter().map(|a| a.as_i64()).collect();
        assert_eq!(attrs, [0, 20_000, 17, 0, 32_767, 1, 3]);
        assert_eq!(d[0].outShape, [U256::from(1), U256::from(4)]);
    }

    #[test]
    fn tree_attrs_are_the_aggregate_and_consts_the_six_tree_tensors_in_order() {
        let groups = vouch_engine::vectors::all_cases();
        let (_, cases) = groups
            .iter()
            .find(|(n, _)| *n == "TreeEnsemble")
            .expect("tree vectors");
        for (case, aggregate) in cases.iter().zip([0i64, 1, 2]) {
            let pkg = case.package();
            let d = descriptors(&pkg);
            let (j, node) = pkg
                .nodes
                .iter()
                .enumerate()
                .find(|(_, n)| matches!(n.op, Op::TreeEnsemble { .. }))
                .expect("a tree node");
            let Op::TreeEnsemble {
                nodes,
                weights,
                roots,
                base,
                bounds,
                thresholds,
                ..
            } = &node.op
            else {
                unreachable!()
            };
            let t = &d[j];
            assert_eq!(t.op, op::TREE_ENSEMBLE, "{}", case.name);
            let attrs: Vec<i64> = t.attrs.iter().map(|a| a.as_i64()).collect();
            assert_eq!(attrs, [aggregate], "{}", case.name);
            let ids = [nodes, weights, roots, base, bounds, thresholds].map(|c| U256::from(*c));
            assert_eq!(t.consts, ids);
            // shapes: nodes [n, 6], weights [n_w, 2], roots [T], base [N], bounds [F + 1]
            let shape = |c: u32| -> Vec<U256> {
                pkg.consts[c as usize]
                    .shape
                    .iter()
                    .map(|&d| U256::from(d))
                    .collect()
            };
            assert_eq!(t.constShapes[0], shape(*nodes));
            assert_eq!(t.constShapes[0][1], U256::from(6));
            assert_eq!(t.constShapes[1][1], U256::from(2));
            assert_eq!(t.constShapes[2], shape(*roots));
            let f = pkg.consts[*bounds as usize].data.len() - 1;
            let n = pkg.consts[*base as usize].data.len();
            // the reference declares the codes' kind (section 8.7)
            let kind = pkg.values[pkg.inputs[0].value as usize].kind;
            assert_eq!(t.inputs, [graph_input_of(0, kind)]);
            assert_eq!(input_range(t.inputs[0]), kind.act_range());
            assert_eq!(t.inShapes.len(), 1);
            assert_eq!(t.inShapes[0].last(), Some(&U256::from(f)));
            assert_eq!(t.outShape.last(), Some(&U256::from(n)));
        }
    }

    #[test]
    fn graph_input_references_carry_the_input_kind() {
        // act8 keeps the reference (and every act8 descriptor) it had before kinds were tagged
        assert_eq!(graph_input_of(3, Kind::Act8), graph_input(3));
        let r16 = graph_input_of(3, Kind::Act16);
        assert_eq!(r16, graph_input(3) | (U256::from(1) << 64));
        for (kind, range) in [
            (Kind::Act8, Some((-128, 127))),
            (Kind::Act16, Some((-32768, 32767))),
            (Kind::Wide, None),
            (Kind::Index, None),
        ] {
            let r = graph_input_of(3, kind);
            assert_eq!(input_index(r), Some(3), "{kind:?}");
            assert_eq!(input_range(r), range, "{kind:?}");
        }
        // a node output is no graph input
        assert_eq!(input_index(U256::from(3)), None);
        assert_eq!(input_range(U256::from(3)), None);
        let d = descriptors(&one_node(Op::Relu, Kind::Act16, &[1, 3], &[1, 3]));
        assert_eq!(d[0].inputs, [r16 ^ U256::from(3)]);
    }

    #[test]
    fn root_is_abi_encode_of_the_three_fields() {
        let h = GraphHeader {
            num_nodes: 2,
            nodes_root: B256::repeat_byte(7),
            output_nodes: vec![1],
        };
        // abi.encode(2, 0x07.., [1]): head (3 words) + length + element
        let mut enc = Vec::new();
        enc.extend(U256::from(2).to_be_bytes::<32>());
        enc.extend([7u8; 32]);
        enc.extend(U256::from(96).to_be_bytes::<32>());
        enc.extend(U256::from(1).to_be_bytes::<32>());
        enc.extend(U256::from(1).to_be_bytes::<32>());
        assert_eq!(h.root(), keccak256(&enc));
    }
}
