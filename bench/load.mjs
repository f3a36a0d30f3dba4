#!/usr/bin/env node
// Load test for `whale serve`: C concurrent streaming clients (default 1, 4, 16, 64), each
// sending R chat requests back to back. Prints aggregate generated tokens/s, time to first token
// and inter-token latency (p50/p99, measured at the client from SSE chunks), and errors. Then a
// prefix-cache check: the same long system prompt twice vs unique prompts (TTFT and
// prompt_cache_hit_tokens). Then overload: --overload N requests at once, far beyond batch +
// queue: how many are refused with 429 and how fast (p50/p99 of the refusal latency). Last,
// with a server it started, memory: anonymous RSS at rest before the load, loaded, and after the
// KV pages went idle (--kv-idle), with whale_kv_allocated_bytes.
//
//   node bench/load.mjs [--url http://127.0.0.1:8080] [--model M] [--clients 1,4,16,64]
//                       [--requests R] [--max-tokens N] [--overload N] [--temperature T]
//                       [--server-args "..."]
// Without --url a server is started on a free loopback port with --model (default: the tiny
// random test model, generated into a temp dir).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { testModel, tempDir, startServer, cleanup } from '../tests/server/whale_server.mjs';

const { values: o } = parseArgs({ options: {
  url: { type: 'string' }, model: { type: 'string' }, clients: { type: 'string', default: '1,4,16,64' },
  requests: { type: 'string', default: '4' }, 'max-tokens': { type: 'string', default: '32' },
  overload: { type: 'string', default: '600' }, temperature: { type: 'string', default: '1' },
  'server-args': { type: 'string', default: '--max-batch 64 --kv-memory 2048 --kv-idle 2' },
} });

function pct(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}

// One streamed chat request; resolves to { ttft, gaps[], tokens, usage } or throws.
async function streamOnce(url, messages, maxTokens) {
  const t0 = performance.now();
  const r = await fetch(url + '/v1/chat/completions', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'whale', messages, max_tokens: maxTokens, temperature: Number(o.temperature),
                           stream: true, stream_options: { include_usage: true } }) });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const decoder = new TextDecoder();
  let buf = '', ttft = null, last = null, usage = null;
  const gaps = [];
  for await (const bytes of r.body) {
    buf += decoder.decode(bytes, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (j.error) throw new Error(j.error.message);
      if (j.usage) usage = j.usage;
      const d = j.choices?.[0]?.delta;
      if (d && (d.content || d.reasoning_content)) {
        const now = performance.now();
        if (ttft === null) ttft = now - t0; else gaps.push(now - last);
        last = now;
      }
    }
  }
  return { ttft, gaps, usage };
}

async function level(url, clients, requests, maxTokens) {
  const ttfts = [], gaps = [];
  let tokens = 0, errors = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let k = 0; k < requests; k++) {
      try {
        const msg = [{ role: 'user', content: `Client ${c} request ${k}: tell me a story.` }];
        const r = await streamOnce(url, msg, maxTokens);
        if (r.ttft !== null) ttfts.push(r.ttft);
        gaps.push(...r.gaps);
        tokens += r.usage?.completion_tokens ?? 0;
      } catch (e) { errors++; if (errors <= 3) console.error('  error:', e.message); }
    }
  }));
  const sec = (performance.now() - t0) / 1000;
  return { clients, requests: clients * requests, tokens, sec, tps: tokens / sec,
           ttft50: pct(ttfts, 50), ttft99: pct(ttfts, 99), itl50: pct(gaps, 50), itl99: pct(gaps, 99), errors };
}

async function prefixCheck(url) {
  const system = 'You are a meticulous assistant who answers questions about ancient texts. '.repeat(30);
  const ask = (sys, q) => streamOnce(url, [{ role: 'system', content: sys }, { role: 'user', content: q }], 1);
  const cold = [], warm = [];
  let hits = 0;
  for (let i = 0; i < 5; i++) {
    cold.push((await ask(`Session ${i} ${Math.random()}: ` + system, 'q')).ttft);
    await ask(system, 'prime');
    const w = await ask(system, `question ${i}`);
    warm.push(w.ttft);
    hits += w.usage.prompt_cache_hit_tokens;
    if (i === 0) console.log(`  shared prompt: ${w.usage.prompt_tokens} tokens, ${w.usage.prompt_cache_hit_tokens} cache hits`);
  }
  console.log(`  TTFT median: unique system prompt ${pct(cold, 50).toFixed(1)} ms, ` +
              `repeated system prompt ${pct(warm, 50).toFixed(1)} ms (hits per request ${hits / 5})`);
}

