//! `snowyowl serve`: the sidecar for log shippers (Vector's `socket` sink and source).
//!
//! Clients connect over TCP and send newline-delimited JSON events. One engine sees every
//! client's events (the tenant's stream); findings go back as NDJSON, either on the connection
//! whose events made them, or, with `findings_to`, to one TCP listener (Vector's `socket` source).
//!
//! - **Back-pressure**: each client has a reader thread that hands complete lines to the engine
//!   thread through a bounded queue. When the engine falls behind, readers block, stop reading
//!   their sockets, and TCP pushes back on the senders. Nothing is dropped.
//! - **Bad input** is reported on stderr (client, line, reason) and counted; a line longer than
//!   `max_line_bytes` is skipped to its end. A client that disconnects mid-line has its last,
//!   partial line reported as what it is.
//! - **Shutdown** (`shutdown` set, by SIGINT or SIGTERM in the CLI): stop accepting, finish the
//!   lines already read, then the caller flushes or snapshots the engine ([`Served`]).
//! - Nothing is lost on the way out: findings that cannot be delivered (the client left, the
//!   findings listener is down) are written to stdout with a warning on stderr.
//! - **Quiet streams** (`idle_advance`): every that much wall-clock time the engine thread calls
//!   the engine's `advance-idle` with the time since its previous call, so a tenant that sent
//!   nothing all that time has its own watermark moved on by it and its windows close (a
//!   spray's finding comes out without waiting for the next event); a tenant still sending is
//!   left alone. The time is read from a [`Clock`] (a test steps one by hand). Those findings
//!   were made by no batch, so they go to the findings listener, else to the client that sent
//!   the latest lines (one client gets each finding, as with findings of its own lines), else,
//!   with no client connected, to stdout.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufWriter, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::{Backend, HostFinding};

/// Wall-clock time as the sidecar reads it, for `idle_advance`: a trait, so that a test steps a
/// clock of its own instead of waiting.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The time since an origin of the clock's choosing; it never goes back.
    fn now(&self) -> Duration;

    /// How long the engine thread may wait for input before it reads the clock again, when the
    /// clock says the next idle advance is due in `due_in`. A real clock waits exactly that; a
    /// clock stepped by hand answers a short real wait, so that a step is seen at once.
    fn wait(&self, due_in: Duration) -> Duration {
        due_in
    }
}

/// The real clock: monotonic ([`Instant`]), so a change of the system time moves nothing.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock counting from now.
    pub fn new() -> MonotonicClock {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// Reads `--idle-advance`: a duration as the engine's configuration writes one (`30s`, `5m`,
/// `1h`, `500ms`), more than zero.
pub fn parse_idle_advance(text: &str) -> Result<Duration, String> {
    match snowyowl::time::parse_duration(text).map(u64::try_from) {
        Some(Ok(0)) => Err(format!(
            "{text:?} is no time: the interval must be more than 0"
        )),
        Some(Ok(millis)) => Ok(Duration::from_millis(millis)),
        _ => Err(format!(
            "{text:?} is not a duration: a number and a unit (ms, s, m, h, d), e.g. 30s or 5m"
        )),
    }
}

/// How the sidecar runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Send every finding to this TCP listener instead of back to the client.
    pub findings_to: Option<SocketAddr>,
    /// Longest accepted line, in bytes.
    pub max_line_bytes: usize,
    /// Most clients connected at once; more are refused.
    pub max_clients: usize,
    /// Batches queued for the engine before readers block (the back-pressure bound).
    pub queue_batches: usize,
    /// How many rejected lines to report per client before only counting them.
    pub show_rejections: usize,
    /// Every this much time on `clock`, move on the watermark of each tenant that sent nothing
    /// since the previous time, by the time since then (the engine's `advance-idle`). `None`
    /// (the default): event time moves only with events.
    pub idle_advance: Option<Duration>,
    /// The clock `idle_advance` runs on.
    pub clock: Arc<dyn Clock>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            findings_to: None,
            max_line_bytes: 16 << 20,
            max_clients: 64,
            queue_batches: 16,
            show_rejections: 20,
            idle_advance: None,
            clock: Arc::new(MonotonicClock::new()),
        }
    }
}

/// What a served session did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    /// Clients that connected.
    pub clients: u64,
    /// Lines handed to the engine.
    pub lines: u64,
    /// Events accepted.
    pub accepted: u64,
    /// Lines rejected (including over-long ones).
    pub rejected: u64,
    /// Findings written.
    pub findings: u64,
    /// Findings that went to stdout because their destination was gone.
    pub rerouted: u64,
    /// Times the engine was asked to move quiet tenants on (`idle_advance`).
    pub idle_advances: u64,
}

