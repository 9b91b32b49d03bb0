//! The embedded defaults of a local network: the scikit-learn digits MLP, its calibration
//! rows, held-out inputs and their labels, and the dev key of the demo client.

/// The embedded model: the scikit-learn digits MLP.
pub const MODEL: &[u8] = include_bytes!("../../../testdata/models/digits_mlp/model.onnx");
/// Its calibration rows.
pub const CALIBRATION: &str = include_str!("../../../testdata/models/digits_mlp/calibration.json");
/// Held-out inputs.
pub const INPUT: &str = include_str!("../../../testdata/models/digits_mlp/input.json");
/// Their labels.
pub const LABELS: &str = include_str!("../../../testdata/models/digits_mlp/labels.json");

/// The demo client's key index.
pub const CLIENT_KEY: usize = 9;
