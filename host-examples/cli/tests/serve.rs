//! `snowyowl serve` over real sockets: the sidecar Vector talks to.

// Test code: a failed unwrap is a failed test.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use snowyowl_cli::serve::{serve, Clock, ServeOptions, Served};
use snowyowl_cli::{Backend, HostFinding, HostPushed, NativeBackend};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

fn scenario() -> String {
    std::fs::read_to_string(data("midnight-blizzard.ndjson")).unwrap()
}

/// The findings the CLI's `scan` writes for `file`, sorted.
fn scan(file: &Path) -> Vec<String> {
    scan_with(file, &[])
}

fn scan_with(file: &Path, args: &[&str]) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_snowyowl"))
        .args(["scan", "--quiet"])
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(output.status.success());
    sorted(String::from_utf8(output.stdout).unwrap())
}

/// Asserts two sorted finding lists are equal, naming the differences briefly.
fn assert_same(found: &[String], expected: &[String]) {
    if found == expected {
        return;
    }
    let brief = |line: &String| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        format!(
            "{} {} {} t={}",
            v["finding_info"]["analytic"]["uid"],
            v["activity_name"],
            v["finding_info"]["uid"],
            v["time"]
        )
    };
    let missing: Vec<String> = expected
        .iter()
        .filter(|f| !found.contains(f))
        .map(brief)
        .collect();
    let extra: Vec<String> = found
        .iter()
        .filter(|f| !expected.contains(f))
        .map(brief)
        .collect();
    panic!(
        "{} findings, expected {}\nmissing: {missing:#?}\nextra: {extra:#?}",
        found.len(),
        expected.len()
    );
}

fn sorted(text: String) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

struct Server {
    child: Child,
    address: String,
    stderr: mpsc::Receiver<String>,
    stdout: thread::JoinHandle<String>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_snowyowl"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (send, stderr) = mpsc::channel();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        thread::spawn(move || {
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut text = String::new();
            stdout.read_to_string(&mut text).unwrap();
            text
        });
        let first = stderr.recv_timeout(Duration::from_secs(60)).unwrap();
        let address = first
            .strip_prefix("snowyowl serve: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .split(',')
            .next()
            .unwrap()
            .to_owned();
        Server {
            child,
            address,
            stderr,
            stdout,
        }
    }

    fn connect(&self) -> TcpStream {
        TcpStream::connect(&self.address).unwrap()
    }

    /// Waits for a stderr line containing `text`; returns every line read meanwhile.
    fn wait_for(&self, text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self
                .stderr
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("no {text:?} on stderr; saw {seen:#?}"));
            let done = line.contains(text);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    /// SIGTERM, then the findings written to stdout and the rest of stderr.
    fn stop(mut self) -> (String, Vec<String>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let stderr: Vec<String> = self.stderr.iter().collect();
        assert!(exit.success(), "serve failed: {stderr:#?}");
        (self.stdout.join().unwrap(), stderr)
    }
}

/// Sends `text`, half-closes, and reads the answers until the server closes the connection.
fn send_and_read(mut stream: TcpStream, text: &[u8]) -> String {
    let mut reader = stream.try_clone().unwrap();
    let answers = thread::spawn(move || {
        let mut answers = String::new();
        reader.read_to_string(&mut answers).unwrap();
        answers
    });
    stream.write_all(text).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    answers.join().unwrap()
}

#[test]
fn one_client_gets_the_findings_the_cli_finds() {
    let server = Server::start(&[]);
    let answers = send_and_read(server.connect(), scenario().as_bytes());
    server.wait_for("closed");
    let (closing, stderr) = server.stop();
    // Findings of closing windows at shutdown go to stdout (the client is gone).
    let all = sorted(answers.clone() + &closing);
    assert_same(&all, &scan(&data("midnight-blizzard.ndjson")));
    assert!(answers.contains("distributed-password-spray"));
    let summary = stderr.last().unwrap();
    let records = scenario().lines().count();
    assert!(
        summary.contains(&format!("{records} events, 0 rejected")),
        "{summary}"
    );
}

