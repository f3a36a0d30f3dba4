// Random differential test: N random strings (seeded) drawn from character pools that stress
// the pre-tokenizer regexes, Unicode tables, NFC and added tokens, compared between whale and
// npm tokenizers through compare.mjs. Usage: node random_compare.mjs WHALE_BIN [N] [SEED]
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const whale = process.argv[2];
const n = Number(process.argv[3] || 400);
let seed = Number(process.argv[4] || 7);
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (a) => a[Math.floor(rand() * a.length)];

const pools = [
  () => pick(['a', 'Z', ' ', '  ', '\n', '\r', '\r\n', '\t', '\u000b', '\f', '\u0085', '\u00a0', '\u2028', '\u3000']),
  () => pick(["'s", "'S", "'t", "'re", "'VE", "'m", "'ll", "'D", "'x", "'", "\u2019s"]),
  () => pick(['0', '42', '1234', '\u0663', '\u00bd', '\u2167', '\uff15']),
  () => pick(['!', '"', '#', '$', '%', '&', '(', ')', '*', '+', ',', '-', '.', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '^', '_', '`', '{', '|', '}', '~']),
  () => pick(['<|im_start|>', '<|im_end|>', '<think>', '</think>', '<|begin_of_text|>', '<|eot_id|>', '<\uff5cUser\uff5c>', '<\uff5cbegin\u2581of\u2581sentence\uff5c>', '<tool_call>']),
  () => pick(['e\u0301', '\u00e9', 'A\u030a', '\u0345', '\u1100\u1161\u11a8', '\uac00\u11a8', '\u0f73', '\u0958', 'q\u0307\u0323']),
  () => String.fromCodePoint(0x4e00 + Math.floor(rand() * 0x5200)),
  () => String.fromCodePoint(0x3040 + Math.floor(rand() * 0xc0)),
  () => String.fromCodePoint(0x1f300 + Math.floor(rand() * 0x700)),
  () => String.fromCodePoint(Math.floor(rand() * 0x3000)),
  () => {  // any scalar value (no surrogates)
    let c;
    do c = Math.floor(rand() * 0x110000); while (c >= 0xd800 && c < 0xe000);
    return String.fromCodePoint(c);
  },
  () => pick(['hello', 'World', 'ABC', 'x', 'camelCase', 'https://a.b/c?d=e']),
];

const lines = [];
for (let i = 0; i < n; i++) {
  let s = '';
  const len = 1 + Math.floor(rand() * 24);
  for (let k = 0; k < len; k++) s += pick(pools)();
  lines.push(JSON.stringify(s));
}
const file = path.join(os.tmpdir(), `whale-random-corpus-${process.pid}.jsonl`);
fs.writeFileSync(file, lines.join('\n') + '\n');
try {
  execFileSync('node', [path.join(here, 'compare.mjs'), whale, file], { stdio: 'inherit' });
} catch (e) {
  process.exitCode = 1;
} finally {
  fs.unlinkSync(file);
}
