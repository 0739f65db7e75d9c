//! Python detections: rules, policies and scheduled rules whose logic is a
//! `.py` file, run by a pool of long-lived Python worker processes that
//! import panther-core (the library PAT tests with) from the user's own
//! environment. Nothing Python is linked into `detect`; the worker script
//! ships inside the binary and speaks JSON lines over pipes.

pub mod event;
pub mod interpreter;
pub mod plan;
pub mod pool;
pub mod protocol;
pub mod replay;
pub mod requirements;
pub mod setup;

pub use interpreter::{Interpreter, Origin};
pub use pool::{DetectionOutcome, Pool, PoolConfig, StartError, TestResult};
pub use protocol::{Code, DataModelSpec, DetectionJob, FunctionResult, LoadError, TestJob};
