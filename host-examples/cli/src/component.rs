//! Getting the component ready to run: the one built into the binary, compiled ahead of time when
//! the binary was built (`build.rs`), or a component file, compiled once and then kept in a cache
//! directory the user can see and clear.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use wasmtime::component::Component;
use wasmtime::{Cache, CacheConfig, Engine};

use crate::wasmtime_config::wasmtime_config;

/// The variable naming a component to load instead of the one built into the binary.
pub const COMPONENT_VAR: &str = "SNOWYOWL_COMPONENT";

/// The component built from this repository, embedded at build time when `build/snowyowl.wasm`
/// existed then (`build.rs`); `None` in a build without it, which finds it at run time.
#[cfg(snowyowl_embedded_component)]
pub const EMBEDDED_COMPONENT: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../build/snowyowl.wasm"
)));

/// The component built from this repository, embedded at build time when `build/snowyowl.wasm`
/// existed then (`build.rs`); `None` in a build without it, which finds it at run time.
#[cfg(not(snowyowl_embedded_component))]
pub const EMBEDDED_COMPONENT: Option<&[u8]> = None;

/// [`EMBEDDED_COMPONENT`] compiled by `build.rs` for the machine the binary was built for:
/// wasmtime's serialized artifact, loaded without compiling.
#[cfg(snowyowl_embedded_component)]
pub const PRECOMPILED_COMPONENT: Option<&[u8]> =
    Some(include_bytes!(concat!(env!("OUT_DIR"), "/snowyowl.cwasm")));

/// [`EMBEDDED_COMPONENT`] compiled by `build.rs` for the machine the binary was built for:
/// wasmtime's serialized artifact, loaded without compiling.
#[cfg(not(snowyowl_embedded_component))]
pub const PRECOMPILED_COMPONENT: Option<&[u8]> = None;

/// The variable naming the directory compiled components are cached in (`--cache-dir`).
pub const CACHE_DIR_VAR: &str = "SNOWYOWL_CACHE_DIR";

/// The component to run: the file at `path` (`--component`) when given, else the one
/// [`COMPONENT_VAR`] names, else the one built into the binary, else `build/snowyowl.wasm` of the
/// checkout the binary was built from.
pub fn load_component(path: Option<&Path>) -> Result<Cow<'static, [u8]>> {
    find_component(
        named_component(path),
        EMBEDDED_COMPONENT,
        &built_component(),
    )
}

/// The component file asked for: `--component`, else [`COMPONENT_VAR`].
fn named_component(path: Option<&Path>) -> Option<PathBuf> {
    path.map(Path::to_path_buf)
        .or_else(|| std::env::var_os(COMPONENT_VAR).map(PathBuf::from))
}

/// The component `make component` builds, in the checkout this binary was built from (this
/// crate is two levels down in it).
fn built_component() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let checkout = manifest.ancestors().nth(2).unwrap_or(manifest);
    checkout.join("build").join("snowyowl.wasm")
}

/// [`load_component`] with what it looks at passed in.
fn find_component(
    named: Option<PathBuf>,
    embedded: Option<&'static [u8]>,
    built: &Path,
) -> Result<Cow<'static, [u8]>> {
    let path = match (named, embedded) {
        (Some(path), _) => path,
        (None, Some(embedded)) => return Ok(Cow::Borrowed(embedded)),
        (None, None) if built.exists() => built.to_path_buf(),
        (None, None) => bail!(
            "no snowyowl component: this binary was built without one and {} is missing; run \
             `make component` (or set {COMPONENT_VAR} to a component's path)",
            built.display()
        ),
    };
    std::fs::read(&path)
        .map(Cow::Owned)
        .with_context(|| format!("reading component {}", path.display()))
}

/// Where compiled components are kept between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileCache {
    /// Compile on every run.
    Off,
    /// Keep them in this directory (created when missing).
    In(PathBuf),
}

impl CompileCache {
    /// The cache directory when none is given: `$XDG_CACHE_HOME/snowyowl`, else
    /// `~/.cache/snowyowl`; off when neither variable is set.
    pub fn default_for_user() -> CompileCache {
        let var = |name| std::env::var_os(name).filter(|value| !value.is_empty());
        var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cache")))
            .map_or(CompileCache::Off, |dir| {
                CompileCache::In(dir.join("snowyowl"))
            })
    }
}