#[test]
fn two_clients_at_once_share_one_engine() {
    // Two shippers each send half of the tenant's events (alternate lines), at the same time.
    // Their streams interleave in whatever order the sockets deliver; with an allowed lateness
    // covering the whole scenario that disorder cannot change the findings.
    let dir = std::env::temp_dir().join(format!("snowyowl-two-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.json");
    std::fs::write(&config, r#"{"allowed_lateness": "4d"}"#).unwrap();
    let config_arg = config.to_str().unwrap();
    let server = Server::start(&["--engine", "native", "--config", config_arg]);
    let text = scenario();
    let (mut even, mut odd) = (String::new(), String::new());
    for (n, line) in text.lines().enumerate() {
        let half = if n % 2 == 0 { &mut even } else { &mut odd };
        half.push_str(line);
        half.push('\n');
    }
    let (a, b) = (server.connect(), server.connect());
    let first = thread::spawn(move || send_and_read(a, even.as_bytes()));
    let second = send_and_read(b, odd.as_bytes());
    let first = first.join().unwrap();
    let (closing, stderr) = server.stop();
    assert_same(
        &sorted(first + &second + &closing),
        &scan_with(&data("midnight-blizzard.ndjson"), &["--config", config_arg]),
    );
    let summary = stderr.last().unwrap();
    let records = scenario().lines().count();
    assert!(
        summary.contains(&format!("2 clients, {records} lines, {records} events")),
        "{summary}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_client_that_disconnects_mid_line_loses_only_that_line() {
    // Findings go to a listener, not back to the client: a client that closes with replies
    // unread makes its kernel reset the connection, and a reset discards what the sidecar had
    // not read yet (TCP, not the sidecar); this test is about the cut line alone.
    let sink = TcpListener::bind("127.0.0.1:0").unwrap();
    let sink_address = sink.local_addr().unwrap().to_string();
    let collected = thread::spawn(move || {
        let (mut stream, _) = sink.accept().unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    });
    let server = Server::start(&["--findings-to", &sink_address]);
    let text = scenario();
    let lines: Vec<&str> = text.lines().collect();
    let cut = 2000;
    // The first client sends 2,000 lines and half of the next, then vanishes.
    let mut first = server.connect();
    let head = lines[..cut].join("\n") + "\n";
    let partial = &lines[cut][..lines[cut].len() / 2];
    first.write_all(head.as_bytes()).unwrap();
    first.write_all(partial.as_bytes()).unwrap();
    drop(first);
    let seen = server.wait_for("closed");
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("line {}: malformed", cut + 1))),
        "{seen:#?}"
    );
    // A second client carries on from the cut line.
    let tail = lines[cut..].join("\n") + "\n";
    let answers = send_and_read(server.connect(), tail.as_bytes());
    assert_eq!(answers, "");
    let (closing, stderr) = server.stop();
    assert_eq!(closing, "");
    // Only the cut line was lost: the findings are exactly the CLI's.
    assert_same(
        &sorted(collected.join().unwrap()),
        &scan(&data("midnight-blizzard.ndjson")),
    );
    assert!(stderr.last().unwrap().contains("1 rejected"), "{stderr:#?}");
}

#[test]
fn over_long_lines_are_skipped_and_reported() {
    let server = Server::start(&["--max-line-bytes", "1000"]);
    let text = scenario();
    let lines: Vec<&str> = text.lines().take(50).collect();
    let mut input = lines[..10].join("\n") + "\n";
    input.push_str(&format!("{{\"pad\":\"{}\"}}\n", "x".repeat(200_000)));
    input.push_str(&(lines[10..].join("\n") + "\n"));
    let _ = send_and_read(server.connect(), input.as_bytes());
    let seen = server.wait_for("closed");
    assert!(
        seen.iter()
            .any(|l| l.contains("line 11: line longer than 1000 bytes")),
        "{seen:#?}"
    );
    let (_, stderr) = server.stop();
    assert!(
        stderr.last().unwrap().contains("50 events, 1 rejected"),
        "{stderr:#?}"
    );
}

