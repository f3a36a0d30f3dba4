// llama.cpp tokenizes like whale: for each GGUF written by `whale convert`, the whole tokenizer
// corpus (tests/data/tokenizer/corpus.jsonl) is tokenized by llama.cpp (node-llama-cpp's
// prebuilt CPU build, reading the GGUF's tokenizer metadata) and by `whale tokenize --jsonl` on
// the same GGUF, with and without special-token parsing. Every difference fails the test,
// except where llama.cpp itself disagrees with Hugging Face's tokenizer (the reference whale
// follows) and whale agrees with Hugging Face; those are printed as llama.cpp deviations.
//   node llamacpp_tokenize.mjs WHALE_BIN FILE.gguf=HF_DIR ...
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const require = createRequire(path.join(root, "tools/npm/package.json"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));
const { Tokenizer } = require("tokenizers");

const [whale, ...pairs] = process.argv.slice(2);
if (!whale || pairs.length === 0) {
  console.error("usage: node llamacpp_tokenize.mjs WHALE_BIN FILE.gguf=HF_DIR ...");
  process.exit(2);
}
const corpusText = fs.readFileSync(path.join(root, "tests/data/tokenizer/corpus.jsonl"), "utf8");
const corpus = corpusText.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
if (corpus.length < 150) throw new Error(`corpus too small: ${corpus.length}`);

function whaleTokenize(gguf, special) {
  const args = ["tokenize", "--model", gguf, "--jsonl"];
  if (special) args.push("--special");
  const out = execFileSync(whale, args, { input: corpusText, maxBuffer: 1 << 28 }).toString();
  return out.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
let failures = 0, deviations = 0, compared = 0;
for (const pair of pairs) {
  const [gguf, hfDir] = pair.split("=");
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
  const hf = Tokenizer.fromFile(path.join(hfDir, "tokenizer.json"));
  const oursSpecial = whaleTokenize(gguf, true);
  for (const special of [true, false]) {
    const ours = special ? oursSpecial : whaleTokenize(gguf, false);
    if (ours.length !== corpus.length) throw new Error(`whale returned ${ours.length} lines`);
    for (let i = 0; i < corpus.length; i++) {
      const theirs = Array.from(model.tokenize(corpus[i], special));
      compared++;
      if (JSON.stringify(theirs) === JSON.stringify(ours[i])) continue;
      // Arbitrate with Hugging Face. The Node binding always parses special tokens, so without
      // special parsing it can only arbitrate strings where special parsing changes nothing.
      let hfIds = null;
      if (special || JSON.stringify(oursSpecial[i]) === JSON.stringify(ours[i])) hfIds = (await hf.encode(corpus[i], null, { addSpecialTokens: false })).getIds();
      const label = `${path.basename(gguf)} special=${special} #${i} ${JSON.stringify(corpus[i]).slice(0, 60)}`;
      if (hfIds && JSON.stringify(hfIds) === JSON.stringify(ours[i])) {
        deviations++;
        console.log(`llama.cpp deviates from HF (whale == HF): ${label}\n  llama.cpp ${JSON.stringify(theirs)}\n  whale/HF  ${JSON.stringify(ours[i])}`);
      } else {
        failures++;
        console.log(`MISMATCH ${label}\n  llama.cpp ${JSON.stringify(theirs)}\n  whale     ${JSON.stringify(ours[i])}` +
                    (hfIds ? `\n  HF        ${JSON.stringify(hfIds)}` : ""));
      }
    }
  }
  await model.dispose();
}
await llama.dispose();
console.log(`${compared - failures - deviations} passed, ${failures} failed` +
            (deviations ? ` (${deviations} llama.cpp deviations from HF where whale matches HF)` : ""));
process.exit(failures ? 1 : 0);
