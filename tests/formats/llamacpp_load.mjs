// Loads GGUF files in llama.cpp (the prebuilt CPU binaries bundled with node-llama-cpp; no
// download, no compile) and prints one JSON line per file: architecture and the tokenization
// of a few strings. With FILE.gguf=HF_DIR the tokens llama.cpp produces from the GGUF's
// tokenizer metadata are also compared with Hugging Face's tokenizer (the `tokenizers` package)
// on HF_DIR/tokenizer.json. Exits non-zero when a file fails to load or tokens differ.
//   node llamacpp_load.mjs FILE.gguf[=HF_DIR] ...
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../tools/npm/package.json"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));
const { Tokenizer } = require("tokenizers");

const samples = [
  "Hello world",
  "  whale 1234567 的 apple工作 ",
  "<think>x</think> I've been 'told\n\n\tok?",
  "<｜begin▁of▁sentence｜><|im_start|>user<|begin_of_text|>",
  "3.14159 ------====== нещо 🦙🦙",
];
const args = process.argv.slice(2);
if (args.length === 0) {
  console.error("usage: node llamacpp_load.mjs FILE.gguf[=HF_DIR]...");
  process.exit(2);
}
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
let failed = 0;
for (const arg of args) {
  const [file, hfDir] = arg.split("=");
  const report = { file: path.basename(file) };
  try {
    const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
    report.ok = true;
    report.arch = model.fileInfo?.metadata?.general?.architecture ?? null;
    report.tokens = samples.map((s) => Array.from(model.tokenize(s, true)));
    if (hfDir) {
      const hf = Tokenizer.fromFile(path.join(hfDir, "tokenizer.json"));
      const expected = [];
      for (const s of samples) expected.push((await hf.encode(s, null, { addSpecialTokens: false })).getIds());
      report.matches_hf = JSON.stringify(expected) === JSON.stringify(report.tokens);
      if (!report.matches_hf) {
        report.hf_tokens = expected;
        failed++;
      }
    }
    await model.dispose();
  } catch (e) {
    failed++;
    report.ok = false;
    report.error = String(e.message || e);
  }
  console.log(JSON.stringify(report));
}
await llama.dispose();
process.exit(failed ? 1 : 0);
