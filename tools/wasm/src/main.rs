//! `snowyowl-wasm`: the two WebAssembly steps of `make` that need more than cargo, done with the
//! Bytecode Alliance's own crates (the ones `wasm-tools` is built on), so that a fresh machine
//! builds this small tool instead of installing all of `wasm-tools`.
//!
//! - `component`: wraps the core module that `cargo build --features component` leaves (with the
//!   component type wit-bindgen embedded in it) into the WebAssembly component, as
//!   `wasm-tools component new` does, validates it, and fails if the component imports anything.
//! - `check-module`: fails if a core module (the Fluent Bit filter) imports anything or, with
//!   `--no-simd`, uses SIMD (WAMR, Fluent Bit's runtime, runs without it).

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use wasmparser::{Encoding, Parser, Payload, Validator, WasmFeatures};
use wit_component::DecodedWasm;

const USAGE: &str = "usage:
  snowyowl-wasm component <core.wasm> -o <component.wasm>
      wrap a core module built with wit-bindgen into a component; fails if the component imports
      anything
  snowyowl-wasm check-module <module.wasm> [--no-simd]
      fail if a core module is invalid or imports anything (with --no-simd: or uses SIMD)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("snowyowl-wasm: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["-h" | "--help"] => Ok(USAGE.to_string()),
        ["component", input, "-o", output] => {
            let component = component(&read(input)?).with_context(|| input.to_string())?;
            std::fs::write(output, &component).with_context(|| format!("writing {output}"))?;
            Ok(format!(
                "built {output} ({} bytes, exports only)",
                component.len()
            ))
        }
        ["check-module", module, flags @ ..] if flags.iter().all(|flag| *flag == "--no-simd") => {
            let simd = flags.is_empty();
            check_module(&read(module)?, simd).with_context(|| module.to_string())?;
            let what = if simd { "" } else { ", no SIMD" };
            Ok(format!("checked {module} (imports nothing{what})"))
        }
        _ => bail!("unexpected arguments {args:?}\n{USAGE}"),
    }
}

fn read(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {path}"))
}

/// The component made of `core`, validated, or why it cannot be made or imports something.
fn component(core: &[u8]) -> Result<Vec<u8>> {
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core)?
        .encode()?;
    let DecodedWasm::Component(resolve, world) = wit_component::decode(&component)? else {
        bail!("the encoder made something other than a component");
    };
    let imports: Vec<String> = resolve
        .worlds
        .get(world)
        .context("the component's world is missing")?
        .imports
        .keys()
        .map(|key| resolve.name_world_key(key))
        .collect();
    if !imports.is_empty() {
        bail!(
            "the component imports {}; it must import nothing",
            imports.join(", ")
        );
    }
    Ok(component)
}

