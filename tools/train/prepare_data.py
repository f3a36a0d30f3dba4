#!/usr/bin/python3
"""Data and tokenizer for whale-kjv-tiny.

  /usr/bin/python3 tools/train/prepare_data.py OUT_DIR [--seed 1234]

Writes to OUT_DIR:
  tokenizer.json, tokenizer_config.json   byte-level BPE trained here + DeepSeek-R1 specials/template
  train_docs.jsonl                        training documents (plain chapters + conversations)
  train.ids (+ .lengths)                  their ids, encoded by Hugging Face tokenizers (node)
  heldout.txt, heldout.ids                the held-out book (Ruth) as plain text, never trained on
"""

import argparse
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpe  # noqa: E402
import conversations  # noqa: E402
import kjv  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
TEMPLATE = os.path.join(ROOT, "tests/data/templates/deepseek-r1.jinja")
HELD_OUT_BOOK = "Ruth"
VOCAB_SIZE = 2048
N_CONVERSATIONS = 12000

BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
# After the BPE vocabulary, as in DeepSeek-R1 (special=False except <|EOT|>).
TRAILING_ADDED = [
    ("<think>", False), ("</think>", False),
    ("<｜fim▁hole｜>", False), ("<｜fim▁begin｜>", False), ("<｜fim▁end｜>", False),
    ("<｜User｜>", False), ("<｜Assistant｜>", False), ("<|EOT|>", True),
    ("<｜tool▁calls▁begin｜>", False), ("<｜tool▁calls▁end｜>", False),
    ("<｜tool▁call▁begin｜>", False), ("<｜tool▁call▁end｜>", False),
    ("<｜tool▁outputs▁begin｜>", False), ("<｜tool▁outputs▁end｜>", False),
    ("<｜tool▁output▁begin｜>", False), ("<｜tool▁output▁end｜>", False),
    ("<｜tool▁sep｜>", False),
]


def strip_added(text):
    """Text between added-token strings: what BPE training sees of a conversation."""
    pieces = [text]
    for content in [BOS, EOS, PAD] + [c for c, _ in TRAILING_ADDED]:
        pieces = [p for piece in pieces for p in piece.split(content)]
    return [p for p in pieces if p]


def tokenizer_config(template_text):
    def token(content):
        return {"__type": "AddedToken", "content": content, "lstrip": False,
                "normalized": True, "rstrip": False, "single_word": False}

    return {"add_bos_token": True, "add_eos_token": False, "bos_token": token(BOS),
            "clean_up_tokenization_spaces": False, "eos_token": token(EOS), "legacy": True,
            "model_max_length": 1024, "pad_token": token(EOS), "sp_model_kwargs": {},
            "unk_token": None, "tokenizer_class": "LlamaTokenizerFast",
            "chat_template": template_text}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    out = lambda name: os.path.join(args.out_dir, name)  # noqa: E731

    verses = kjv.parse_verses(kjv.read_bible_output())
    train_verses = [v for v in verses if v.book != HELD_OUT_BOOK]
    chapters = kjv.chapters(verses)
    plain = [kjv.chapter_text(b, c, vs) for b, c, vs in chapters if b != HELD_OUT_BOOK]
    heldout = "".join(kjv.chapter_text(b, c, vs) + "\n" for b, c, vs in chapters
                      if b == HELD_OUT_BOOK)
    with open(out("heldout.txt"), "w", encoding="utf-8") as f:
        f.write(heldout)

    with open(TEMPLATE, encoding="utf-8") as f:
        template_text = f.read()
    template = conversations.load_template(TEMPLATE)
    convos = conversations.make_conversations(train_verses, N_CONVERSATIONS, template, BOS,
                                              EOS, args.seed)

    n_merges = VOCAB_SIZE - 3 - 256 - len(TRAILING_ADDED)
    bpe_texts = plain + [p for c in convos for p in strip_added(c)]
    merges = bpe.train_merges(bpe_texts, n_merges)
    if len(merges) != n_merges:
        raise SystemExit(f"prepare_data: only {len(merges)} merges found")
    bpe.write_json(out("tokenizer.json"), bpe.tokenizer_json(merges, [BOS, EOS, PAD],
                                                             TRAILING_ADDED))
    bpe.write_json(out("tokenizer_config.json"), tokenizer_config(template_text))

    # Every document starts with BOS (conversations already do: the template writes it).
    docs = [BOS + p for p in plain] + convos
    random.Random(args.seed).shuffle(docs)
    with open(out("train_docs.jsonl"), "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    subprocess.run(["node", os.path.join(ROOT, "tools/train/hf_encode.mjs"),
                    out("tokenizer.json"), out("train_docs.jsonl"), out("train.ids")], check=True)
    with open(out("heldout_docs.jsonl"), "w", encoding="utf-8") as f:
        f.write(json.dumps(heldout) + "\n")
    subprocess.run(["node", os.path.join(ROOT, "tools/train/hf_encode.mjs"),
                    out("tokenizer.json"), out("heldout_docs.jsonl"), out("heldout.ids")],
                   check=True)
    print(f"prepare_data: {len(plain)} chapters, {len(convos)} conversations, "
          f"{len(merges)} merges -> {args.out_dir}")


if __name__ == "__main__":
    main()
