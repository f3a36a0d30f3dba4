// Encodes documents with Hugging Face tokenizers (npm tokenizers, the Rust library): the ids the
// model trains and is evaluated on come from the reference encoder, not from whale.
// Usage: node hf_encode.mjs TOKENIZER_JSON DOCS_JSONL OUT_IDS
// DOCS_JSONL: one JSON string per line (special-token texts in it are parsed as those tokens).
// OUT_IDS: all documents' ids concatenated, little-endian int32; the document lengths go to
// OUT_IDS.lengths (one decimal per line).
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'tools/npm/'));
const { Tokenizer } = require('tokenizers');

const [tokenizerPath, docsPath, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node hf_encode.mjs TOKENIZER_JSON DOCS_JSONL OUT_IDS');
  process.exit(2);
}
const tok = Tokenizer.fromFile(tokenizerPath);
const docs = fs.readFileSync(docsPath, 'utf8').split('\n').filter((l) => l.length > 0)
  .map((l) => JSON.parse(l));
const all = [];
const lengths = [];
for (const d of docs) {
  const ids = Array.from((await tok.encode(d, null, { addSpecialTokens: false })).getIds());
  lengths.push(ids.length);
  for (const id of ids) all.push(id);
}
fs.writeFileSync(outPath, Buffer.from(new Int32Array(all).buffer));
fs.writeFileSync(outPath + '.lengths', lengths.join('\n') + '\n');
console.error(`hf_encode: ${docs.length} documents, ${all.length} tokens`);
