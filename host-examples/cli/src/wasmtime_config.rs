//! The wasmtime configuration the component is compiled and run with. `build.rs` includes this
//! file too: an artifact compiled ahead of time loads only into an engine configured alike
//! (wasmtime checks), so the build and every host must share one definition.

/// The configuration every host of this repository runs the component with.
pub fn wasmtime_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config
}
