// `whale serve` driven by the official `openai` npm client (and raw fetch for what the client
// hides): streaming and not, reasoning_content, usage fields, stop strings, logprobs, the prefix
// cache, errors, keys, overload and dropped clients. Loopback only; every loop is bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SOURCE_DIR, testModel, tempDir, startServer, whale, cleanup } from './whale_server.mjs';

const require = createRequire(join(SOURCE_DIR, 'tools/npm/package.json'));
const OpenAI = require('openai');

let dir, model, srv, client;

before(async () => {
  dir = tempDir('whale-serve-test-');
  model = testModel(dir);
  srv = await startServer(model, ['--keepalive', '1']);
  client = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'anything', maxRetries: 0 });
});

after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
  cleanup(dir);
});

const chat = (extra = {}) => ({
  model: 'whale', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 12,
  temperature: 0, ...extra,
});

function checkUsage(u) {
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens', 'prompt_cache_hit_tokens',
                   'prompt_cache_miss_tokens'])
    assert.equal(typeof u[k], 'number', k);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.equal(u.prompt_cache_hit_tokens + u.prompt_cache_miss_tokens, u.prompt_tokens);
  assert.equal(typeof u.completion_tokens_details.reasoning_tokens, 'number');
}

test('health and models', async () => {
  const h = await fetch(srv.url + '/health');
  assert.equal(h.status, 200);
  const models = await client.models.list();
  assert.equal(models.data.length, 1);
  assert.equal(models.data[0].object, 'model');
});

test('chat, not streamed: message, reasoning_content, usage', async () => {
  const r = await client.chat.completions.create(chat());
  assert.equal(r.object, 'chat.completion');
  const m = r.choices[0].message;
  assert.equal(m.role, 'assistant');
  assert.equal(typeof m.content, 'string');
  // The R1 template opens <think>: what the model writes before </think> is reasoning.
  assert.equal(typeof m.reasoning_content, 'string');
  assert.ok(m.reasoning_content.length + m.content.length > 0);
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  checkUsage(r.usage);
  assert.ok(r.usage.completion_tokens <= 12 && r.usage.completion_tokens > 0);
  assert.ok(r.usage.completion_tokens_details.reasoning_tokens > 0);
});

test('chat streamed equals not streamed (greedy), usage chunk last', async () => {
  const whole = await client.chat.completions.create(chat({ max_tokens: 16 }));
  const stream = await client.chat.completions.create(
    chat({ max_tokens: 16, stream: true, stream_options: { include_usage: true } }));
  let content = '', reasoning = '', finish = null, usage = null, chunks = 0;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    if (!c.choices.length) continue;
    const d = c.choices[0].delta;
    content += d.content ?? '';
    reasoning += d.reasoning_content ?? '';
    if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.ok(chunks >= 3);
  assert.equal(content, whole.choices[0].message.content);
  assert.equal(reasoning, whole.choices[0].message.reasoning_content);
  assert.equal(finish, whole.choices[0].finish_reason);
  checkUsage(usage);
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
});

test('content parts and seeds', async () => {
  const parts = await client.chat.completions.create(chat({
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }, { type: 'text', text: 'there' }] }],
  }));
  assert.equal(parts.choices[0].message.role, 'assistant');
  const a = await client.chat.completions.create(chat({ temperature: 1, seed: 7, max_tokens: 10 }));
  const b = await client.chat.completions.create(chat({ temperature: 1, seed: 7, max_tokens: 10 }));
  assert.equal(a.choices[0].message.reasoning_content, b.choices[0].message.reasoning_content);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});

test('completions: stop strings cut before the match', async () => {
  const base = await client.completions.create({ model: 'w', prompt: 'In the beginning', max_tokens: 24, temperature: 0 });
  const text = base.choices[0].text;
  assert.equal(base.object, 'text_completion');
  checkUsage(base.usage);
  assert.ok(text.length >= 6, JSON.stringify(text));
  const stop = text.slice(3, 6);
  const cut = await client.completions.create({ model: 'w', prompt: 'In the beginning', max_tokens: 24, temperature: 0, stop: [stop, '\u0000never'] });
  assert.equal(cut.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.equal(cut.choices[0].finish_reason, 'stop');
  const streamed = await client.completions.create({ model: 'w', prompt: 'In the beginning', max_tokens: 24, temperature: 0, stop, stream: true });
  let got = '';
  for await (const c of streamed) got += c.choices[0]?.text ?? '';
  assert.equal(got, text.slice(0, text.indexOf(stop)));
});

test('logprobs: chosen token and alternatives', async () => {
  const r = await client.chat.completions.create(chat({ max_tokens: 4, logprobs: true, top_logprobs: 3 }));
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, r.usage.completion_tokens);
  for (const t of lp) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    // Greedy: the chosen token is the most likely one.
    assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-6);
  }
  const c = await client.completions.create({ model: 'w', prompt: 'abc', max_tokens: 3, temperature: 0, logprobs: 2 });
  assert.equal(c.choices[0].logprobs.tokens.length, c.usage.completion_tokens);
});

