//! What `GET /models` and `GET /providers` list. [`Directory`] is the seam to the chain's
//! `ModelRegistry` and `ProviderStaking`; [`StaticDirectory`] is a fixed list for tests and
//! the local network.

use serde::{Deserialize, Serialize};
use std::sync::RwLock;

/// A registered model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Package CID.
    pub cid: String,
    /// Human name.
    pub name: String,
    /// Input tensor names, in order (requests must supply exactly these).
    pub inputs: Vec<String>,
    /// Modes offered (`zk`, `optimistic`, `committee`); a frozen model offers zk only.
    pub modes: Vec<String>,
    /// Whether it is frozen (by strikes from distinct providers, or governance) or deprecated:
    /// it takes no new task except in the modes still listed (zk on a frozen model).
    pub frozen: bool,
    /// The exact integer inputs (integer or boolean ONNX inputs) and the values they take; a
    /// request with any other value is refused when it arrives (HTTP 400).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integer_inputs: Vec<IntegerInput>,
}

/// An exact integer input of a package (`IoSpec::integer`, `docs/semantics.md` section 5):
/// each element must be an integer from `min` to `max` inclusive, read as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegerInput {
    /// The input's name.
    pub name: String,
    /// Its smallest value.
    pub min: i32,
    /// Its largest value.
    pub max: i32,
}

impl IntegerInput {
    /// The exact integer inputs of `pkg`, in input order.
    pub fn of_package(pkg: &vouch_model::Package) -> Vec<Self> {
        pkg.inputs
            .iter()
            .filter_map(|io| {
                io.integer.map(|(min, max)| Self {
                    name: io.name.clone(),
                    min,
                    max,
                })
            })
            .collect()
    }

    /// Checks this input's values in a request's `input` object (nested arrays of numbers):
    /// every element an integer in range, else the input, the element (row-major index) and
    /// the value. A missing input or a non-number is left to the shape check.
    pub fn check(&self, input: &serde_json::Value) -> Result<(), vouch_task::codec::InputError> {
        let Some(v) = input.get(&self.name) else {
            return Ok(());
        };
        let mut numbers = Vec::new();
        collect_numbers(v, &mut numbers);
        vouch_task::codec::check_integers(&self.name, (self.min, self.max), numbers)
    }
}

/// The numbers of nested JSON arrays, row-major; anything else (e.g. `null`) is not a number.
fn collect_numbers(v: &serde_json::Value, out: &mut Vec<f64>) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_numbers(x, out)),
        serde_json::Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN)),
        _ => out.push(f64::NAN),
    }
}

/// A staked provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Address (EIP-55).
    pub address: String,
    /// Stake in base units (decimal string).
    pub stake: String,
    /// Model CIDs served.
    pub models: Vec<String>,
    /// Blob store URL, if it serves one.
    pub store_url: Option<String>,
}

/// Lists models and providers.
pub trait Directory: Send + Sync + 'static {
    /// Every model.
    fn models(&self) -> Vec<ModelInfo>;
    /// Every provider.
    fn providers(&self) -> Vec<ProviderInfo>;
    /// The model with package CID `cid`.
    fn model(&self, cid: &str) -> Option<ModelInfo> {
        self.models().into_iter().find(|m| m.cid == cid)
    }
}

/// A fixed, editable directory.
#[derive(Debug, Default)]
pub struct StaticDirectory {
    models: RwLock<Vec<ModelInfo>>,
    providers: RwLock<Vec<ProviderInfo>>,
}

impl StaticDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a model.
    pub fn add_model(&self, m: ModelInfo) {
        let mut g = self.models.write().unwrap_or_else(|p| p.into_inner());
        g.retain(|x| x.cid != m.cid);
        g.push(m);
    }

    /// Adds or replaces a provider.
    pub fn add_provider(&self, p: ProviderInfo) {
        let mut g = self.providers.write().unwrap_or_else(|p| p.into_inner());
        g.retain(|x| x.address != p.address);
        g.push(p);
    }
}

impl Directory for StaticDirectory {
    fn models(&self) -> Vec<ModelInfo> {
        self.models
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn providers(&self) -> Vec<ProviderInfo> {
        self.providers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
