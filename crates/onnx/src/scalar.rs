//! Elementwise functions of one real argument ([`ScalarFn`]), with the `f32` meaning ONNX gives
//! them. The importer folds them on constants, the float reference runs them, and the quantizer
//! tabulates them over the 256 steps of an `act8` input (an integer `Lut`), so every checker
//! past the quantizer sees only the table. `libm` computes them, so the tables (and with them
//! package CIDs) are the same on every platform.

/// One elementwise function (an [`crate::FOp::Map`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalarFn {
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x * max(0, min(1, x / 6 + 1 / 2))`.
    HardSwish,
    /// `e^x`.
    Exp,
    /// `ln x` (`-inf` at 0, NaN below).
    Log,
    /// `√x` (NaN below 0).
    Sqrt,
    /// `1 / x`.
    Reciprocal,
    /// `|x|`.
    Abs,
    /// `-x`.
    Neg,
    /// `⌊x⌋`.
    Floor,
    /// `⌈x⌉`.
    Ceil,
    /// `x` rounded to the nearest integer, halves to even.
    Round,
    /// `-1`, `0` or `1`.
    Sign,
    /// `x >= 0 ? x : alpha * (e^x - 1)`.
    Elu {
        /// Scale of the negative part.
        alpha: f32,
    },
    /// `gamma * (x > 0 ? x : alpha * (e^x - 1))`.
    Selu {
        /// Scale of the negative part.
        alpha: f32,
        /// Scale of the whole.
        gamma: f32,
    },
    /// `max(0, x) + min(0, alpha * (e^(x / alpha) - 1))`.
    Celu {
        /// Scale.
        alpha: f32,
    },
    /// `x > alpha ? x : 0`.
    ThresholdedRelu {
        /// The threshold.
        alpha: f32,
    },
    /// `ln(e^x + 1)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x * tanh(softplus(x))`.
    Mish,
    /// `x * Φ(x)`: exact (`erf`) or the `tanh` approximation.
    Gelu {
        /// The `tanh` approximation (ONNX `approximate = "tanh"`).
        tanh: bool,
    },
    /// The error function.
    Erf,
    /// `sin x`.
    Sin,
    /// `cos x`.
    Cos,
    /// `atan x`.
    Atan,
    /// `sinh x`.
    Sinh,
    /// `cosh x`.
    Cosh,
    /// `asinh x`.
    Asinh,
    /// `tan x`.
    Tan,
    /// `asin x` (NaN outside `[-1, 1]`).
    Asin,
    /// `acos x` (NaN outside `[-1, 1]`).
    Acos,
    /// `atanh x` (NaN outside `[-1, 1]`).
    Atanh,
    /// `acosh x` (NaN below 1).
    Acosh,
    /// ONNX `Shrink`: `x < -lambd ? x + bias : x > lambd ? x - bias : 0`.
    Shrink {
        /// The threshold.
        lambd: f32,
        /// What is taken off (or added).
        bias: f32,
    },
    /// ONNX `Swish`: `x · σ(alpha · x)`.
    Swish {
        /// The slope inside the logistic.
        alpha: f32,
    },
    /// `x > 0 ? 1 / √x : 0`: the factor of an `L2` `Normalizer` from a row's sum of squares (a
    /// zero row stays zero).
    Rsqrt,
    /// `x != 0 ? 1 / x : 1`: the factor of an `L1` or `MAX` `Normalizer` (onnxruntime leaves
    /// a row whose norm is 0 unchanged).
    InverseOrOne,
    /// `x != 0 ? 1 / |x| : 1`: the first, sign-free factor of a `MAX` `Normalizer`.
    InverseAbsOrOne,
    /// onnxruntime's `PROBIT` post-transform, `√2 · erfinv(2x - 1)` with its approximation of
    /// `erfinv` (Winitzki's, `a = 0.147`) in `f32`: NaN outside `[0, 1]`.
    Probit,
    /// `gain · (tanh x - tanh(clamp(x, -lo, lo)))`: one band of an SVM's `SIGMOID` kernel
    /// (`tanh x` for `lo = 0` and `gain = 1`; the bands' values over their gains sum to the
    /// kernel's, `lower/svm_dot.rs`; ONNX `Tanh` itself is [`crate::FOp::Tanh`]).
    TanhBand {
        /// The factor that brings the band's largest value to 1.
        gain: f32,
        /// The band's lower edge (the value is 0 within `±lo`).
        lo: f32,
    },
    /// `gain · (x^exponent - clamp(x, -lo, lo)^exponent)` (`gain · x^exponent` for `lo = 0`),
    /// powers as [`Self::Pow`]: one band of an SVM's `POLY` kernel (`lower/svm_dot.rs`).
    PowBand {
        /// The factor that brings the band's largest value to 1 (1 for the last band, whose
        /// range is the calibrated one).
        gain: f32,
        /// The exponent (the kernel's `degree`).
        exponent: f32,
        /// The band's lower edge (the value is 0 within `±lo`).
        lo: f32,
    },
    /// `gain · (e^-clamp(x + shift, lo, hi) - e^-hi)`: one band of an SVM's `RBF` kernel
    /// value `e^-γ‖x - v‖²` from its argument `γ ‖x - v‖² - shift`, centred on the table's
    /// window (`lower/svm_rbf.rs`; the bands' values over their gains sum to the kernel's).
    RbfKernel {
        /// The factor that brings the band's largest value to 1.
        gain: f32,
        /// Half the window, `e/2`.
        shift: f32,
        /// The band's lower edge (the value is constant below it).
        lo: f32,
        /// The band's upper edge (the value is 0 past it); `+∞` for the last band.
        hi: f32,
    },
    /// `x^exponent`: `x · x` and `x · x · x` for 2 and 3, as onnxruntime computes an SVM's
    /// `POLY` kernel, `powf` otherwise (NaN for a negative `x` and a fractional exponent).
    Pow {
        /// The exponent (the kernel's `degree`).
        exponent: f32,
    },
    /// `1` where `x > than`, else `0` (ONNX `Greater` by a constant, cast to float; at `0` a
    /// one-vs-one SVM's vote for the first class of a pair; `ai.onnx.ml` `Binarizer`, whose
    /// comparison onnxruntime makes strict).
    Greater {
        /// The threshold.
        than: f32,
    },
    /// `1` where `x < than`, else `0` (ONNX `Less` by a constant, cast to float).
    Less {
        /// The threshold.
        than: f32,
    },
    /// `1 / √(x + eps)`: an ONNX `InstanceNormalization`'s factor from a slice's variance
    /// (NaN where `x + eps < 0`).
    RsqrtEps {
        /// The node's `epsilon`.
        eps: f32,
    },
    /// `(bias + scale · x)^(-beta)`: an ONNX `LRN`'s factor from the channel window's sum of
    /// squares, `scale = alpha / size` (NaN where the base is negative and `beta` fractional).
    LrnFactor {
        /// The node's `bias`.
        bias: f32,
        /// The node's `alpha / size`, in `f32`.
        scale: f32,
        /// The node's `beta`.
        beta: f32,
    },
    /// Class `class`'s probability of a binary `SVMClassifier` with probability outputs, from
    /// its decision score `x`, as onnxruntime computes it in `f32`: Platt's
    /// `r = clamp(1 - logistic(a x + b), 1e-7, 1 - 1e-7)`, then its pairwise coupling of
    /// `[[0, r], [1 - r, 0]]` (libsvm's `multiclass_probability`, an iteration to a tolerance:
    /// not exactly `[r, 1 - r]`), see [`svm_binary_probability`].
    SvmProbability {
        /// `prob_a`.
        a: f32,
        /// `prob_b`.
        b: f32,
        /// 0 or 1.
        class: u8,
    },
}

impl ScalarFn {
    /// The function's value at `x`, in `f32` as ONNX defines it.
    pub fn apply(self, x: f32) -> f32 {
        use libm::{
            asinhf, atanf, ceilf, coshf, erff, expf, expm1f, floorf, log1pf, logf, rintf, sinf,
            sinhf, sqrtf, tanhf,
        };
        let softplus = |x: f32| {
            // ln(1 + e^x) without overflow for large x
            if x > 20.0 {
                x + log1pf(expf(-x))
            } else {
                log1pf(expf(x))
            }
        };
        match self {
            Self::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
            Self::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Self::Exp => expf(x),
            Self::Log => logf(x),
            Self::Sqrt => sqrtf(x),
            Self::Reciprocal => 1.0 / x,
            Self::Abs => x.abs(),
            Self::Neg => -x,
            Self::Floor => floorf(x),
            Self::Ceil => ceilf(x),
            Self::Round => rintf(x),
            Self::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Self::Elu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * expm1f(x)
                }
            }
            Self::Selu { alpha, gamma } => gamma * if x > 0.0 { x } else { alpha * expm1f(x) },
            Self::Celu { alpha } => x.max(0.0) + (alpha * expm1f(x / alpha)).min(0.0),
            Self::ThresholdedRelu { alpha } => {
                if x > alpha {
                    x
                } else {
                    0.0
                }
            }
            Self::Softplus => softplus(x),
            Self::Softsign => x / (1.0 + x.abs()),
            Self::Mish => x * tanhf(softplus(x)),
            Self::Gelu { tanh: false } => {
                0.5 * x * (1.0 + erff(x * std::f32::consts::FRAC_1_SQRT_2))
            }
            Self::Gelu { tanh: true } => {
                let k = (2.0 / std::f32::consts::PI).sqrt();
                0.5 * x * (1.0 + tanhf(k * (x + 0.044_715 * x * x * x)))
            }
            Self::Erf => erff(x),
            Self::Sin => sinf(x),
            Self::Cos => libm::cosf(x),
            Self::Atan => atanf(x),
            Self::Sinh => sinhf(x),
            Self::Cosh => coshf(x),
            Self::Asinh => asinhf(x),
            Self::Tan => libm::tanf(x),
            Self::Asin => libm::asinf(x),
            Self::Acos => libm::acosf(x),
            Self::Atanh => libm::atanhf(x),
            Self::Acosh => libm::acoshf(x),
            Self::Shrink { lambd, bias } => {
                if x < -lambd {
                    x + bias
                } else if x > lambd {
                    x - bias
                } else {
                    0.0
                }
            }
            Self::Swish { alpha } => x / (1.0 + expf(-alpha * x)),
            Self::Rsqrt => {
                if x > 0.0 {
                    1.0 / sqrtf(x)
                } else {
                    0.0
                }
            }
            Self::InverseOrOne => {
                if x == 0.0 {
                    1.0
                } else {
                    1.0 / x
                }
            }
            Self::InverseAbsOrOne => {
                if x == 0.0 {
                    1.0
                } else {
                    1.0 / x.abs()
                }
            }
            Self::Probit => probit(x),
            Self::TanhBand { gain, lo } => gain * (tanhf(x) - tanhf(x.max(-lo).min(lo))),
            Self::PowBand { gain, exponent, lo } => {
                let f = Self::Pow { exponent };
                if lo > 0.0 {
                    gain * (f.apply(x) - f.apply(x.max(-lo).min(lo)))
                } else {
                    gain * f.apply(x)
                }
            }
            Self::RbfKernel {
                gain,
                shift,
                lo,
                hi,
            } => gain * (expf(-(x + shift).max(lo).min(hi)) - expf(-hi)),
            Self::Pow { exponent } => {
                if exponent == 2.0 {
                    x * x
                } else if exponent == 3.0 {
                    x * x * x
                } else {
                    libm::powf(x, exponent)
                }
            }
            Self::Greater { than } => f32::from(u8::from(x > than)),
            Self::Less { than } => f32::from(u8::from(x < than)),
            Self::RsqrtEps { eps } => 1.0 / sqrtf(x + eps),
            Self::LrnFactor { bias, scale, beta } => libm::powf(bias + scale * x, -beta),
            Self::SvmProbability { a, b, class } => {
                svm_binary_probability(x, a, b)[usize::from(class.min(1))]
            }
        }
    }

    /// The ONNX op name (for the functions of `ai.onnx.ml` ops: the op or post-transform whose
    /// lowering uses it).
    pub const fn onnx_name(self) -> &'static str {
        match self {
            Self::HardSigmoid { .. } => "HardSigmoid",
            Self::HardSwish => "HardSwish",
            Self::Exp => "Exp",
            Self::Log => "Log",
            Self::Sqrt => "Sqrt",
            Self::Reciprocal => "Reciprocal",
            Self::Abs => "Abs",
            Self::Neg => "Neg",
            Self::Floor => "Floor",
            Self::Ceil => "Ceil",
            Self::Round => "Round",
            Self::Sign => "Sign",
            Self::Elu { .. } => "Elu",
            Self::Selu { .. } => "Selu",
            Self::Celu { .. } => "Celu",
            Self::ThresholdedRelu { .. } => "ThresholdedRelu",
            Self::Softplus => "Softplus",
            Self::Softsign => "Softsign",
            Self::Mish => "Mish",
            Self::Gelu { .. } => "Gelu",
            Self::Erf => "Erf",
            Self::Sin => "Sin",
            Self::Cos => "Cos",
            Self::Atan => "Atan",
            Self::Sinh => "Sinh",
            Self::Cosh => "Cosh",
            Self::Asinh => "Asinh",
            Self::Tan => "Tan",
            Self::Asin => "Asin",
            Self::Acos => "Acos",
            Self::Atanh => "Atanh",
            Self::Acosh => "Acosh",
            Self::Shrink { .. } => "Shrink",
            Self::Swish { .. } => "Swish",
            Self::Rsqrt | Self::InverseOrOne | Self::InverseAbsOrOne => "Normalizer",
            Self::Probit => "PROBIT",
            Self::TanhBand { .. } | Self::PowBand { .. } => "SVMClassifier",
            Self::RbfKernel { .. } => "SVMClassifier",
            Self::Pow { .. } => "Pow",
            Self::Greater { .. } => "Greater",
            Self::Less { .. } => "Less",
            Self::RsqrtEps { .. } => "InstanceNormalization",
            Self::LrnFactor { .. } => "LRN",
            Self::SvmProbability { .. } => "SVMClassifier",
        }
    }
}

/// onnxruntime's `ComputeProbit`: `√2 · ErfInv(2x - 1)`, its `ErfInv` the approximation
/// `sgn(y) · √(√(v² - ln(1 - y²) / a) - v)`, `v = 2 / (π a) + ln(1 - y²) / 2`, `a = 0.147`,
/// `π` as `3.14159`, each step in `f32` as onnxruntime computes it (its `√2`, `1.41421356f`,
/// is the `f32` nearest `√2`).
#[expect(
    clippy::approx_constant,
    reason = "onnxruntime's approximation of pi, not pi"
)]
fn probit(x: f32) -> f32 {
    let y = 2.0 * x - 1.0;
    let sgn = if y < 0.0 { -1.0 } else { 1.0 };
    let w = (1.0 - y) * (1.0 + y);
    let log = libm::logf(w);
    let v = 2.0 / (3.14159_f32 * 0.147) + 0.5 * log;
    let v2 = 1.0 / 0.147_f32 * log;
    let v3 = -v + libm::sqrtf(v * v - v2);
    std::f32::consts::SQRT_2 * (sgn * libm::sqrtf(v3))
}

/// onnxruntime's `ComputeLogistic` in `f32`: `1 / (1 + e^-|v|)`, mirrored for `v < 0`.
fn logistic(v: f32) -> f32 {
    let p = 1.0 / (1.0 + libm::expf(-v.abs()));
    if v < 0.0 { 1.0 - p } else { p }
}

/// onnxruntime's probabilities of a binary `SVMClassifier` (`prob_a = a`, `prob_b = b`) from
/// its decision score `x`, in `f32` step by step as its `svm_classifier.cc` and `ml_common.h`
/// compute them: `r = clamp(1 - logistic(x a + b), 1e-7, 1 - 1e-7)` (`sigmoid_probability`),
/// the pairwise matrix `R = [[0, r], [1 - r, 0]]`, and libsvm's `multiclass_probability` for
/// two classes: `Q = [[R10², -R10 R01], [-R01 R10, R01²]]`, `p = [1/2, 1/2]`, and up to 100
/// sweeps, each first stopping when every `|(Q p)_t - pᵀ Q p| < 0.005 / 2`, else updating
/// `p_t` for `t = 0, 1` in turn and renormalizing.
pub fn svm_binary_probability(x: f32, a: f32, b: f32) -> [f32; 2] {
    let r = (1.0 - logistic(x * a + b)).clamp(1e-7, 1.0 - 1e-7);
    let (r01, r10) = (r, 1.0 - r);
    let q = [[r10 * r10, -r10 * r01], [-r01 * r10, r01 * r01]];
    let mut p = [0.5f32, 0.5];
    let mut qp = [0f32; 2];
    let eps = 0.005 / 2.0;
    for _ in 0..100 {
        let mut pqp = 0f32;
        for (t, row) in q.iter().enumerate() {
            qp[t] = row[0] * p[0] + row[1] * p[1];
            pqp += p[t] * qp[t];
        }
        let max_error = qp.iter().map(|v| (v - pqp).abs()).fold(0f32, f32::max);
        if max_error < eps {
            break;
        }
        for t in 0..2 {
            let diff = (-qp[t] + pqp) / q[t][t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t][t] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..2 {
                qp[j] = (qp[j] + diff * q[t][j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}