test('prefix cache: a repeated system prompt is a cache hit', async () => {
  const system = 'You are a careful assistant. '.repeat(40);
  const ask = (q) => client.chat.completions.create(chat({
    max_tokens: 2, messages: [{ role: 'system', content: system }, { role: 'user', content: q }] }));
  const first = await ask('first question');
  const second = await ask('another question');
  assert.ok(second.usage.prompt_cache_hit_tokens > 100, JSON.stringify(second.usage));
  assert.ok(second.usage.prompt_cache_hit_tokens > first.usage.prompt_cache_hit_tokens);
  // Hits are whole KV pages of the shared prefix.
  const metrics = await (await fetch(srv.url + '/metrics')).text();
  const page = Number(metrics.match(/^whale_kv_page_tokens (\d+)/m)[1]);
  assert.ok(page > 1);
  assert.equal(second.usage.prompt_cache_hit_tokens % page, 0, JSON.stringify(second.usage));
  // Two concurrent requests with another shared system prompt: once one earlier request has
  // computed it, both map its pages.
  const other = 'Answer in the style of a ship captain. '.repeat(30);
  const ask2 = (q) => client.chat.completions.create(chat({
    max_tokens: 2, messages: [{ role: 'system', content: other }, { role: 'user', content: q }] }));
  await ask2('warm up');
  const both = await Promise.all([ask2('one question'), ask2('a different one')]);
  for (const r of both) {
    assert.ok(r.usage.prompt_cache_hit_tokens > 100, JSON.stringify(r.usage));
    assert.equal(r.usage.prompt_cache_hit_tokens % page, 0);
  }
  assert.match(metrics, /^whale_kv_pages_cached [1-9]/m);
  assert.match(metrics, /^whale_kv_pages_total [1-9]/m);
});

test('response_format json_object: the text is a JSON object (or a cut prefix of one)', async () => {
  let complete = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const r = await client.completions.create({ model: 'w', prompt: 'JSON:', max_tokens: 40, temperature: 1, seed,
                                                response_format: { type: 'json_object' } });
    const { text, finish_reason: fr } = r.choices[0];
    assert.equal(text[0], '{', text);
    if (fr === 'stop') {
      const v = JSON.parse(text);
      assert.equal(typeof v, 'object');
      assert.ok(!Array.isArray(v));
      complete++;
    } else {
      assert.equal(fr, 'length');
      assert.throws(() => JSON.parse(text));  // cut by max_tokens, never closed early
    }
  }
  assert.ok(complete >= 1, 'no seed closed its object');
  await assert.rejects(client.chat.completions.create(chat({ response_format: { type: 'xml' } })),
    (e) => e.status === 422);
});

test('fill in the middle with suffix', async () => {
  const r = await client.completions.create({ model: 'w', prompt: 'def f(', suffix: '\n  return x', max_tokens: 4, temperature: 0 });
  assert.equal(typeof r.choices[0].text, 'string');
});

test('errors: OpenAI shape with DeepSeek status codes', async () => {
  await assert.rejects(client.chat.completions.create(chat({ temperature: 5 })),
    (e) => e.status === 422 && e.error?.param === 'temperature');
  await assert.rejects(client.chat.completions.create({ model: 'w', messages: 'hi' }),
    (e) => e.status === 400);
  await assert.rejects(client.chat.completions.create(chat({ messages: [] })), (e) => e.status === 422);
  const raw = async (body, headers = {}) => {
    const r = await fetch(srv.url + '/v1/chat/completions', { method: 'POST', body, headers });
    return [r.status, await r.json()];
  };
  let [status, j] = await raw('{"messages": [');
  assert.equal(status, 400);
  assert.equal(typeof j.error.message, 'string');
  assert.equal(j.error.type, 'invalid_request_error');
  [status, j] = await raw('x'.repeat(10 * 1024 * 1024));
  assert.equal(status, 413);
  [status] = await raw(JSON.stringify(chat({ messages: [{ role: 'user', content: 'word '.repeat(6000) }] })));
  assert.equal(status, 400);
  const nf = await fetch(srv.url + '/v1/nothing');
  assert.equal(nf.status, 404);
});