/// How the component came to be ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in component, compiled when the binary was built.
    Precompiled,
    /// A component compiled by an earlier run, read from the cache directory.
    Cached(PathBuf),
    /// Compiled now (and stored in the cache directory when there is one).
    Compiled {
        /// The cache directory the result went to.
        cached_in: Option<PathBuf>,
        /// Why the built-in artifact or the cache could not be used, when they could not.
        because: Option<String>,
    },
}

/// The component compiled for this machine, with the engine it runs in.
pub struct Ready {
    /// The engine (configured by [`wasmtime_config`]).
    pub engine: Engine,
    /// The compiled component.
    pub component: Component,
    /// How it came to be ready.
    pub origin: Origin,
    /// What it is: `built-in` or the file's path.
    pub source: String,
    /// How long that took.
    pub took: Duration,
}

impl Ready {
    /// One line for `--verbose`: which component, how it was made ready, how long it took.
    pub fn describe(&self) -> String {
        let how = match &self.origin {
            Origin::Precompiled => "compiled ahead of time, when this binary was built".to_owned(),
            Origin::Cached(dir) => {
                format!("compiled by an earlier run, cached in {}", dir.display())
            }
            Origin::Compiled { cached_in, because } => {
                let stored = match cached_in {
                    Some(dir) => format!(", cached in {}", dir.display()),
                    None => ", not cached".to_owned(),
                };
                let because = because
                    .as_ref()
                    .map_or(String::new(), |why| format!(" ({why})"));
                format!("compiled now{stored}{because}")
            }
        };
        format!(
            "component {}: {how}; ready in {} ms",
            self.source,
            self.took.as_millis()
        )
    }
}

/// Makes the component [`load_component`] picks ready to run: the built-in one from the
/// artifact compiled with the binary, any other compiled through `cache`.
pub fn ready_component(path: Option<&Path>, cache: &CompileCache) -> Result<Ready> {
    let started = Instant::now();
    let named = named_component(path);
    let source = named
        .as_ref()
        .map_or("built-in".to_owned(), |path| path.display().to_string());
    let mut refused = None;
    if named.is_none() {
        if let Some(artifact) = PRECOMPILED_COMPONENT {
            match load_artifact(artifact) {
                Ok((engine, component)) => {
                    return Ok(Ready {
                        engine,
                        component,
                        origin: Origin::Precompiled,
                        source,
                        took: started.elapsed(),
                    })
                }
                Err(error) => {
                    refused = Some(format!("its built-in artifact was refused: {error:#}"))
                }
            }
        }
    }
    let bytes = find_component(named, EMBEDDED_COMPONENT, &built_component())?;
    let (engine, component, origin) = compile(&bytes, cache, refused)?;
    Ok(Ready {
        engine,
        component,
        origin,
        source,
        took: started.elapsed(),
    })
}

/// Loads the artifact `build.rs` compiled into an engine configured as it was.
fn load_artifact(artifact: &[u8]) -> Result<(Engine, Component)> {
    let engine = Engine::new(&wasmtime_config()).map_err(|e| anyhow!("{e:#}"))?;
    // SAFETY: wasmtime runs the artifact's machine code as it is, checking only that it is a
    // component artifact of this wasmtime version, configuration and CPU. This one is part of the
    // binary itself: build.rs compiled it from the component embedded beside it.
    #[allow(unsafe_code)]
    let component =
        unsafe { Component::deserialize(&engine, artifact) }.map_err(|e| anyhow!("{e:#}"))?;
    Ok((engine, component))
}

/// Compiles `bytes`, through the cache directory when there is one. A cache directory that
/// cannot be used only costs the compile: the reason goes into the [`Origin`].
fn compile(
    bytes: &[u8],
    cache: &CompileCache,
    mut because: Option<String>,
) -> Result<(Engine, Component, Origin)> {
    let mut config = wasmtime_config();
    let cache = match cache {
        CompileCache::Off => None,
        CompileCache::In(dir) => match open_cache(dir) {
            Ok(cache) => Some(cache),
            Err(error) => {
                because = Some(format!("{error:#}"));
                None
            }
        },
    };
    config.cache(cache.clone());
    let engine = Engine::new(&config).map_err(|e| anyhow!("{e:#}"))?;
    let component = Component::new(&engine, bytes)
        .map_err(|e| anyhow!("{e:#}"))
        .context("loading the snowyowl component")?;
    let origin = match cache {
        Some(cache) if cache.cache_hits() > 0 => Origin::Cached(cache.directory().clone()),
        cache => Origin::Compiled {
            cached_in: cache.map(|cache| cache.directory().clone()),
            because,
        },
    };
    Ok((engine, component, origin))
}

