//! `snowyowl`: finds the Midnight Blizzard intrusion chain in Entra ID and Microsoft 365 logs.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

use snowyowl_cli::component::{ready_component, CompileCache, CACHE_DIR_VAR};
use snowyowl_cli::input::Format;
use snowyowl_cli::scan::{scan, ScanOptions};
use snowyowl_cli::serve::{parse_idle_advance, serve, ServeOptions};
use snowyowl_cli::tenant::{tenant, Stress, TenantOptions};
use snowyowl_cli::{generate, random_seed, Backend, ComponentBackend, NativeBackend};

/// mimalloc instead of the system allocator: the native engine allocates small strings per event,
/// and glibc's malloc and free were a fifth of its time (BENCHMARKS.md). WebAssembly builds keep
/// their own allocator inside the component.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e` of mimalloc.h, which keeps
/// retired options in place so that the numbers stay fixed; libmimalloc-sys names no constant).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Has mimalloc give freed memory back to the system after 250 ms rather than a second:
/// batches are read (and read into events) on one thread and freed on another, so memory is
/// freed in bursts. At once (0 ms), the pages were faulted in again for every batch: on 1M records
/// the native scan took 7.7-8.3 s (2.4-2.6 s in the kernel) against 5.4-5.9 s (0.6 s) at 250 ms,
/// for a peak RSS of 96-99 MB against 118-132 MB; a second's delay measured no faster than 250 ms.
fn return_freed_memory_soon() {
    // SAFETY: sets one integer option, which mimalloc allows at any time from any thread.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 250);
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "snowyowl",
    version,
    about = "Finds the Midnight Blizzard (APT29) intrusion chain in Entra ID and Microsoft 365 logs",
    long_about = "Finds the Midnight Blizzard (APT29) intrusion chain in Entra ID and Microsoft 365 \
logs: password sprays (also from residential proxies), the account they break into, and what the \
actor does with it.\n\nThe detectors run inside the snowyowl WebAssembly component (built into this \
binary) on wasmtime; findings are OCSF Detection Findings (class 2004), one JSON object per line."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan log files (or stdin) and write findings as NDJSON.
    ///
    /// Reads Entra ID sign-ins (Azure Monitor diagnostic export, Microsoft Graph, Log Analytics,
    /// the Office 365 unified audit log), directory audit records, Exchange mailbox access and
    /// admin records, and Identity Protection risk detections, each recognised by its keys; as
    /// newline-delimited JSON, JSON documents (arrays, {"records": [...]}, {"value": [...]}) or
    /// Log Analytics CSV exports. Lines that cannot be read are reported on stderr with file, line
    /// and reason; the rest of the input is still scanned. Exit status: 0 when the scan ran
    /// (findings or not), 1 on an error that stopped it (unreadable file, invalid config or state).
    #[command(
        after_help = "Examples:\n  snowyowl scan signins.jsonl\n  snowyowl scan --config tuned.json --output findings.ndjson export.csv\n  az monitor ... | snowyowl scan -"
    )]
    Scan(ScanArgs),
    /// Run as a sidecar: read NDJSON events from TCP clients, answer findings as NDJSON.
    ///
    /// One engine sees every client's events. Findings go back on the connection whose events
    /// made them, or with --findings-to to one TCP listener (Vector's socket source). When the
    /// engine falls behind, clients are not read until it catches up (TCP back-pressure); nothing
    /// is dropped. Bad lines are reported on stderr with client and line. On SIGINT or SIGTERM it
    /// stops accepting, finishes the lines already read, and then either saves its state
    /// (--state-file: open windows carry over to the next start) or closes every open window and
    /// sends the findings that makes (without --state-file, or with --final); findings whose
    /// destination is gone are written to stdout.
    #[command(
        after_help = "Examples:\n  snowyowl serve --listen 127.0.0.1:5140\n  snowyowl serve --findings-to 127.0.0.1:5141 --state-file /var/lib/snowyowl/state --idle-advance 1m\n  (see host-examples/vector for a Vector pipeline)"
    )]
    Serve(ServeArgs),
    /// Write a deterministic scenario (NDJSON) for demos and tests.
    Generate(GenerateArgs),
}

