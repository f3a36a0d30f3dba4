#!/usr/bin/python3
"""Exports a training checkpoint as a Hugging Face DeepSeek-V3 checkpoint directory.

  /usr/bin/python3 tools/train/export.py --ckpt OUT/ckpt.pt --data DATA_DIR --out HF_DIR

Writes config.json (DeepSeek-V3 field names, "architectures": ["DeepseekV3ForCausalLM"]),
model.safetensors (float32, the trainer's parameter names = DeepSeek's released layout,
including mlp.gate.e_score_correction_bias), generation_config.json, and copies
tokenizer.json / tokenizer_config.json from prepare_data.py's output.
"""

import argparse
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "../ref"))

import tiny_model as tiny  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    ckpt = torch.load(args.ckpt, map_location="cpu")
    config = ckpt["config"]
    os.makedirs(args.out, exist_ok=True)
    state = ckpt["model"]
    tensors = {name: ("F32", t.to(torch.float32).numpy()) for name, t in sorted(state.items())}
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors,
                      {"format": "pt", "whale_train_step": str(ckpt["step"])})
    write_json(os.path.join(args.out, "config.json"), tiny.hf_config(config))
    # DeepSeek-R1's sampling defaults.
    write_json(os.path.join(args.out, "generation_config.json"),
               {"_from_model_config": True, "bos_token_id": 0, "eos_token_id": 1,
                "do_sample": True, "temperature": 0.6, "top_p": 0.95,
                "transformers_version": "4.46.3"})
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(args.data, name), os.path.join(args.out, name))
    print(f"export: step {ckpt['step']}, {len(tensors)} tensors -> {args.out}")


if __name__ == "__main__":
    main()