/// wasmtime's compilation cache in `dir` (made absolute, and created private when missing).
fn open_cache(dir: &Path) -> Result<Cache> {
    let dir =
        std::path::absolute(dir).with_context(|| format!("cache directory {}", dir.display()))?;
    private_directory(&dir)?;
    let mut config = CacheConfig::new();
    config.with_directory(&dir);
    Cache::new(config)
        .map_err(|e| anyhow!("{e:#}"))
        .with_context(|| format!("cannot use cache directory {}", dir.display()))
}

/// The cache holds machine code that this process maps in and runs, so whoever can write into it
/// can run code as the user. It is used only when it, and everything in it, belongs to the user
/// running snowyowl and no one else can write there (what `sshd` asks of `~/.ssh`); the check
/// reads a few entries (wasmtime keeps one file per component). A missing directory is created
/// closed to others (mode 700, its missing parents too). Its parents are not checked.
#[cfg(unix)]
fn private_directory(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;

    let refused = |why: String| {
        anyhow!(
            "cache directory {} not used: {why}, and code put there would run as this user",
            dir.display()
        )
    };
    let exists = dir
        .try_exists()
        .with_context(|| format!("cannot use cache directory {}", dir.display()))?;
    if !exists {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot use cache directory {}", dir.display()))?;
    }
    let metadata = std::fs::metadata(dir)
        .with_context(|| format!("cannot use cache directory {}", dir.display()))?;
    if !metadata.is_dir() {
        bail!(
            "cannot use cache directory {}: not a directory",
            dir.display()
        );
    }
    let user = rustix::process::geteuid().as_raw();
    let mut pending = vec![(dir.to_path_buf(), metadata)];
    while let Some((path, metadata)) = pending.pop() {
        owned_and_closed(&path, &metadata, user).map_err(refused)?;
        if metadata.is_dir() {
            let entries = std::fs::read_dir(&path)
                .with_context(|| format!("cannot use cache directory {}", dir.display()))?;
            for entry in entries {
                let entry = entry
                    .with_context(|| format!("cannot use cache directory {}", dir.display()))?;
                // Not followed: a link is refused (wasmtime makes none).
                let metadata = entry
                    .metadata()
                    .with_context(|| format!("cannot use cache directory {}", dir.display()))?;
                pending.push((entry.path(), metadata));
            }
        }
    }
    Ok(())
}

/// Why `path` could let someone else's code in, if it could: another owner, write access for
/// group or others, or (inside the cache) a symbolic link.
#[cfg(unix)]
fn owned_and_closed(
    path: &Path,
    metadata: &std::fs::Metadata,
    user: u32,
) -> std::result::Result<(), String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    if metadata.uid() != user {
        return Err(format!(
            "{} belongs to user {}, not to this user ({user})",
            path.display(),
            metadata.uid()
        ));
    }
    if metadata.file_type().is_symlink() {
        return Err(format!("{} is a symbolic link", path.display()));
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{} is writable by other users (mode {mode:03o}; `chmod go-w` it)",
            path.display()
        ));
    }
    Ok(())
}

/// Elsewhere the directory's own permissions are trusted (as wasmtime's CLI does).
#[cfg(not(unix))]
fn private_directory(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot use cache directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::find_component;

    #[test]
    fn without_a_component_the_error_says_how_to_get_one() {
        let built = Path::new("/nonexistent/build/snowyowl.wasm");
        let error = find_component(None, None, built).unwrap_err().to_string();
        assert_eq!(
            error,
            "no snowyowl component: this binary was built without one and \
             /nonexistent/build/snowyowl.wasm is missing; run `make component` (or set \
             SNOWYOWL_COMPONENT to a component's path)"
        );
    }

    #[test]
    fn a_named_component_comes_before_the_embedded_one() {
        let named = Some(PathBuf::from("/nonexistent/other.wasm"));
        let error = find_component(named, Some(b"embedded"), Path::new("/nonexistent"));
        let error = format!("{:#}", error.unwrap_err());
        assert!(error.starts_with("reading component /nonexistent/other.wasm"));
        let embedded = find_component(None, Some(b"embedded"), Path::new("/nonexistent"));
        assert_eq!(embedded.unwrap().as_ref(), b"embedded");
    }
}
