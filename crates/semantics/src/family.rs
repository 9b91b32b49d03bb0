//! The op families: the one table every checker's op layout follows.
//!
//! Each checker (the ONNX importer's lowering, the float reference, the quantizer, the engine,
//! the zk circuit and the one-step verifier) keeps one module per family, named by
//! [`Family::module`], and dispatches each op to it. `docs/adding-an-op.md` lists the files; a
//! test in `crates/model/tests/op_layout.rs` fails when a checker is missing a family's module.

/// A group of ops that share one module in every checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Dense products: `Linear` (Gemm, MatMul by a constant) and `MatMul` of two values.
    Dense,
    /// Convolution.
    Conv,
    /// Elementwise arithmetic with broadcasting: `Add` (and `Sub`), `Mul`, `Rescale`, n-ary
    /// `Max` and `Min`.
    Elementwise,
    /// Elementwise activations: `Relu`, `Clip`, `LeakyRelu`, `PRelu`, `Lut` (Sigmoid, Tanh).
    Activation,
    /// Reductions: `Softmax`, `ArgMax` along one axis, `Reduce` (sum, mean, max, min) over any
    /// axes.
    Reduce,
    /// Windowed pooling: `MaxPool`, `AveragePool` (and GlobalAveragePool).
    Pool,
    /// Data movement without arithmetic: `Reshape`, `Transpose`, `Concat`.
    Layout,
    /// Decision-tree ensembles: `TreeEnsemble`.
    Tree,
}

impl Family {
    /// Every family, in the order of `docs/semantics.md` section 3.
    pub const ALL: [Self; 8] = [
        Self::Dense,
        Self::Conv,
        Self::Elementwise,
        Self::Activation,
        Self::Reduce,
        Self::Pool,
        Self::Layout,
        Self::Tree,
    ];

    /// The module (Rust, `snake_case`) that holds this family in every checker.
    pub const fn module(self) -> &'static str {
        match self {
            Self::Dense => "dense",
            Self::Conv => "conv",
            Self::Elementwise => "elementwise",
            Self::Activation => "activation",
            Self::Reduce => "reduce",
            Self::Pool => "pool",
            Self::Layout => "layout",
            Self::Tree => "tree",
        }
    }

    /// The Solidity library (one file under `contracts/src/onestep/`) that holds this family.
    pub const fn solidity(self) -> &'static str {
        match self {
            Self::Dense => "Dense",
            Self::Conv => "Conv",
            Self::Elementwise => "Elementwise",
            Self::Activation => "Activation",
            Self::Reduce => "Reduce",
            Self::Pool => "Pool",
            Self::Layout => "Layout",
            Self::Tree => "Tree",
        }
    }
}