test('a client that drops mid-stream is cancelled; the server keeps serving', async () => {
  for (let i = 0; i < 3; i++) {
    const ac = new AbortController();
    const r = await fetch(srv.url + '/v1/chat/completions', {
      method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat({ stream: true, max_tokens: 100000, temperature: 1 })) });
    const reader = r.body.getReader();
    await reader.read();
    ac.abort();
  }
  let metrics = '';
  for (let i = 0; i < 100; i++) {  // bounded: 10 s
    metrics = await (await fetch(srv.url + '/metrics')).text();
    if (/whale_running_sequences 0\b/.test(metrics) && /whale_requests_cancelled_total [3-9]/.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(metrics, /whale_running_sequences 0\b/);
  assert.match(metrics, /whale_requests_cancelled_total [3-9]/);
  assert.match(metrics, /whale_time_to_first_token_seconds_bucket/);
  const ok = await client.chat.completions.create(chat({ max_tokens: 2 }));
  assert.equal(ok.choices.length, 1);
});

test('keys: --auth requires a key, usage reaches the ledger and survives restarts', async () => {
  const db = join(dir, 'keys.db');
  const key = whale(['keys', 'create', '--db', db, '--name', 'test']).trim();
  assert.match(key, /^wk_[0-9a-f]{16}_[0-9a-f]{32}$/);
  const s = await startServer(model, ['--auth', '--db', db]);
  try {
    const bad = new OpenAI({ baseURL: s.url + '/v1', apiKey: 'wk_0000000000000000_00000000000000000000000000000000', maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create(chat()), (e) => e.status === 401);
    const none = await fetch(s.url + '/v1/chat/completions', { method: 'POST', body: JSON.stringify(chat()) });
    assert.equal(none.status, 401);
    const good = new OpenAI({ baseURL: s.url + '/v1', apiKey: key, maxRetries: 0 });
    const r1 = await good.chat.completions.create(chat({ max_tokens: 3 }));
    const r2 = await good.chat.completions.create(chat({ max_tokens: 3 }));
    const used = r1.usage.completion_tokens + r2.usage.completion_tokens;
    assert.equal(await s.stop(), 0);
    const list = whale(['keys', 'list', '--db', db]);
    const row = list.split('\n').find((l) => l.startsWith(key.slice(3, 19)));
    const cols = row.trim().split(/\s+/);
    assert.equal(cols[1], 'active');
    assert.equal(Number(cols[5]), 2);  // requests
    assert.equal(Number(cols[7]), used);  // completion tokens
    whale(['keys', 'revoke', '--db', db, key.slice(3, 19)]);
    const s2 = await startServer(model, ['--auth', '--db', db]);
    try {
      const revoked = new OpenAI({ baseURL: s2.url + '/v1', apiKey: key, maxRetries: 0 });
      await assert.rejects(revoked.chat.completions.create(chat()), (e) => e.status === 401);
    } finally { await s2.stop(); }
  } finally { await s.stop(); }
});

test('--kv-type f16: streamed and not, greedy tokens follow the f32 server, twice the pages', async () => {
  const s = await startServer(model, ['--kv-type', 'f16', '--kv-memory', '16']);
  const f32 = await startServer(model, ['--kv-memory', '16']);
  try {
    const half = new OpenAI({ baseURL: s.url + '/v1', apiKey: 'x', maxRetries: 0 });
    const exact = new OpenAI({ baseURL: f32.url + '/v1', apiKey: 'x', maxRetries: 0 });
    const req = chat({ max_tokens: 16, logprobs: true, top_logprobs: 2 });
    const a = await half.chat.completions.create(req);
    const b = await exact.chat.completions.create(req);
    checkUsage(a.usage);
    // The f16 cache rounds keys and values (~1e-3 of a logit): the greedy tokens are the f32
    // server's, up to a place where the f32 run's top two candidates were that close.
    const la = a.choices[0].logprobs.content, lb = b.choices[0].logprobs.content;
    for (let i = 0; i < Math.min(la.length, lb.length); i++) {
      assert.ok(Math.abs(la[i].logprob - lb[i].logprob) < 1e-2, `token ${i}`);
      if (la[i].token !== lb[i].token) {
        assert.ok(lb[i].top_logprobs[0].logprob - lb[i].top_logprobs[1].logprob < 1e-2, `diverged at ${i}`);
        break;
      }
    }
    let text = '';
    const stream = await half.chat.completions.create(chat({ max_tokens: 16, stream: true }));
    for await (const ev of stream) {
      const d = ev.choices[0]?.delta;
      text += (d?.reasoning_content ?? '') + (d?.content ?? '');
    }
    assert.equal(text, (a.choices[0].message.reasoning_content ?? '') + a.choices[0].message.content);
    const pages = async (srv) => Number((await (await fetch(srv.url + '/metrics')).text())
      .match(/^whale_kv_pages_total (\d+)$/m)[1]);
    const p16 = await pages(s), p32 = await pages(f32);
    assert.ok(p16 >= 2 * p32 && p16 <= 2 * p32 + 1, `${p16} vs ${p32}`);  // budget / page size
  } finally {
    assert.equal(await s.stop(), 0);
    assert.equal(await f32.stop(), 0);
  }
});

test('overload: a full queue answers 429 with Retry-After at once', async () => {
  const s = await startServer(model, ['--max-batch', '1', '--max-queue', '0']);
  try {
    const body = JSON.stringify(chat({ stream: true, max_tokens: 100000, temperature: 1 }));
    const ac = new AbortController();
    const busy = await fetch(s.url + '/v1/chat/completions', { method: 'POST', body, signal: ac.signal });
    const reader = busy.body.getReader();
    await reader.read();
    const r = await fetch(s.url + '/v1/chat/completions', { method: 'POST', body: JSON.stringify(chat()) });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal((await r.json()).error.type, 'rate_limit_error');
    ac.abort();
  } finally { assert.equal(await s.stop(), 0); }
});
