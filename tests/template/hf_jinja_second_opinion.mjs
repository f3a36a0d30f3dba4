// Second opinion: renders the committed conversations with @huggingface/jinja (the JS
// implementation transformers.js uses) and compares with `whale template`. Differences are
// reported, not failed on: @huggingface/jinja itself departs from Python jinja2 in places
// (the Python comparison, compare.py, is the reference).
// Usage: node hf_jinja_second_opinion.mjs WHALE_BIN SOURCE_DIR
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [whale, src] = process.argv.slice(2).map((p) => resolve(p));
const { Template } = await import(pathToFileURL(join(src, "tools/npm/node_modules/@huggingface/jinja/dist/index.js")).href);
const tdir = join(src, "tests/data/templates");
const DS = { bos_token: "<｜begin▁of▁sentence｜>", eos_token: "<｜end▁of▁sentence｜>" };
const templates = [
  ["deepseek-v3", "deepseek-v3.jinja", DS],
  ["deepseek-r1", "deepseek-r1.jinja", DS],
  ["qwen3", "qwen3.jinja", { eos_token: "<|im_end|>", pad_token: "<|endoftext|>" }],
  ["llama-3.1", "llama-3.1.jinja", { bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" }],
];
const tmp = mkdtempSync(join(tmpdir(), "whale-hfjinja-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));  // also on a throw
let total = 0, same = 0;
for (const [name, file, tokens] of templates) {
  const text = readFileSync(join(tdir, file), "utf8");
  const model = join(tmp, name);
  mkdirSync(model);
  writeFileSync(join(model, "tokenizer_config.json"), JSON.stringify({ ...tokens, chat_template: text }));
  const tpl = new Template(text);
  for (const convo of readdirSync(join(tdir, "convos")).filter((f) => f.endsWith(".json")).sort()) {
    const path = join(tdir, "convos", convo);
    let data = JSON.parse(readFileSync(path, "utf8"));
    if (Array.isArray(data)) data = { messages: data };
    for (const gen of [false, true]) {
      total++;
      let want;
      try {
        want = tpl.render({ tools: null, documents: null, ...tokens, ...data, add_generation_prompt: gen });
      } catch (e) {
        want = `ERROR ${e.message}`;
      }
      let got;
      try {
        got = execFileSync(whale, ["template", "--model", model, "--messages", path, ...(gen ? ["--generation-prompt"] : [])], { stdio: ["ignore", "pipe", "pipe"] }).toString("utf8");
      } catch (e) {
        got = `ERROR ${e.stderr}`;
      }
      if (got === want || (got.startsWith("ERROR") && want.startsWith("ERROR"))) same++;
      else console.log(`differs: ${name} ${convo} gen=${gen}\n  hf/jinja: ${JSON.stringify(want.slice(0, 200))}\n  whale:    ${JSON.stringify(got.slice(0, 200))}`);
    }
  }
}
console.log(`${total} renders, ${same} agree with @huggingface/jinja, ${total - same} differ`);