/// When quiet tenants were last moved on, and how often they are.
struct Idle {
    every: Duration,
    last: Duration,
}

impl Idle {
    /// How long until the next move is due.
    fn due_in(&self, now: Duration) -> Duration {
        self.last.saturating_add(self.every).saturating_sub(now)
    }

    /// When a move is due: the time since the last one (at least `every`; more when the engine
    /// was busy or the clock jumped), which is then the last.
    fn due(&mut self, now: Duration) -> Option<Duration> {
        let quiet = now.saturating_sub(self.last);
        (quiet >= self.every).then(|| {
            self.last = now;
            quiet
        })
    }
}

/// A message from a client reader to the engine thread.
enum Message {
    /// `lines` lines from a client (the last may be unterminated), starting at its line
    /// `first_line` (1-based).
    Lines {
        client: u64,
        first_line: u64,
        lines: u64,
        bytes: Vec<u8>,
        /// The lines already read into events, for an engine that takes them
        /// ([`Backend::reads_ahead`]).
        prepared: Option<snowyowl::Prepared>,
    },
    /// A client connected; findings for it go to `reply`.
    Connected {
        client: u64,
        peer: String,
        reply: TcpStream,
    },
    /// A line the reader skipped, and why.
    Skipped {
        client: u64,
        line: u64,
        reason: String,
    },
    /// A client is gone.
    Closed { client: u64 },
}

/// Reads one client: hands complete lines to the engine thread (with `prepare`, read into events
/// too), blocking when its queue is full.
fn read_client(
    client: u64,
    mut stream: TcpStream,
    queue: SyncSender<Message>,
    shutdown: Arc<AtomicBool>,
    max_line_bytes: usize,
    prepare: bool,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut pending: Vec<u8> = Vec::new();
    let mut next_line: u64 = 1;
    let mut skipping = false;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        if shutdown.load(Ordering::Relaxed) {
            break;
        }
        let read = match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                continue
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let mut data = chunk.get(..read).unwrap_or_default();
        if skipping {
            // Inside an over-long line: drop bytes up to its end.
            match data.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    skipping = false;
                    next_line += 1;
                    data = data.get(end + 1..).unwrap_or_default();
                }
                None => continue,
            }
        }
        pending.extend_from_slice(data);
        if let Some(last) = pending.iter().rposition(|&b| b == b'\n') {
            let rest = pending.split_off(last + 1);
            let bytes = std::mem::replace(&mut pending, rest);
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            let prepared = prepare.then(|| snowyowl::prepare(&bytes));
            let message = Message::Lines {
                client,
                first_line: next_line,
                lines,
                bytes,
                prepared,
            };
            next_line += lines;
            if queue.send(message).is_err() {
                return;
            }
        }
        if pending.len() > max_line_bytes {
            let reason = format!("line longer than {max_line_bytes} bytes; skipped to its end");
            let message = Message::Skipped {
                client,
                line: next_line,
                reason,
            };
            if queue.send(message).is_err() {
                return;
            }
            pending.clear();
            skipping = true;
        }
    }
    // The last line, if the client left without ending it: the engine says what it is (a cut
    // record is reported as malformed; a complete one is read).
    if !pending.is_empty() && !skipping {
        let prepared = prepare.then(|| snowyowl::prepare(&pending));
        let _ = queue.send(Message::Lines {
            client,
            first_line: next_line,
            lines: 1,
            bytes: pending,
            prepared,
        });
    }
    let _ = queue.send(Message::Closed { client });
}

/// Accepts clients until shutdown, starting a reader for each.
fn accept(
    listener: TcpListener,
    queue: SyncSender<Message>,
    shutdown: Arc<AtomicBool>,
    options: ServeOptions,
    prepare: bool,
) -> Result<()> {
    listener
        .set_nonblocking(true)
        .context("setting the listener non-blocking")?;
    let mut next_client: u64 = 0;
    let mut readers: Vec<thread::JoinHandle<()>> = Vec::new();
    while !shutdown.load(Ordering::Relaxed) {
        readers.retain(|reader| !reader.is_finished());
        match listener.accept() {
            Ok((stream, peer)) => {
                if readers.len() >= options.max_clients {
                    eprintln!(
                        "snowyowl serve: refused {peer}: already {} clients (--max-clients)",
                        options.max_clients
                    );
                    drop(stream);
                    continue;
                }
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_nodelay(true);
                next_client += 1;
                let client = next_client;
                let reply = stream.try_clone().context("cloning a client socket")?;
                let message = Message::Connected {
                    client,
                    peer: peer.to_string(),
                    reply,
                };
                if queue.send(message).is_err() {
                    break;
                }
                let queue = queue.clone();
                let shutdown = Arc::clone(&shutdown);
                let max_line = options.max_line_bytes;
                readers.push(thread::spawn(move || {
                    read_client(client, stream, queue, shutdown, max_line, prepare)
                }));
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(20));
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => eprintln!("snowyowl serve: accept failed: {error}"),
        }
    }
    for reader in readers {
        let _ = reader.join();
    }
    Ok(())
}