// Far above capacity: n requests at once fill the batch and the queue (the rest are refused);
// while they run, probe requests, 4 at a time, measure how fast a refused client hears so
// (connection setup included; the burst itself also times 600 connections opened at once).
async function overload(url, n, probes = 100) {
  const status = {};
  const ask = async (i) => {
    const t0 = performance.now();
    const r = await fetch(url + '/v1/chat/completions', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'whale', max_tokens: 32, temperature: 1,
                             messages: [{ role: 'user', content: `overload ${i}` }] }) });
    await r.arrayBuffer();
    return { status: r.status, ms: performance.now() - t0 };
  };
  const burst = Promise.all(Array.from({ length: n }, (_, i) => ask(i)));
  let queued = 0;
  for (let i = 0; i < 100 && queued === 0; i++) {  // until the queue holds requests (bounded)
    await sleep(20);
    queued = await metric(url, 'whale_queue_depth');
  }
  const refused = [];
  let other = 0;
  for (let i = 0; i < probes; i += 4) {
    for (const r of await Promise.all([0, 1, 2, 3].map((k) => ask(n + i + k)))) {
      if (r.status === 429) refused.push(r.ms); else other++;
    }
  }
  const first = await burst;
  for (const r of first) status[r.status] = (status[r.status] ?? 0) + 1;
  const burstRefused = first.filter((r) => r.status === 429).map((r) => r.ms);
  return { status, burstRefused, refused, other };
}

const rssKb = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^RssAnon:\s+(\d+)/m)[1]);
const metric = async (url, name) =>
  Number((await (await fetch(url + '/metrics')).text()).match(new RegExp(`^${name} (\\S+)`, 'm'))?.[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let dir = null, srv = null, url = o.url;
if (!url) {
  dir = tempDir('whale-load-');
  const model = o.model ?? testModel(dir);
  srv = await startServer(model, o['server-args'].split(' ').filter(Boolean));
  url = srv.url;
  console.log(`server: ${srv.stderr().trim()}`);
}
const rest = srv ? rssKb(srv.proc.pid) : 0;
try {
  console.log('clients  requests  tokens  seconds  tokens/s  ttft_p50_ms  ttft_p99_ms  itl_p50_ms  itl_p99_ms  errors');
  for (const c of o.clients.split(',').map(Number)) {
    const r = await level(url, c, Number(o.requests), Number(o['max-tokens']));
    console.log(`${String(r.clients).padStart(7)}  ${String(r.requests).padStart(8)}  ${String(r.tokens).padStart(6)}  ` +
      `${r.sec.toFixed(2).padStart(7)}  ${r.tps.toFixed(1).padStart(8)}  ${r.ttft50.toFixed(1).padStart(11)}  ` +
      `${r.ttft99.toFixed(1).padStart(11)}  ${r.itl50.toFixed(2).padStart(10)}  ${r.itl99.toFixed(2).padStart(10)}  ${r.errors}`);
  }
  console.log('prefix cache:');
  await prefixCheck(url);
  const n = Number(o.overload);
  if (n > 0) {
    const { status, burstRefused, refused, other } = await overload(url, n);
    console.log(`overload: ${n} requests at once -> ${JSON.stringify(status)}; their 429s in p50 ` +
                `${pct(burstRefused, 50).toFixed(1)} ms, p99 ${pct(burstRefused, 99).toFixed(1)} ms`);
    console.log(`  probes while full: ${refused.length} refused in p50 ${pct(refused, 50).toFixed(1)} ms, ` +
                `p99 ${pct(refused, 99).toFixed(1)} ms (${other} not refused)`);
  }
  if (srv) {
    const loaded = rssKb(srv.proc.pid), kvLoaded = await metric(url, 'whale_kv_allocated_bytes');
    for (let i = 0; i < 300 && (await metric(url, 'whale_kv_allocated_bytes')) > 0; i++) await sleep(100);
    console.log(`memory (RssAnon): at rest before load ${(rest / 1024).toFixed(1)} MiB, after load ` +
                `${(loaded / 1024).toFixed(1)} MiB (KV ${(kvLoaded / 1048576).toFixed(1)} MiB), idle ` +
                `${(rssKb(srv.proc.pid) / 1024).toFixed(1)} MiB (KV ` +
                `${((await metric(url, 'whale_kv_allocated_bytes')) / 1048576).toFixed(1)} MiB)`);
  }
} finally {
  if (srv) await srv.stop();
  if (dir) cleanup(dir);
}
