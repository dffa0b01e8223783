//! Embeds the snowyowl component built by `make component` into the binary when it exists (cfg
//! `snowyowl_embedded_component`), compiled ahead of time for the machine the binary is built for
//! (`$OUT_DIR/snowyowl.cwasm`), so that the binary loads its machine code instead of compiling
//! the component on every start. A binary built without it finds the component at run time
//! (`component::load_component`), so that `cargo build --workspace` works on a fresh clone.

use std::path::Path;

#[path = "src/wasmtime_config.rs"]
mod wasmtime_config;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(snowyowl_embedded_component)");
    // The checkout's build/ (this crate is two levels down), read when the script runs: Cargo
    // may reuse a compiled build script for another checkout sharing the target directory (a git
    // worktree), so a path fixed when the script was compiled can name the wrong checkout.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| Path::new(".").to_path_buf(), std::path::PathBuf::from);
    let manifest = manifest.as_path();
    let build = manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .join("build");
    let component = build.join("snowyowl.wasm");
    println!("cargo::rerun-if-changed=src/wasmtime_config.rs");
    if component.exists() {
        println!("cargo::rerun-if-changed={}", component.display());
        if let Err(error) = precompile(&component) {
            // A build script's panic is how Cargo reports a failed build step.
            #[allow(clippy::panic)]
            {
                panic!("compiling {} ahead of time: {error}", component.display());
            }
        }
        println!("cargo::rustc-cfg=snowyowl_embedded_component");
    } else {
        println!(
            "cargo::warning=no component at {}: this build of the CLI loads it at run time (`make component` and a rebuild embed it)",
            component.display()
        );
        // The component appearing must rerun this script. Cargo reruns a script watching a
        // missing path on every build, so watch build/ (for any change in it) once it exists.
        let watched = if build.is_dir() { &build } else { &component };
        println!("cargo::rerun-if-changed={}", watched.display());
    }
}

/// Compiles the component for the target into `$OUT_DIR/snowyowl.cwasm`. For the host the
/// build runs on (the usual build) wasmtime uses every CPU feature it finds, as it does at run
/// time; a binary moved to a machine without them finds its artifact refused there and compiles
/// the embedded component instead (`component`).
fn precompile(component: &Path) -> Result<(), String> {
    let env = |name: &str| std::env::var(name).map_err(|e| format!("{name}: {e}"));
    let bytes = std::fs::read(component).map_err(|e| e.to_string())?;
    let mut config = wasmtime_config::wasmtime_config();
    let (target, host) = (env("TARGET")?, env("HOST")?);
    if target != host {
        config.target(&target).map_err(|e| format!("{e:#}"))?;
    }
    let engine = wasmtime::Engine::new(&config).map_err(|e| format!("{e:#}"))?;
    let artifact = engine
        .precompile_component(&bytes)
        .map_err(|e| format!("{e:#}"))?;
    let out = Path::new(&env("OUT_DIR")?).join("snowyowl.cwasm");
    std::fs::write(&out, artifact).map_err(|e| format!("writing {}: {e}", out.display()))
}