/// Checks that `module` is a valid core module that imports nothing and, unless `simd`, uses
/// no SIMD instruction or type.
fn check_module(module: &[u8], simd: bool) -> Result<()> {
    let mut features = WasmFeatures::default();
    if !simd {
        features.remove(WasmFeatures::SIMD | WasmFeatures::RELAXED_SIMD);
    }
    let mut imports = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::Version {
                encoding: Encoding::Component,
                ..
            } => bail!("this is a component, not a core module"),
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import?;
                    imports.push(format!("{}::{}", import.module, import.name));
                }
            }
            _ => {}
        }
    }
    if !imports.is_empty() {
        bail!(
            "the module imports {}; it must import nothing",
            imports.join(", ")
        );
    }
    Validator::new_with_features(features)
        .validate_all(module)
        .context(if simd {
            "invalid module"
        } else {
            "invalid module without SIMD (WAMR runs SIMD off)"
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
        ImportSection, Instruction, Module, TypeSection, ValType,
    };

    /// A core module with one function, exported as `export`, that returns `value` (of type
    /// `result`) or nothing, and importing a function as `import` (module, name) if given.
    fn core_module(
        import: Option<(&str, &str)>,
        export: &str,
        result: Option<(ValType, Instruction)>,
    ) -> Vec<u8> {
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], result.iter().map(|(ty, _)| *ty));
        module.section(&types);
        if let Some((from, name)) = import {
            let mut imports = ImportSection::new();
            imports.import(from, name, EntityType::Function(0));
            module.section(&imports);
        }
        let mut functions = FunctionSection::new();
        functions.function(0);
        module.section(&functions);
        let mut exports = ExportSection::new();
        exports.export(export, ExportKind::Func, u32::from(import.is_some()));
        module.section(&exports);
        let mut code = CodeSection::new();
        let mut body = Function::new([]);
        if let Some((_, value)) = &result {
            body.instruction(value);
        }
        body.instruction(&Instruction::End);
        code.function(&body);
        module.section(&code);
        module.finish()
    }

    /// A module exporting `f` (returning an i32 or, with `vector`, a v128) and importing
    /// `env::g` if `import`.
    fn module(import: bool, vector: bool) -> Vec<u8> {
        let result = if vector {
            (ValType::V128, Instruction::V128Const(7))
        } else {
            (ValType::I32, Instruction::I32Const(7))
        };
        core_module(import.then_some(("env", "g")), "f", Some(result))
    }

    #[test]
    fn a_plain_module_passes_both_checks() -> Result<()> {
        check_module(&module(false, false), true)?;
        check_module(&module(false, false), false)
    }

    #[test]
    fn an_import_fails_and_is_named() {
        let error = check_module(&module(true, false), true).map_err(|e| format!("{e:#}"));
        assert_eq!(
            error,
            Err("the module imports env::g; it must import nothing".to_string())
        );
    }

    #[test]
    fn simd_fails_only_with_no_simd() {
        assert!(check_module(&module(false, true), true).is_ok());
        let error = check_module(&module(false, true), false).map_err(|e| format!("{e:#}"));
        assert!(
            matches!(&error, Err(text) if text.starts_with("invalid module without SIMD") && text.contains("SIMD support is not enabled")),
            "{error:?}"
        );
    }

    /// A core module for the world `guest` (exporting `run`, importing `tick` if `import`),
    /// with its component type embedded as wit-bindgen embeds it.
    fn guest(import: bool) -> Result<Vec<u8>> {
        let tick = if import { "import tick: func();" } else { "" };
        let mut resolve = wit_parser::Resolve::default();
        let package = resolve.push_str(
            "guest.wit",
            &format!("package t:t; world guest {{ {tick} export run: func(); }}"),
        )?;
        let world = resolve.select_world(&[package], Some("guest"))?;
        let mut bytes = core_module(import.then_some(("$root", "tick")), "run", None);
        wit_component::embed_component_metadata(
            &mut bytes,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
        )?;
        Ok(bytes)
    }

    #[test]
    fn a_component_that_imports_nothing_is_made() -> Result<()> {
        let made = component(&guest(false)?)?;
        let DecodedWasm::Component(resolve, world) = wit_component::decode(&made)? else {
            bail!("not a component");
        };
        let exports = &resolve.worlds[world].exports;
        assert_eq!(
            exports
                .keys()
                .map(|k| resolve.name_world_key(k))
                .collect::<Vec<_>>(),
            ["run"]
        );
        Ok(())
    }

    #[test]
    fn a_component_that_imports_something_fails_and_names_it() -> Result<()> {
        let error = component(&guest(true)?).map_err(|e| format!("{e:#}"));
        assert_eq!(
            error,
            Err("the component imports tick; it must import nothing".to_string())
        );
        assert!(component(b"not wasm").is_err());
        Ok(())
    }

    #[test]
    fn arguments_are_checked() {
        let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert!(run(&args(&["--help"])).is_ok_and(|text| text.starts_with("usage:")));
        assert!(run(&args(&["component", "x.wasm"])).is_err());
        assert!(run(&args(&["check-module", "x.wasm", "--simd"])).is_err());
        let missing = run(&args(&["check-module", "/nonexistent.wasm"]));
        assert!(missing.is_err_and(|e| format!("{e:#}").starts_with("reading /nonexistent.wasm")),);
    }
}