struct ClientState {
    peer: String,
    reply: Option<TcpStream>,
    shown: usize,
    hidden: u64,
    /// The number of the latest batch it sent (batches are numbered from 1 across clients), 0
    /// before its first.
    latest_batch: u64,
}

/// Where findings go: one TCP listener, or back to each client; stdout when either is gone.
struct Sink {
    findings_to: Option<SocketAddr>,
    forward: Option<BufWriter<TcpStream>>,
    stdout: io::Stdout,
}

impl Sink {
    fn forward(&mut self, address: SocketAddr, lines: &[u8]) -> io::Result<()> {
        for attempt in 0..2 {
            if self.forward.is_none() {
                let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
                let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
                self.forward = Some(BufWriter::new(stream));
            }
            if let Some(writer) = &mut self.forward {
                match writer.write_all(lines).and_then(|()| writer.flush()) {
                    Ok(()) => return Ok(()),
                    Err(error) if attempt == 1 => return Err(error),
                    Err(_) => self.forward = None,
                }
            }
        }
        Ok(())
    }

    /// Writes `findings` to their destination; returns how many had to go to stdout instead.
    fn deliver(&mut self, findings: &[HostFinding], client: Option<&mut ClientState>) -> u64 {
        if findings.is_empty() {
            return 0;
        }
        let mut lines = Vec::new();
        for finding in findings {
            lines.extend_from_slice(finding.json.as_bytes());
            lines.push(b'\n');
        }
        let failed = match (self.findings_to, client) {
            (Some(address), _) => self
                .forward(address, &lines)
                .err()
                .map(|error| format!("findings listener {address}: {error}")),
            (None, Some(client)) => match &mut client.reply {
                Some(stream) => stream.write_all(&lines).err().map(|error| {
                    client.reply = None;
                    format!("client {}: {error}", client.peer)
                }),
                None => Some(format!("client {} is gone", client.peer)),
            },
            // No client and no listener (the closing findings): stdout is the destination.
            (None, None) => {
                self.write_stdout(&lines);
                return 0;
            }
        };
        let Some(reason) = failed else { return 0 };
        self.write_stdout(&lines);
        eprintln!(
            "snowyowl serve: {reason}; wrote {} finding(s) to stdout instead",
            findings.len()
        );
        findings.len() as u64
    }

    fn write_stdout(&self, lines: &[u8]) {
        let mut out = self.stdout.lock();
        let _ = out.write_all(lines).and_then(|()| out.flush());
    }
}