#[derive(Parser, Debug)]
struct ScanArgs {
    /// Input files; none or "-" reads stdin.
    #[arg(value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// Write findings here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
    /// How the input is framed.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// Records per batch handed to the engine.
    #[arg(long, default_value_t = snowyowl_cli::scan::DEFAULT_BATCH_SIZE, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// How many rejected lines to list on stderr.
    #[arg(long, default_value_t = 20, value_name = "N")]
    show_rejections: usize,
    /// Print one readable line per finding on stdout instead of the NDJSON (which still goes to
    /// --output when given): at the end, each finding once as it stands last, the most severe
    /// first, then by when it began.
    #[arg(long)]
    brief: bool,
    /// With --brief, list informational findings too.
    #[arg(long, requires = "brief")]
    informational: bool,
    /// Print the engine's stats (JSON) on stderr at the end.
    #[arg(long)]
    stats: bool,
    /// No summary and no progress bar on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// How the engine is built: shared by `scan` and `serve`.
#[derive(Parser, Debug)]
struct EngineArgs {
    /// Detector settings (JSON): thresholds, windows, enable/disable, severity overrides. Errors
    /// name the field. See the README for every key.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Load this build of the component instead of the one built into the binary (or set
    /// SNOWYOWL_COMPONENT). It is compiled for this machine on its first use and kept in the cache
    /// directory (--cache-dir), so later runs start at once. A binary built before `make
    /// component` reads build/snowyowl.wasm of its checkout.
    #[arg(long, value_name = "PATH")]
    component: Option<PathBuf>,
    /// Where components compiled at run time are kept (default: $XDG_CACHE_HOME/snowyowl, else
    /// ~/.cache/snowyowl). Deleting it is always safe: it only costs the next run a compile. It
    /// holds machine code snowyowl runs, so it is used only when it and its contents are this
    /// user's and no one else can write there (a missing one is created with mode 700). The built-in component needs no cache: it was compiled when
    /// the binary was built.
    #[arg(long, value_name = "DIR", env = CACHE_DIR_VAR)]
    cache_dir: Option<PathBuf>,
    /// Compile the component on every run; read and write no cache.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
    /// Say on stderr which component runs and how it was made ready (built in and compiled ahead
    /// of time, read from the cache, or compiled now), and how long that took.
    #[arg(short, long)]
    verbose: bool,
    /// Run the component in wasmtime (default), or the same core compiled natively (for checks).
    #[arg(long, value_enum, default_value_t = EngineKind::Component)]
    engine: EngineKind,
    /// Seed for the engine's hash tables (default: drawn from the operating system's random
    /// source on every run). Set it only to reproduce a run; findings do not depend on it.
    #[arg(long)]
    seed: Option<u64>,
    /// Keep the engine's state in this file across runs: read at start (if it exists), written
    /// atomically at the end. Open windows then stay open between runs, so a shipper restart or a
    /// batch split over files loses nothing; use --final on the last run to close them.
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// With --state-file: close every open window at the end of this run.
    #[arg(long, requires = "state_file")]
    r#final: bool,
}

#[derive(Parser, Debug)]
struct ServeArgs {
    /// Address to listen on for newline-delimited JSON events.
    #[arg(long, default_value = "127.0.0.1:5140", value_name = "ADDR")]
    listen: String,
    /// Send findings (NDJSON) to this TCP listener, such as Vector's socket source, instead of
    /// back on the connection whose events made them.
    #[arg(long, value_name = "ADDR")]
    findings_to: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
    /// Longest line accepted, in bytes; longer ones are reported and skipped.
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    max_line_bytes: usize,
    /// Most clients connected at once; more are refused.
    #[arg(long, default_value_t = 64, value_name = "N")]
    max_clients: usize,
    /// How many rejected lines to report per client on stderr before only counting them.
    #[arg(long, default_value_t = 20, value_name = "N")]
    show_rejections: usize,
    /// Close a quiet stream's windows: every DURATION of wall-clock time (30s, 5m, …), each
    /// tenant that sent nothing since the last time has its own watermark moved on by the time
    /// since then, so a spray's finding comes out without waiting for the next event. Findings
    /// go to --findings-to, else to the client that sent the latest lines, else stdout. Off by
    /// default: event time then moves only with events.
    #[arg(long, value_name = "DURATION", value_parser = parse_idle_advance)]
    idle_advance: Option<std::time::Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineKind {
    /// The WebAssembly component in wasmtime.
    Component,
    /// The core compiled into this binary.
    Native,
}

#[derive(Parser, Debug)]
struct GenerateArgs {
    /// The scenario.
    #[arg(long, value_enum, default_value_t = Scenario::Demo)]
    scenario: Scenario,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// Records of the flood and tenant scenarios (the tenant's planted attacks come on top).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Users of the tenant scenarios.
    #[arg(long, default_value_t = 50_000)]
    users: u64,
    /// With a tenant scenario: write the ground truth (planted attacks, the detectors and
    /// entities their findings must show) to this JSON file.
    #[arg(long, value_name = "FILE")]
    truth: Option<PathBuf>,
    /// Write here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// A day of a 300-user tenant with a two-round password spray that breaks into a test account.
    Demo,
    /// Three days of the tenant and the whole intrusion: residential-proxy spray, a test account
    /// without MFA, an OAuth app created, credentialed and granted full_access_as_app by another
    /// app, and executives' mail read through EWS and Graph; with benign admin work and noise.
    MidnightBlizzard,
    /// No sign-in logs: a secret added to an app, then the app reading six mailboxes.
    AppAbuse,
    /// A stress test: --events distinct users failing from distinct IPs, with one real spray.
    Flood,
    /// A realistic day of a --users tenant (--events records: 80 % sign-ins, 10 % directory
    /// audit, 10 % Exchange) after a warm-up (the week before: each user's MFA sign-ins from
    /// their usual places, 3 records per user), with benign look-alikes (a lockout wave,
    /// conference Wi-Fi, travellers, a VPN egress) and planted attacks: single-IP, distributed
    /// (1,200 proxies, with a first-try hit) and low-and-slow sprays and the whole OAuth-to-mail
    /// chain. --truth writes what must be found.
    Tenant,
    /// The tenant day with its warm-up and look-alikes but no planted attack.
    TenantBenign,
    /// The tenant day with every sign-in from a distinct IP.
    TenantDistinctIps,
    /// The tenant day with every sign-in by a distinct user.
    TenantDistinctUsers,
    /// The tenant day with a third of all sign-ins from one hot IP.
    TenantHotIp,
}

/// Builds the engine the arguments describe, restoring its state file when there is one.
fn open_backend(args: &EngineArgs) -> Result<Box<dyn Backend>> {
    let config = match &args.config {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?,
        None => String::new(),
    };
    let seed = args.seed.unwrap_or_else(random_seed);
    let config_name = args
        .config
        .as_ref()
        .map_or("config".to_owned(), |p| p.display().to_string());
    let state = match &args.state_file {
        Some(path) if path.exists() => Some(
            std::fs::read(path)
                .with_context(|| format!("reading state file {}", path.display()))?,
        ),
        _ => None,
    };
    let context = || match (&state, &args.state_file) {
        (Some(_), Some(path)) => format!("{config_name} with state file {}", path.display()),
        _ => config_name.clone(),
    };
    Ok(match args.engine {
        EngineKind::Component => {
            let cache = match (&args.cache_dir, args.no_cache) {
                (_, true) => CompileCache::Off,
                (Some(dir), false) => CompileCache::In(dir.clone()),
                (None, false) => CompileCache::default_for_user(),
            };
            let ready = ready_component(args.component.as_deref(), &cache)?;
            if args.verbose {
                eprintln!("snowyowl: {}", ready.describe());
            }
            let backend = ComponentBackend::instantiate(
                &ready.engine,
                &ready.component,
                &config,
                seed,
                state.as_deref(),
            );
            Box::new(backend.with_context(context)?)
        }
        EngineKind::Native => {
            let backend = NativeBackend::with_state(&config, seed, state.as_deref());
            Box::new(backend.with_context(context)?)
        }
    })
}

/// Saves the engine's state to --state-file, when given.
fn save_state(backend: &mut dyn Backend, args: &EngineArgs) -> Result<()> {
    if let Some(path) = &args.state_file {
        let snapshot = backend.snapshot()?;
        snowyowl_cli::scan::write_atomically(path, &snapshot)
            .with_context(|| format!("saving state to {}", path.display()))?;
    }
    Ok(())
}

fn run_scan(args: ScanArgs) -> Result<()> {
    let mut backend = open_backend(&args.engine)?;
    let stdout = || BufWriter::new(io::stdout().lock());
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None if args.brief => Box::new(io::sink()),
        None => Box::new(stdout()),
    };
    let mut brief: Box<dyn Write> = if args.brief {
        Box::new(stdout())
    } else {
        Box::new(io::sink())
    };
    let show_progress = !args.quiet && io::stderr().is_terminal();
    let options = ScanOptions {
        inputs: args.inputs,
        format: args.format,
        batch_size: args.batch_size as usize,
        progress_from: show_progress.then_some(8 << 20),
        brief: args.brief,
        informational: args.informational,
        flush_at_end: args.engine.state_file.is_none() || args.engine.r#final,
    };
    let summary = scan(backend.as_mut(), &options, &mut out, &mut brief)?;
    save_state(backend.as_mut(), &args.engine)?;
    if !args.quiet {
        eprint!("{}", summary.render(args.show_rejections));
    }
    if args.stats {
        eprintln!("{}", backend.stats()?);
    }
    Ok(())
}

fn resolve(address: &str) -> Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    address
        .to_socket_addrs()
        .with_context(|| format!("resolving {address}"))?
        .next()
        .with_context(|| format!("{address} resolves to no address"))
}

