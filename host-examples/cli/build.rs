//! Embeds the snowyowl component built by `make component` into the binary when it exists (cfg
//! `snowyowl_embedded_component`); a binary built without it finds it at run time
//! (`runtime::load_component`), so that `cargo build --workspace` works on a fresh clone.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(snowyowl_embedded_component)");
    // The checkout's build/ (this crate is two levels down).
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .join("build");
    let component = build.join("snowyowl.wasm");
    if component.exists() {
        println!("cargo::rustc-cfg=snowyowl_embedded_component");
        println!("cargo::rerun-if-changed={}", component.display());
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
