//! The one error type of `vouch-onnx`.

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong while decoding or importing an ONNX model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a valid protobuf encoding of the expected message.
    #[error("protobuf decode failed: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The model has no graph.
    #[error("the model has no graph")]
    NoGraph,
    /// The model imports an `ai.onnx` opset vouch does not support.
    #[error("the model imports ai.onnx opset {version}; vouch supports opset 6 and later")]
    Opset {
        /// The imported version.
        version: i64,
    },
    /// A node needed for the kept outputs uses an operator vouch does not support.
    #[error("unsupported operator `{op}` (domain `{domain}`) at node `{node}`")]
    UnsupportedOp {
        /// The ONNX `op_type`.
        op: String,
        /// The ONNX domain (`ai.onnx` for the default domain).
        domain: String,
        /// The node name.
        node: String,
    },
    /// A supported operator is used in a form vouch does not support (e.g. a dynamic weight).
    #[error("node `{node}` ({op}): unsupported form: {reason}")]
    UnsupportedForm {
        /// The node name.
        node: String,
        /// The ONNX `op_type`.
        op: String,
        /// What is not supported.
        reason: String,
    },
    /// A node reads a tensor no earlier node, initializer or graph input defines.
    #[error(
        "node `{node}`: input `{name}` is not defined by an earlier node, initializer or graph input"
    )]
    MissingInput {
        /// The node name.
        node: String,
        /// The missing tensor name.
        name: String,
    },
    /// A required input of a node is absent, or must be a constant and is not.
    #[error("node `{node}`: input #{index} {reason}")]
    BadInput {
        /// The node name.
        node: String,
        /// The input position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An attribute is missing, has the wrong type or an invalid value.
    #[error("node `{node}`: attribute `{attr}`: {reason}")]
    BadAttribute {
        /// The node name.
        node: String,
        /// The attribute name.
        attr: String,
        /// What is wrong.
        reason: String,
    },
    /// Shape inference failed at a node.
    #[error("node `{node}`: shape error: {reason}")]
    Shape {
        /// The node name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor keeps its data in an external file, which vouch does not read.
    #[error(
        "tensor `{tensor}` stores its data externally; re-export the model with the weights embedded"
    )]
    ExternalData {
        /// The tensor name.
        tensor: String,
    },
    /// A tensor's data is malformed (wrong length, unsupported data type, ...).
    #[error("tensor `{tensor}`: {reason}")]
    Tensor {
        /// The tensor name.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor or shape is larger than vouch accepts.
    #[error("tensor `{tensor}`: more than {limit} elements")]
    TooLarge {
        /// The tensor name.
        tensor: String,
        /// The element limit.
        limit: usize,
    },
    /// A graph input has an unsupported type or shape.
    #[error("graph input `{name}`: {reason}")]
    Input {
        /// The input name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A symbolic axis of a graph input (other than axis 0, the batch) has no size: neither the
    /// given shapes nor the calibration rows bind it.
    #[error(
        "graph input `{input}`: axis {axis} ({param}) is symbolic and nothing gives its size; \
         give the input's shape (`--shape {input}={example}` with sizes for the names) or \
         calibration rows of that input"
    )]
    UnboundDim {
        /// The input name.
        input: String,
        /// The axis.
        axis: usize,
        /// The `dim_param` name in backquotes, or `unnamed`.
        param: String,
        /// The input's declared shape as `--shape` spells it (`1x3xheightxwidth`).
        example: String,
    },
    /// A shape was given for a name that is not a graph input.
    #[error("a shape is given for `{name}`, which is not a graph input (the inputs: {inputs})")]
    ShapeName {
        /// The name given.
        name: String,
        /// The model's graph inputs, comma separated.
        inputs: String,
    },
    /// A dimension was bound (`--dim`) by a name no graph input declares, or to a size out of
    /// range.
    #[error("the size given for the dimension `{name}`: {reason}")]
    DimName {
        /// The name given.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A constant was bound (`--const`) to a name that is not a graph input.
    #[error("a constant is bound to `{name}`, which is not a graph input (the inputs: {inputs})")]
    ConstName {
        /// The name given.
        name: String,
        /// The model's graph inputs, comma separated.
        inputs: String,
    },
    /// A value range was declared (`--input-range`) for a name that is not a kept float graph
    /// input, or the range is empty or not finite.
    #[error("input range for `{name}`: {reason} (the float inputs: {inputs})")]
    InputRange {
        /// The name given.
        name: String,
        /// What is wrong.
        reason: String,
        /// The graph's kept float inputs, comma separated.
        inputs: String,
    },
    /// A requested output names no tensor of the graph.
    #[error("requested output `{name}` is not a tensor of the graph")]
    UnknownOutput {
        /// The requested name.
        name: String,
    },
    /// Two nodes (or a node and an input/initializer) define the same tensor name.
    #[error("tensor `{name}` is defined twice")]
    Redefined {
        /// The tensor name.
        name: String,
    },
    /// A kept output is a constant, which the float graph cannot express as an output.
    #[error("output `{name}` is a constant; vouch needs outputs computed from the inputs")]
    ConstantOutput {
        /// The output name.
        name: String,
    },
}