fn run_serve(args: ServeArgs) -> Result<()> {
    let mut backend = open_backend(&args.engine)?;
    let listener = std::net::TcpListener::bind(&args.listen)
        .with_context(|| format!("listening on {}", args.listen))?;
    let options = ServeOptions {
        findings_to: args.findings_to.as_deref().map(resolve).transpose()?,
        max_line_bytes: args.max_line_bytes,
        max_clients: args.max_clients,
        show_rejections: args.show_rejections,
        idle_advance: args.idle_advance,
        ..ServeOptions::default()
    };
    let shutdown = Arc::new(AtomicBool::new(false));
    {
        let shutdown = Arc::clone(&shutdown);
        ctrlc::set_handler(move || shutdown.store(true, Ordering::Relaxed))
            .context("installing the SIGINT/SIGTERM handler")?;
    }
    eprintln!(
        "snowyowl serve: listening on {}{}{}",
        listener.local_addr()?,
        options
            .findings_to
            .map(|a| format!(", findings to {a}"))
            .unwrap_or_default(),
        options
            .idle_advance
            .map(|every| format!(", quiet tenants moved on every {every:?}"))
            .unwrap_or_default()
    );
    let close = args.engine.state_file.is_none() || args.engine.r#final;
    let served = serve(backend.as_mut(), listener, &options, shutdown, close)?;
    save_state(backend.as_mut(), &args.engine)?;
    eprintln!(
        "snowyowl serve: stopped: {} clients, {} lines, {} events, {} rejected, {} findings{}{}",
        served.clients,
        served.lines,
        served.accepted,
        served.rejected,
        served.findings,
        if served.rerouted > 0 {
            format!(" ({} written to stdout)", served.rerouted)
        } else {
            String::new()
        },
        match (&args.engine.state_file, close) {
            (Some(path), false) => format!("; open windows saved to {}", path.display()),
            (Some(path), true) => format!("; windows closed, state saved to {}", path.display()),
            (None, _) => "; windows closed".to_owned(),
        }
    );
    Ok(())
}

