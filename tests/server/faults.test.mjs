// Faults against `whale serve` on loopback, all bounded: slow senders are dropped after the read
// timeout while others are served; hundreds of idle connections cost no threads; garbage is a
// 400; clients dropping mid-stream free their sequences with memory staying flat; kill -9 under
// keyed load leaves an intact database whose ledger holds every answer the clients received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { testModel, tempDir, startServer, whale, cleanup } from './whale_server.mjs';

let dir, model, srv;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const body = (extra = {}) => JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, ...extra });

before(async () => {
  dir = tempDir('whale-faults-');
  model = testModel(dir);
  srv = await startServer(model, ['--read-timeout', '2', '--kv-memory', '64']);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
  cleanup(dir);
});

function procStatus(pid, field) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
  return Number(m[1]);
}

// Resolves with what the server sent when it closes the connection (or after ms).
function rawExchange(port, data, ms) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (closed) => { clearTimeout(t); s.destroy(); resolve({ got, closed }); };
    const t = setTimeout(() => done(false), ms);
    s.on('data', (d) => { got += d; });
    s.on('close', () => done(true));
    s.on('error', () => {});
    s.write(data);
  });
}

test('slow sender is dropped at the read timeout; others are served meanwhile', async () => {
  const slow = rawExchange(srv.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n', 10000);
  const t0 = performance.now();
  const r = await fetch(srv.url + '/v1/chat/completions', { method: 'POST', body: body() });
  assert.equal(r.status, 200);
  assert.ok(performance.now() - t0 < 2000);
  const s = await slow;
  assert.equal(s.closed, true);  // closed by the server, before our 10 s
});

test('garbage is a 400 in the OpenAI error shape', async () => {
  const r = await rawExchange(srv.port, 'GARBAGE \x01\x02 NOT HTTP\r\n\r\n', 5000);
  assert.match(r.got, /^HTTP\/1.1 400/);
  assert.match(r.got, /"error":\{"message"/);
  const huge = await rawExchange(srv.port, 'GET /health HTTP/1.1\r\nX: ' + 'a'.repeat(100000) + '\r\n\r\n', 5000);
  assert.match(huge.got, /^HTTP\/1.1 413/);
});

test('pipelined requests on one connection are answered in order', async () => {
  const post = (n) => `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${n.length}\r\n\r\n${n}`;
  const two = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' + post('{"prompt":"a","max_tokens":2}') +
              'GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const r = await rawExchange(srv.port, two, 10000);
  assert.equal(r.closed, true);
  const statuses = [...r.got.matchAll(/HTTP\/1.1 (\d+)/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '200', '200']);
  assert.ok(r.got.indexOf('"status":"ok"') < r.got.indexOf('text_completion'));
  assert.ok(r.got.indexOf('text_completion') < r.got.indexOf('"object":"list"'));
});

test('500 idle keep-alive connections use no extra threads', async () => {
  const threads = procStatus(srv.proc.pid, 'Threads');
  const socks = await Promise.all(Array.from({ length: 500 }, () => new Promise((res, rej) => {
    const s = net.connect(srv.port, '127.0.0.1', () => res(s));
    s.on('error', rej);
  })));
  const r = await fetch(srv.url + '/health');
  assert.equal(r.status, 200);
  assert.equal(procStatus(srv.proc.pid, 'Threads'), threads);
  for (const s of socks) s.destroy();
});

test('dropped streams free their sequences; memory stays flat across bursts', async () => {
  const burst = async () => {
    await Promise.all(Array.from({ length: 24 }, async () => {
      const ac = new AbortController();
      const r = await fetch(srv.url + '/v1/chat/completions', {
        method: 'POST', signal: ac.signal,
        body: body({ stream: true, max_tokens: 100000, temperature: 1 }) });
      const reader = r.body.getReader();
      await reader.read();
      await reader.read();
      ac.abort();
    }));
    for (let i = 0; i < 200; i++) {  // bounded: 20 s
      const m = await (await fetch(srv.url + '/metrics')).text();
      if (/whale_running_sequences 0\b/.test(m) && /whale_kv_slots_busy 0\b/.test(m)) return;
      await sleep(100);
    }
    assert.fail('sequences were not freed');
  };
  // KV pages stay allocated for the prefix cache up to --kv-memory; how many a burst adds
  // depends on how many tokens each stream made before its abort was seen (host speed), so
  // their growth is taken out and bounded by the budget on its own.
  const kvKiB = async () => {
    const m = await (await fetch(srv.url + '/metrics')).text();
    return Number(/^whale_kv_allocated_bytes (\S+)$/m.exec(m)[1]) / 1024;
  };
  await burst();
  await burst();
  const rss1 = procStatus(srv.proc.pid, 'RssAnon'), kv1 = await kvKiB();
  await burst();
  await burst();
  const rss2 = procStatus(srv.proc.pid, 'RssAnon'), kv2 = await kvKiB();
  assert.ok(kv2 <= 64 * 1024, `KV memory ${kv2} KiB is over the 64 MiB budget`);
  assert.ok(rss2 - rss1 - (kv2 - kv1) < 16 * 1024,
    `RSS grew from ${rss1} kB to ${rss2} kB, KV memory from ${kv1} to ${kv2} KiB`);
});

test('kill -9 under keyed load: database intact, every received answer is in the ledger', async () => {
  const db = join(dir, 'ledger.db');
  const key = whale(['keys', 'create', '--db', db, '--name', 'load']).trim();
  const s = await startServer(model, ['--auth', '--db', db]);
  let completed = 0, started = 0, stop = false;
  const headers = { authorization: 'Bearer ' + key, 'content-type': 'application/json' };
  const clients = Array.from({ length: 8 }, async () => {
    while (!stop) {
      started++;
      try {
        const r = await fetch(s.url + '/v1/chat/completions', { method: 'POST', headers, body: body({ max_tokens: 4 }) });
        const j = await r.json();
        if (r.status === 200 && j.choices) completed++;
      } catch { /* the kill */ }
    }
  });
  for (let i = 0; i < 100 && completed < 20; i++) await sleep(50);
  s.proc.kill('SIGKILL');
  stop = true;
  await Promise.all(clients);
  await s.stop();
  assert.ok(completed >= 20, `only ${completed} answers before the kill`);
  const check = execFileSync('/usr/bin/python3', ['-c',
    'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("pragma integrity_check").fetchone()[0]);' +
    'print(c.execute("select requests from key_usage").fetchone()[0])', db], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(check[0], 'ok');
  const rows = Number(check[1]);
  assert.ok(rows >= completed && rows <= started, `ledger ${rows}, received ${completed}, sent ${started}`);
  // The key still works after the crash.
  const s2 = await startServer(model, ['--auth', '--db', db]);
  try {
    const r = await fetch(s2.url + '/v1/chat/completions', { method: 'POST', headers, body: body({ max_tokens: 1 }) });
    assert.equal(r.status, 200);
  } finally { assert.equal(await s2.stop(), 0); }
});

test('queued requests: SSE keep-alive comments, then 429 once --max-wait passes', async () => {
  // --ctx: the busy answer must outlast both waits (2 x 2.5 s); at the default 4096 tokens the
  // tiny model reached its context limit in 4.7 s on a fast run of this machine and ended early.
  const s = await startServer(model, ['--max-batch', '1', '--max-wait', '2.5', '--keepalive', '1',
    '--ctx', '32768']);
  try {
    const ac = new AbortController();
    const busy = await fetch(s.url + '/v1/chat/completions', {
      method: 'POST', signal: ac.signal, body: body({ stream: true, max_tokens: 100000, temperature: 1 }) });
    await busy.body.getReader().read();
    // Streaming and queued: headers at once, keep-alive comments, then an error event.
    const queued = await fetch(s.url + '/v1/chat/completions', { method: 'POST', body: body({ stream: true }) });
    assert.equal(queued.status, 200);
    const text = await queued.text();
    assert.match(text, /^: keep-alive\n\n/);
    assert.match(text, /data: \{"error":\{.*"type":"rate_limit_error"/);
    assert.match(text, /data: \[DONE\]\n\n$/);
    // Not streaming: a 429 with Retry-After.
    const plain = await fetch(s.url + '/v1/chat/completions', { method: 'POST', body: body() });
    assert.equal(plain.status, 429);
    assert.ok(Number(plain.headers.get('retry-after')) >= 1);
    ac.abort();
  } finally { assert.equal(await s.stop(), 0); }
});

test('a request deadline ("timeout" seconds) ends an endless answer', async () => {
  const r = await fetch(srv.url + '/v1/chat/completions', {
    method: 'POST', body: body({ max_tokens: 1000000, temperature: 1, timeout: 0.5 }) });
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.equal(j.choices[0].finish_reason, 'length');
  assert.ok(j.usage.completion_tokens > 0 && j.usage.completion_tokens < 1000000);
});

test('KV memory of idle pages is freed: resident memory returns to its baseline', async () => {
  const s = await startServer(model, ['--kv-idle', '1', '--max-batch', '32']);
  try {
    // Long distinct prompts (~1500 tokens each, no shared first page): 24 of them hold ~17 MB of
    // KV pages (480 bytes a token in the tiny model), cached until idle for --kv-idle.
    const ask = (i) => fetch(s.url + '/v1/completions', { method: 'POST',
      body: JSON.stringify({ prompt: `request ${i} ` + 'x '.repeat(1500), max_tokens: 4 }) }).then((r) => r.json());
    const allocated = async () =>
      Number((await (await fetch(s.url + '/metrics')).text()).match(/whale_kv_allocated_bytes (\d+)/)[1]);
    // Two first bursts grow the engine's reusable workspace to this batch size (measured: the
    // resting heap then stays flat): the baseline is the server at rest after them. Anonymous
    // memory only: the mmapped weights count as file pages once touched.
    for (let k = 1; k <= 2; k++) {
      await Promise.all(Array.from({ length: 24 }, (_, i) => ask(100 * k + i)));
      for (let i = 0; i < 100 && (await allocated()) > 0; i++) await sleep(100);
    }
    const base = procStatus(s.proc.pid, 'RssAnon');
    await Promise.all(Array.from({ length: 24 }, (_, i) => ask(i + 1)));
    const loaded = procStatus(s.proc.pid, 'RssAnon');
    assert.ok(loaded - base > 8 * 1024, `24 sequences should hold KV memory (${base} -> ${loaded} kB)`);
    for (let i = 0; i < 100 && (await allocated()) > 0; i++) await sleep(100);  // bounded: 10 s
    assert.equal(await allocated(), 0);
    const after = procStatus(s.proc.pid, 'RssAnon');
    // glibc keeps some freed pages in its per-thread arenas, so "baseline" means at least three
    // quarters of what the load added is given back (measured: 29 -> 114 -> 31 MB on one run).
    const slack = Math.max(8 * 1024, (loaded - base) / 4);
    assert.ok(after - base < slack, `RSS ${base} kB at rest, ${loaded} kB loaded, ${after} kB after`);
  } finally { assert.equal(await s.stop(), 0); }
});
