#!/usr/bin/python3
"""Writes a sample of training documents with their Hugging Face ids for the tokenizer check.

  /usr/bin/python3 tools/train/make_token_sample.py DATA_DIR OUT_JSONL

DATA_DIR is prepare_data.py's output (train_docs.jsonl and train.ids from HF tokenizers). The
sample (16 conversations with special tokens and reasoning, 2 plain chapters, in document
order) lets tests/default_model check that whale tokenizes the training text exactly as the
reference did, without the Bible package or node at test time.
"""

import json
import sys

import numpy as np


def main():
    data, out = sys.argv[1], sys.argv[2]
    with open(f"{data}/train_docs.jsonl", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    ids = np.fromfile(f"{data}/train.ids", dtype="<i4").tolist()
    with open(f"{data}/train.ids.lengths", encoding="utf-8") as f:
        lengths = [int(x) for x in f.read().split()]
    want = {"chat": 16, "plain": 2}
    pos, rows = 0, []
    for doc, n in zip(docs, lengths):
        kind = "chat" if "<｜User｜>" in doc else "plain"
        if want[kind] > 0:
            want[kind] -= 1
            rows.append({"text": doc, "ids": ids[pos : pos + n]})
        pos += n
    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"make_token_sample: {len(rows)} documents -> {out}")


if __name__ == "__main__":
    main()
