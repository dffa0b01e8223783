//! A stand-in for Fluent Bit's `filter_wasm`: loads the snowyowl Fluent Bit module and calls it
//! exactly as `flb_wasm_call_function_format_json` (Fluent Bit 4.1–5.1) does, record by record.
//!
//! Fluent Bit cannot be installed here, so this is what the tests and `make bench` run. Per record:
//! copy the tag and the record into guest memory *with* a NUL terminator (the guest's `malloc`,
//! which WAMR uses when the module exports it), call the filter with
//! `(tag, tag_len, time_sec, time_nsec, record, record_len)` (lengths without the NUL), check that
//! the returned address is a NUL-terminated string inside guest memory, copy it out, and free both
//! copies with the guest's `free`. An empty result drops the record.

use anyhow::{anyhow, bail, Context as _, Result};
use wasmtime::{Config, Engine, Instance, Memory, Module, Store, TypedFunc};

/// wasmtime's errors, as anyhow errors with their whole chain.
fn wasm_error(error: wasmtime::Error) -> anyhow::Error {
    anyhow!("{error:#}")
}

/// The module `make fluent-bit` builds, relative to the repository root.
pub const MODULE_PATH: &str = "build/snowyowl-fluent-bit.wasm";

type FilterFn = TypedFunc<(u32, u32, u32, u32, u32, u32), u32>;

/// How the module runs: what Fluent Bit's WAMR does by default, or compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Compiled to machine code (Cranelift): what `wamrc`'s ahead-of-time compilation gives WAMR.
    Compiled,
    /// Interpreted by wasmtime's Pulley: a bytecode interpreter, as WAMR's (Fluent Bit's default).
    Interpreted,
    /// Compiled, counting the WebAssembly instructions run ([`FilterHost::instructions`]): the
    /// work an interpreter does, as a figure that a busy machine does not blur.
    Counted,
}

impl Runtime {
    /// The name `make bench` and the tests print.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Compiled => "compiled",
            Runtime::Interpreted => "interpreted",
            Runtime::Counted => "counted",
        }
    }

    fn engine(self) -> Result<Engine> {
        let mut config = Config::new();
        if self == Runtime::Interpreted {
            let pulley = if cfg!(target_pointer_width = "64") {
                "pulley64"
            } else {
                "pulley32"
            };
            config.target(pulley).map_err(wasm_error)?;
        }
        config.consume_fuel(self == Runtime::Counted);
        Engine::new(&config).map_err(wasm_error)
    }
}

/// One loaded filter instance: state persists across calls, as in Fluent Bit 4.1 and later.
pub struct FilterHost {
    store: Store<()>,
    memory: Memory,
    malloc: TypedFunc<u32, u32>,
    free: TypedFunc<u32, ()>,
    function: FilterFn,
}

/// What the filter did with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The record was replaced by this JSON (possibly unchanged).
    Record(String),
    /// The filter returned an empty string: Fluent Bit drops the record.
    Dropped,
}

impl FilterHost {
    /// Loads `wasm` (a core module), compiled, and looks up `function_name`, as `filter_wasm` does
    /// at start.
    pub fn new(wasm: &[u8], function_name: &str) -> Result<FilterHost> {
        FilterHost::with_runtime(wasm, function_name, Runtime::Compiled)
    }

    /// [`FilterHost::new`] with the module run as `runtime` says.
    pub fn with_runtime(wasm: &[u8], function_name: &str, runtime: Runtime) -> Result<FilterHost> {
        let engine = runtime.engine()?;
        let module = Module::new(&engine, wasm)
            .map_err(wasm_error)
            .context("loading the module")?;
        if module.imports().len() != 0 {
            bail!(
                "the module imports {} items; it must import none",
                module.imports().len()
            );
        }
        let mut store = Store::new(&engine, ());
        if runtime == Runtime::Counted {
            store.set_fuel(u64::MAX).map_err(wasm_error)?;
        }
        let instance = Instance::new(&mut store, &module, &[])
            .map_err(wasm_error)
            .context("instantiating")?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| anyhow!("the module exports no memory"))?;
        let malloc = instance
            .get_typed_func(&mut store, "malloc")
            .map_err(wasm_error)?;
        let free = instance
            .get_typed_func(&mut store, "free")
            .map_err(wasm_error)?;
        let function = instance
            .get_typed_func(&mut store, function_name)
            .map_err(wasm_error)
            .with_context(|| format!("the {function_name} wasm function is not found"))?;
        Ok(FilterHost {
            store,
            memory,
            malloc,
            free,
            function,
        })
    }

    /// `wasm_runtime_module_dup_data(data, len + 1)`: the bytes and a NUL, in guest memory.
    fn dup_with_nul(&mut self, data: &[u8]) -> Result<u32> {
        let size = u32::try_from(data.len() + 1).context("record too large")?;
        let offset = self
            .malloc
            .call(&mut self.store, size)
            .map_err(wasm_error)?;
        if offset == 0 {
            bail!("guest malloc({size}) failed");
        }
        let start = offset as usize;
        self.memory
            .write(&mut self.store, start, data)
            .map_err(|e| anyhow!("{e}"))?;
        self.memory
            .write(&mut self.store, start + data.len(), &[0])
            .map_err(|e| anyhow!("{e}"))?;
        Ok(offset)
    }

    /// Filters one record: `flb_wasm_call_function_format_json`.
    pub fn call(
        &mut self,
        tag: &str,
        time_sec: u32,
        time_nsec: u32,
        record: &[u8],
    ) -> Result<Outcome> {
        let tag_buffer = self.dup_with_nul(tag.as_bytes())?;
        let record_buffer = self.dup_with_nul(record)?;
        let result = self.function.call(
            &mut self.store,
            (
                tag_buffer,
                tag.len() as u32,
                time_sec,
                time_nsec,
                record_buffer,
                record.len() as u32,
            ),
        );
        // Fluent Bit frees both copies whether or not the call trapped.
        let result = result
            .map_err(|e| anyhow!("got exception running wasm code: {e:#}"))
            .and_then(|pointer| self.read_c_string(pointer));
        self.free
            .call(&mut self.store, tag_buffer)
            .map_err(wasm_error)?;
        self.free
            .call(&mut self.store, record_buffer)
            .map_err(wasm_error)?;
        let text = result?;
        Ok(if text.is_empty() {
            Outcome::Dropped
        } else {
            Outcome::Record(text)
        })
    }

    /// `wasm_runtime_validate_app_str_addr` + `strdup`: a NUL-terminated string inside memory.
    fn read_c_string(&mut self, pointer: u32) -> Result<String> {
        let data = self.memory.data(&self.store);
        let tail = data
            .get(pointer as usize..)
            .filter(|_| pointer != 0)
            .ok_or_else(|| anyhow!("returned value is invalid: {pointer:#x} is outside memory"))?;
        let length = tail
            .iter()
            .position(|&byte| byte == 0)
            .ok_or_else(|| anyhow!("returned value is invalid: no NUL before the end of memory"))?;
        let bytes = tail.get(..length).unwrap_or_default();
        // Fluent Bit copies the bytes (strdup) and parses them as JSON; a stand-in keeps them.
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    /// WebAssembly instructions run so far (wasmtime's fuel: about one per instruction), with
    /// [`Runtime::Counted`]; `None` otherwise.
    pub fn instructions(&self) -> Option<u64> {
        self.store.get_fuel().ok().map(|left| u64::MAX - left)
    }

    /// Bytes of guest linear memory now (it only grows).
    pub fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }
}
