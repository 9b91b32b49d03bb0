//! One module per subcommand.

pub mod demo;
pub mod deploy;
pub mod devnet;
pub mod explain;
pub mod gateway;
pub mod infer;
pub mod key;
pub mod model_import;
pub mod model_inspect;
pub mod node;
pub mod pipeline;
pub mod provider;
pub mod publish;
pub mod receipt;
pub mod store;
pub mod task;
pub mod up;
pub mod zk;
