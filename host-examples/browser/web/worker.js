// The scanning side of the page: the snowyowl core (wasm-bindgen build in pkg/) in a Web Worker,
// so parsing a 100 MB export never blocks the page. Messages in: scan, evidence, validate; and,
// for a page watching a live stream, live, live-push, live-idle, live-stop (answered with
// live-findings).
import init, { Scanner, validate_config, default_config, find_evidence } from './pkg/snowyowl_web.js';

const ready = init();
let files = []; // { name, bytes } of the last scan, kept for evidence lookups and re-scans
let live = null; // the engine of a live stream, apart from the scans'

const encoder = new TextEncoder();
const freshSeed = () => crypto.getRandomValues(new BigUint64Array(1))[0];

function liveEngine() {
  if (!live) throw new Error("no live stream: send { type: 'live', config } first");
  return live;
}

// A live stream's messages: a new engine; a batch of events; the quiet time since the last
// live-idle, on the page's timer (quiet tenants move on by it); the end, closing every window.
function onLive(data) {
  if (data.type === 'live') {
    live?.free();
    live = null;
    live = new Scanner(data.config ?? '', freshSeed());
    postMessage({ type: 'live-findings', findings: [] });
  } else if (data.type === 'live-push') {
    const events = typeof data.events === 'string' ? encoder.encode(data.events) : data.events;
    postMessage({ type: 'live-findings', ...JSON.parse(liveEngine().push(events)) });
  } else if (data.type === 'live-idle') {
    const quietMs = Number(data.quietMs);
    if (!Number.isFinite(quietMs) || quietMs < 0) throw new RangeError(`quietMs must be 0 or more ms, not ${data.quietMs}`);
    const findings = JSON.parse(liveEngine().advance_idle(BigInt(Math.trunc(quietMs))));
    postMessage({ type: 'live-findings', findings });
  } else if (data.type === 'live-stop') {
    const findings = JSON.parse(liveEngine().flush());
    live.free();
    live = null;
    postMessage({ type: 'live-findings', findings, stopped: true });
  }
}

async function scan(newFiles, config) {
  if (newFiles) {
    files = [];
    for (const file of newFiles) {
      // A File (picked or dropped), or { name, bytes } for the bundled scenario. (File has a
      // bytes() method in recent browsers: test for Blob, not for the property.)
      const bytes = file instanceof Blob ? new Uint8Array(await file.arrayBuffer()) : file.bytes;
      files.push({ name: file.name, bytes });
    }
  }
  let scanner;
  try {
    // A fresh seed for the engine's hash tables, whose keys (IPs, user names) the logs choose.
    scanner = new Scanner(config, crypto.getRandomValues(new BigUint64Array(1))[0]);
  } catch (error) {
    postMessage({ type: 'error', message: `invalid settings: ${error.message ?? error}` });
    return;
  }
  const total = files.reduce((sum, f) => sum + f.bytes.length, 0);
  let before = 0;
  const results = [];
  for (const file of files) {
    const started = before;
    const result = JSON.parse(
      scanner.scan(file.name, file.bytes, (done) =>
        postMessage({ type: 'progress', done: started + done, total, file: file.name }),
      ),
    );
    result.name = file.name;
    result.size = file.bytes.length;
    results.push(result);
    before += file.bytes.length;
  }
  const closing = JSON.parse(scanner.flush());
  const stats = JSON.parse(scanner.stats());
  scanner.free();
  postMessage({ type: 'done', results, closing, stats });
}

onmessage = async ({ data }) => {
  await ready;
  try {
    if (data.type === 'scan') {
      await scan(data.files, data.config);
    } else if (data.type === 'rescan') {
      await scan(null, data.config);
    } else if (data.type === 'evidence') {
      const records = {};
      for (const file of files) {
        const missing = data.ids.filter((id) => !(id in records));
        if (missing.length === 0) break;
        Object.assign(records, JSON.parse(find_evidence(file.name, file.bytes, JSON.stringify(missing))));
      }
      postMessage({ type: 'evidence', uid: data.uid, records });
    } else if (data.type === 'validate') {
      postMessage({ type: 'validation', error: validate_config(data.config), id: data.id });
    } else if (data.type === 'defaults') {
      postMessage({ type: 'defaults', config: default_config() });
    } else if (['live', 'live-push', 'live-idle', 'live-stop'].includes(data.type)) {
      onLive(data);
    }
  } catch (error) {
    postMessage({ type: 'error', message: String(error?.message ?? error) });
  }
};
postMessage({ type: 'loaded' });