/// Runs the engine over everything the clients send until `shutdown` is set and every client is
/// done, moving quiet tenants on with `options.idle_advance`; then, with `close_windows`, closes
/// every open window and delivers what that finds (to the findings listener, or stdout). Returns
/// what was served; the caller may then snapshot.
pub fn serve(
    backend: &mut dyn Backend,
    listener: TcpListener,
    options: &ServeOptions,
    shutdown: Arc<AtomicBool>,
    close_windows: bool,
) -> Result<Served> {
    let (queue, batches): (SyncSender<Message>, Receiver<Message>) =
        mpsc::sync_channel(options.queue_batches.max(1));
    let acceptor = {
        let shutdown = Arc::clone(&shutdown);
        let options = options.clone();
        let prepare = backend.reads_ahead();
        thread::spawn(move || accept(listener, queue, shutdown, options, prepare))
    };
    let mut served = Served::default();
    let mut sink = Sink {
        findings_to: options.findings_to,
        forward: None,
        stdout: io::stdout(),
    };
    let mut clients: HashMap<u64, ClientState> = HashMap::new();
    let clock = &options.clock;
    let mut idle = options.idle_advance.map(|every| Idle {
        every,
        last: clock.now(),
    });
    let mut batch_number: u64 = 0;
    loop {
        let received = match &idle {
            Some(idle) => batches.recv_timeout(clock.wait(idle.due_in(clock.now()))),
            None => batches.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let message = match received {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Checked after every message too: a stream that never pauses still moves its quiet
        // tenants on.
        if let Some(quiet) = idle.as_mut().and_then(|idle| idle.due(clock.now())) {
            let quiet_ms = u64::try_from(quiet.as_millis()).unwrap_or(u64::MAX);
            let found = backend.advance_idle(quiet_ms)?;
            served.idle_advances += 1;
            served.findings += found.len() as u64;
            let latest = clients
                .values_mut()
                .filter(|state| state.latest_batch > 0)
                .max_by_key(|state| state.latest_batch);
            served.rerouted += sink.deliver(&found, latest);
        }
        let Some(message) = message else { continue };
        match message {
            Message::Connected {
                client,
                peer,
                reply,
            } => {
                served.clients += 1;
                eprintln!("snowyowl serve: client {client} connected from {peer}");
                let _ = reply.set_write_timeout(Some(Duration::from_secs(30)));
                clients.insert(
                    client,
                    ClientState {
                        peer,
                        reply: Some(reply),
                        shown: 0,
                        hidden: 0,
                        latest_batch: 0,
                    },
                );
            }
            Message::Lines {
                client,
                first_line,
                lines,
                bytes,
                prepared,
            } => {
                served.lines += lines;
                batch_number += 1;
                let pushed = backend.push_batch(&bytes, prepared)?;
                served.accepted += u64::from(pushed.accepted);
                served.rejected += pushed.rejected.len() as u64;
                let state = clients.get_mut(&client);
                if let Some(state) = state {
                    state.latest_batch = batch_number;
                    for rejected in &pushed.rejected {
                        let line = first_line + u64::from(rejected.line) - 1;
                        report(
                            state,
                            client,
                            line,
                            &format!("{}: {}", rejected.kind, rejected.reason),
                            options,
                        );
                    }
                    served.findings += pushed.findings.len() as u64;
                    served.rerouted += sink.deliver(&pushed.findings, Some(state));
                } else {
                    served.findings += pushed.findings.len() as u64;
                    served.rerouted += sink.deliver(&pushed.findings, None);
                }
            }
            Message::Skipped {
                client,
                line,
                reason,
            } => {
                served.rejected += 1;
                if let Some(state) = clients.get_mut(&client) {
                    report(state, client, line, &reason, options);
                }
            }
            Message::Closed { client } => {
                if let Some(state) = clients.remove(&client) {
                    let more = if state.hidden > 0 {
                        format!(" ({} more rejected lines not shown)", state.hidden)
                    } else {
                        String::new()
                    };
                    eprintln!(
                        "snowyowl serve: client {client} ({}) closed{more}",
                        state.peer
                    );
                }
            }
        }
    }
    match acceptor.join() {
        Ok(result) => result?,
        Err(_) => anyhow::bail!("the accepting thread failed"),
    }
    if close_windows {
        let closing = backend.flush()?;
        served.findings += closing.len() as u64;
        served.rerouted += sink.deliver(&closing, None);
    }
    Ok(served)
}

fn report(state: &mut ClientState, client: u64, line: u64, reason: &str, options: &ServeOptions) {
    if state.shown < options.show_rejections {
        state.shown += 1;
        eprintln!(
            "snowyowl serve: client {client} ({}) line {line}: {reason}",
            state.peer
        );
    } else {
        state.hidden += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{parse_idle_advance, Idle};

    #[test]
    fn idle_advance_reads_durations_as_the_config_writes_them() {
        assert_eq!(parse_idle_advance("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_idle_advance("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_idle_advance("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(
            parse_idle_advance("0s"),
            Err("\"0s\" is no time: the interval must be more than 0".to_owned())
        );
        for bad in ["5", "-5s", "5 weeks", ""] {
            let error = parse_idle_advance(bad).err().unwrap_or_default();
            assert!(error.contains("is not a duration"), "{bad}: {error}");
        }
    }

    #[test]
    fn an_idle_advance_passes_the_time_since_the_last_one() {
        let minute = Duration::from_secs(60);
        let mut idle = Idle {
            every: minute,
            last: Duration::ZERO,
        };
        assert_eq!(
            idle.due_in(Duration::from_secs(15)),
            Duration::from_secs(45)
        );
        assert_eq!(idle.due(Duration::from_secs(59)), None);
        assert_eq!(idle.due(minute), Some(minute));
        // A clock that jumped (or an engine busy for long): the whole time since, once.
        assert_eq!(idle.due(minute * 4), Some(minute * 3));
        assert_eq!(idle.due(minute * 4), None);
        assert_eq!(idle.due_in(minute * 9), Duration::ZERO);
    }
}