#[test]
fn findings_go_to_the_findings_listener_and_state_survives_a_restart() {
    // Vector's socket source, played by a plain listener.
    let sink = TcpListener::bind("127.0.0.1:0").unwrap();
    let sink_address = sink.local_addr().unwrap().to_string();
    let collected = thread::spawn(move || {
        let mut text = String::new();
        // One connection per sidecar run.
        for _ in 0..2 {
            let (mut stream, _) = sink.accept().unwrap();
            stream.read_to_string(&mut text).unwrap();
        }
        text
    });
    let dir = std::env::temp_dir().join(format!("snowyowl-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state");
    let state_arg = state.to_str().unwrap();
    let text = scenario();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;

    // First run: half the events, then SIGTERM: open windows are saved, not closed.
    let server = Server::start(&["--findings-to", &sink_address, "--state-file", state_arg]);
    let answers = send_and_read(
        server.connect(),
        (lines[..half].join("\n") + "\n").as_bytes(),
    );
    assert_eq!(answers, "", "findings go to the listener, not back");
    server.wait_for("closed");
    let (stdout, stderr) = server.stop();
    assert_eq!(stdout, "");
    assert!(
        stderr.last().unwrap().contains("open windows saved"),
        "{stderr:#?}"
    );
    assert!(state.exists());

    // Second run: restored, the other half, then --final closes the windows.
    let server = Server::start(&[
        "--findings-to",
        &sink_address,
        "--state-file",
        state_arg,
        "--final",
    ]);
    let _ = send_and_read(
        server.connect(),
        (lines[half..].join("\n") + "\n").as_bytes(),
    );
    server.wait_for("closed");
    let (stdout, _) = server.stop();
    assert_eq!(stdout, "");
    let findings = collected.join().unwrap();
    assert_same(&sorted(findings), &scan(&data("midnight-blizzard.ndjson")));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Fluent Bit's `tcp` output (`host-examples/fluent-bit/fluent-bit-serve.yaml`): records
/// re-serialized from its msgpack (compact, keys in another order, a `date` key unless
/// `json_date_key: false`), one flush after another, on connections it never reads from; the
/// findings go to its `tcp` input (`--findings-to`). They are the CLI's, and nothing stalls.
#[test]
fn fluent_bit_s_tcp_output_gets_the_cli_s_findings_to_its_tcp_input() {
    let input = TcpListener::bind("127.0.0.1:0").unwrap();
    let input_address = input.local_addr().unwrap().to_string();
    let collected = thread::spawn(move || {
        let (mut stream, _) = input.accept().unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    });
    let server = Server::start(&["--findings-to", &input_address]);
    let text = scenario();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let flushes: Vec<&[serde_json::Value]> = records.chunks(records.len() / 3 + 1).collect();
    assert_eq!(flushes.len(), 3);
    for (flush, chunk) in flushes.iter().enumerate() {
        let mut lines = String::new();
        for (n, record) in chunk.iter().enumerate() {
            let mut record = record.clone();
            // The first flush as with Fluent Bit's default json_date_key (`date`, a double).
            if flush == 0 {
                record["date"] = serde_json::json!(1_700_000_000.25 + n as f64);
            }
            lines.push_str(&record.to_string());
            lines.push('\n');
        }
        // Written whole and closed, with nothing read back.
        let mut stream = server.connect();
        stream.write_all(lines.as_bytes()).unwrap();
        drop(stream);
        server.wait_for("closed");
    }
    let (stdout, stderr) = server.stop();
    assert_eq!(stdout, "", "every finding goes to the tcp input");
    let summary = stderr.last().unwrap();
    assert!(
        summary.contains(&format!(
            "3 clients, {} lines, {} events, 0 rejected",
            records.len(),
            records.len()
        )),
        "{summary}"
    );
    let findings = collected.join().unwrap();
    assert!(findings.contains("distributed-password-spray"));
    assert_same(&sorted(findings), &scan(&data("midnight-blizzard.ndjson")));
}

#[test]
fn clients_beyond_the_limit_are_refused_and_the_others_carry_on() {
    let server = Server::start(&["--max-clients", "1"]);
    let first = server.connect();
    server.wait_for("client 1 connected");
    let mut second = server.connect();
    server.wait_for("refused");
    // The refused connection is closed at once.
    let mut buffer = [0u8; 16];
    assert_eq!(second.read(&mut buffer).unwrap_or(0), 0);
    let text = scenario();
    let lines: Vec<&str> = text.lines().take(100).collect();
    let _ = send_and_read(first, (lines.join("\n") + "\n").as_bytes());
    let (_, stderr) = server.stop();
    assert!(
        stderr
            .last()
            .unwrap()
            .contains("1 clients, 100 lines, 100 events"),
        "{stderr:#?}"
    );
}

// ---------- quiet streams (--idle-advance): the sidecar in this process, on a stepped clock ----------

/// A clock the test steps by hand.
#[derive(Debug, Default)]
struct SteppedClock(Mutex<Duration>);

impl SteppedClock {
    fn step(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }

    fn wait(&self, due_in: Duration) -> Duration {
        // Look at the clock again soon: a step does not wake the engine thread.
        due_in.min(Duration::from_millis(5))
    }
}

/// What the engine was asked to do, as the recording backend saw it.
#[derive(Debug, PartialEq, Eq)]
enum Call {
    /// A batch, the events it accepted and the findings it made.
    Push { accepted: u32, findings: usize },
    /// `advance-idle`: the quiet time passed, and the findings it made.
    Idle { quiet_ms: u64, findings: usize },
}

/// The native engine, telling the test every push and idle advance as it happens: what the test
/// waits on before stepping the clock (never a sleep).
struct Recording {
    engine: NativeBackend,
    calls: mpsc::Sender<Call>,
}

impl Backend for Recording {
    fn push(&mut self, events: &[u8]) -> anyhow::Result<HostPushed> {
        let pushed = self.engine.push(events)?;
        let _ = self.calls.send(Call::Push {
            accepted: pushed.accepted,
            findings: pushed.findings.len(),
        });
        Ok(pushed)
    }
    fn advance(&mut self, watermark_ms: i64) -> anyhow::Result<Vec<HostFinding>> {
        self.engine.advance(watermark_ms)
    }
    fn advance_idle(&mut self, quiet_ms: u64) -> anyhow::Result<Vec<HostFinding>> {
        let found = self.engine.advance_idle(quiet_ms)?;
        let _ = self.calls.send(Call::Idle {
            quiet_ms,
            findings: found.len(),
        });
        Ok(found)
    }
    fn flush(&mut self) -> anyhow::Result<Vec<HostFinding>> {
        self.engine.flush()
    }
    fn stats(&mut self) -> anyhow::Result<String> {
        self.engine.stats()
    }
    fn snapshot(&mut self) -> anyhow::Result<Vec<u8>> {
        self.engine.snapshot()
    }
}

/// 2024-03-04T09:00:00Z.
const T0: i64 = 1_709_542_800_000;
const MINUTE: i64 = 60_000;
const TENANT: &str = "0c0ffee0-2828-4828-8828-000000000028";

/// A Graph sign-in of the tenant at `T0 + minute` (minute < 60).
fn signin(user: &str, ip: &str, code: u32, minute: i64) -> String {
    format!(
        r#"{{"id":"{user}-{minute}","createdDateTime":"2024-03-04T09:{minute:02}:00Z","userPrincipalName":"{user}","ipAddress":"{ip}","tenantId":"{TENANT}","status":{{"errorCode":{code}}}}}"#
    ) + "\n"
}

/// A password spray: 8 users failing with 50126 from one IP, one a minute from T0. The tenant's
/// allowed lateness (5 min) holds the last attempts back, so it is found only when event time
/// moves on: by a later event, or by an idle advance.
fn spray() -> String {
    (0..8)
        .map(|n| signin(&format!("user{n}@contoso.com"), "203.0.113.66", 50126, n))
        .collect()
}

/// The sidecar in a thread of this process: the recording native engine, `--idle-advance` on
/// the stepped clock.
struct Sidecar {
    address: std::net::SocketAddr,
    clock: Arc<SteppedClock>,
    calls: mpsc::Receiver<Call>,
    shutdown: Arc<AtomicBool>,
    /// What was served, and the engine's stats at the end.
    running: thread::JoinHandle<(Served, String)>,
}

const EVERY: Duration = Duration::from_secs(5 * 60);

impl Sidecar {
    fn start() -> Sidecar {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let clock = Arc::new(SteppedClock::default());
        let (send, calls) = mpsc::channel();
        let shutdown = Arc::new(AtomicBool::new(false));
        let options = ServeOptions {
            idle_advance: Some(EVERY),
            clock: Arc::clone(&clock) as Arc<dyn Clock>,
            ..ServeOptions::default()
        };
        let stop = Arc::clone(&shutdown);
        let running = thread::spawn(move || {
            // Made here: an engine stays on the thread that made it.
            let mut backend = Recording {
                engine: NativeBackend::new("", 1).unwrap(),
                calls: send,
            };
            let served = serve(&mut backend, listener, &options, stop, false).unwrap();
            (served, backend.stats().unwrap())
        });
        Sidecar {
            address,
            clock,
            calls,
            shutdown,
            running,
        }
    }

    /// The next call the engine made.
    fn next_call(&self) -> Call {
        self.calls
            .recv_timeout(Duration::from_secs(60))
            .expect("the engine made no further call")
    }

    /// Sends `lines` and waits until the engine has taken every one of them in.
    fn send(&self, client: &mut TcpStream, lines: &str) {
        client.write_all(lines.as_bytes()).unwrap();
        let mut left = lines.lines().count() as u32;
        while left > 0 {
            match self.next_call() {
                Call::Push { accepted, findings } => {
                    assert_eq!(findings, 0, "nothing is found while the spray is held back");
                    left -= accepted;
                }
                other => panic!("{other:?} before the lines were taken in"),
            }
        }
    }

    /// Steps the clock by one interval and returns what the idle advance it causes found.
    fn step(&self) -> usize {
        self.clock.step(EVERY);
        match self.next_call() {
            Call::Idle { quiet_ms, findings } => {
                assert_eq!(quiet_ms, EVERY.as_millis() as u64);
                findings
            }
            other => panic!("{other:?} instead of an idle advance"),
        }
    }

    fn stop(self) -> (Served, String) {
        self.shutdown.store(true, Ordering::Relaxed);
        self.running.join().unwrap()
    }
}

/// Reads `count` finding lines from `client`.
fn read_findings(client: &TcpStream, count: usize) -> Vec<serde_json::Value> {
    client
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut reader = BufReader::new(client.try_clone().unwrap());
    (0..count)
        .map(|_| {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            serde_json::from_str(&line).unwrap()
        })
        .collect()
}

/// The tenant's watermark in `stats`.
fn watermark(stats: &str) -> serde_json::Value {
    let stats: serde_json::Value = serde_json::from_str(stats).unwrap();
    stats["tenants"]["by_tenant"][TENANT]["watermark"].clone()
}

#[test]
fn a_quiet_stream_gets_its_spray_without_a_new_event() {
    let sidecar = Sidecar::start();
    let mut client = TcpStream::connect(sidecar.address).unwrap();
    sidecar.send(&mut client, &spray());
    // The first interval: the tenant sent during it, so it stays where its events put it.
    assert_eq!(sidecar.step(), 0);
    // The second: quiet throughout. Its watermark moves on by the interval, past the spray's
    // last attempts, and the spray's finding comes back on the connection, no event needed.
    let found = sidecar.step();
    assert!(found > 0);
    let findings = read_findings(&client, found);
    assert!(
        findings
            .iter()
            .any(|f| f["finding_info"]["analytic"]["uid"] == "password-spray"),
        "{findings:#?}"
    );
    assert!(findings
        .iter()
        .all(|f| f["cloud"]["account"]["uid"] == TENANT));
    let (served, stats) = sidecar.stop();
    assert_eq!(served.findings, found as u64);
    assert_eq!(served.rerouted, 0);
    assert_eq!(served.idle_advances, 2);
    // Its events put the watermark at minute 2 (the last at 7, less the lateness); the quiet
    // interval moved it 5 minutes on.
    assert_eq!(watermark(&stats), T0 + 7 * MINUTE);
}

#[test]
fn a_stream_that_keeps_sending_is_not_moved_on() {
    let sidecar = Sidecar::start();
    let mut client = TcpStream::connect(sidecar.address).unwrap();
    sidecar.send(&mut client, &spray());
    // An event in every interval (each within the spray's minutes, so event time stands still):
    // however many intervals pass, the tenant is never moved on and the spray stays held.
    for n in 0..4 {
        let user = format!("staff{n}@contoso.com");
        sidecar.send(&mut client, &signin(&user, "198.51.100.7", 0, n));
        assert_eq!(sidecar.step(), 0, "interval {n}");
    }
    // One interval without: now it is.
    assert!(sidecar.step() > 0);
    let (served, stats) = sidecar.stop();
    assert_eq!(served.idle_advances, 5);
    assert_eq!(watermark(&stats), T0 + 7 * MINUTE);
}

#[test]
fn idle_advance_takes_a_duration() {
    let output = Command::new(env!("CARGO_BIN_EXE_snowyowl"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--idle-advance",
            "5 weeks",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("invalid value '5 weeks' for '--idle-advance <DURATION>'")
            && stderr.contains("e.g. 30s or 5m"),
        "{stderr}"
    );
}