fn run_tenant(args: &GenerateArgs, stress: Stress, attacks: bool) -> Result<()> {
    let options = TenantOptions {
        users: args.users,
        events: args.events,
        seed: args.seed,
        stress,
        attacks,
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    };
    let truth = tenant(&options, &mut out)
        .and_then(|truth| out.flush().map(|()| truth))
        .context("writing the scenario")?;
    if let Some(path) = &args.truth {
        std::fs::write(path, serde_json::to_string_pretty(&truth)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn run_generate(args: GenerateArgs) -> Result<()> {
    let tenant_scenario = matches!(
        args.scenario,
        Scenario::Tenant
            | Scenario::TenantBenign
            | Scenario::TenantDistinctIps
            | Scenario::TenantDistinctUsers
            | Scenario::TenantHotIp
    );
    anyhow::ensure!(
        args.truth.is_none() || tenant_scenario,
        "--truth is for the tenant scenarios"
    );
    let text = match args.scenario {
        Scenario::Demo => generate::demo(args.seed),
        Scenario::MidnightBlizzard => generate::midnight_blizzard(args.seed),
        Scenario::AppAbuse => generate::app_abuse(args.seed),
        Scenario::Flood => generate::flood(0, args.events, args.events),
        Scenario::Tenant => return run_tenant(&args, Stress::None, true),
        Scenario::TenantBenign => return run_tenant(&args, Stress::None, false),
        Scenario::TenantDistinctIps => return run_tenant(&args, Stress::DistinctIps, true),
        Scenario::TenantDistinctUsers => return run_tenant(&args, Stress::DistinctUsers, true),
        Scenario::TenantHotIp => return run_tenant(&args, Stress::HotIp, true),
    };
    match args.output {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            let mut stdout = io::stdout().lock();
            stdout.write_all(text.as_bytes()).context("writing stdout")
        }
    }
}

fn main() -> ExitCode {
    return_freed_memory_soon();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => run_scan(args),
        Command::Serve(args) => run_serve(args),
        Command::Generate(args) => run_generate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("snowyowl: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// clap checks the command line's declaration (two flags with one short name, a conflict
    /// naming a missing argument, …) only in debug builds, at parse time; this checks it always.
    #[test]
    fn the_command_line_declaration_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
