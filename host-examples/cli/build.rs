//! Embeds the snowyowl component built by `make component` into the binary.

fn main() {
    let component =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/snowyowl.wasm");
    println!("cargo:rerun-if-changed={}", component.display());
    if !component.exists() {
        println!(
            "cargo:warning=the component {} is missing: run `make component` (or `make build`) first",
            component.display()
        );
        std::process::exit(1);
    }
}
