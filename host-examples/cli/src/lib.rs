//! The snowyowl command line, as a library: the hosts of the snowyowl engine (the WebAssembly
//! component through wasmtime, or the native core for comparison), input readers, and the
//! scenario generator. `main.rs` is only argument parsing on top of this.

pub mod component;
pub mod generate;
pub use snowyowl_input as input;
pub mod runtime;
pub mod scan;
pub mod serve;
pub mod tenant;
pub mod wasmtime_config;

pub use runtime::{
    random_seed, Backend, ComponentBackend, HostFinding, HostPushed, HostRejected, NativeBackend,
};
