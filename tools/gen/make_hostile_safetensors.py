#!/usr/bin/python3
"""Writes the hostile safetensors corpus (tests/data/hostile/safetensors/): each file is broken
in one way and must be rejected with an Error by whale's reader (tests/formats/
safetensors_test.cpp), never crash it. Deterministic; rerun to regenerate.

  make_hostile_safetensors.py OUT_DIR
"""
import json
import os
import struct
import sys


def st(header, data=b"", raw_header=None, length=None):
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    n = len(h) if length is None else length
    return struct.pack("<Q", n) + h + data


def t(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


GOOD = {"a": t("F32", [2, 2], 0, 16)}
CASES = {
    "empty": b"",
    "short_length": b"\x05\x00\x00",
    "truncated_header": st(GOOD, bytes(16))[:20],
    "truncated_data": st(GOOD, bytes(8)),
    "length_too_big": st(GOOD, bytes(16), length=1 << 62),
    "length_over_limit": struct.pack("<Q", 200 << 20) + b"{}",
    "length_beyond_file": st(GOOD, bytes(16), length=10_000),
    "bad_json": st(None, raw_header=b'{"a": {"dtype": "F32", "shape": [2,'),
    "not_object": st([1, 2, 3]),
    "bad_dtype": st({"a": t("F31", [4], 0, 16)}, bytes(16)),
    "dtype_not_string": st({"a": {"dtype": 7, "shape": [4], "data_offsets": [0, 16]}}, bytes(16)),
    "shape_negative": st({"a": t("F32", [-4], 0, 16)}, bytes(16)),
    "shape_not_int": st({"a": t("F32", [4.5], 0, 16)}, bytes(16)),
    "shape_overflow": st({"a": t("F32", [1 << 40, 1 << 40], 0, 16)}, bytes(16)),
    "size_mismatch": st({"a": t("F32", [3], 0, 16)}, bytes(16)),
    "offsets_out_of_range": st({"a": t("F32", [4], 16, 32)}, bytes(16)),
    "offsets_reversed": st({"a": t("F32", [4], 16, 0)}, bytes(16)),
    "offsets_three": st({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16, 32]}}, bytes(16)),
    "offsets_negative": st({"a": t("F32", [4], -16, 0)}, bytes(16)),
    "overlap": st({"a": t("F32", [4], 0, 16), "b": t("F32", [4], 8, 24)}, bytes(24)),
    "duplicate_name": st(None, bytes(32), raw_header=json.dumps(GOOD)[:-1].encode()
                         + b', "a": {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]}}'),
    "missing_shape": st({"a": {"dtype": "F32", "data_offsets": [0, 16]}}, bytes(16)),
    "metadata_not_strings": st({"__metadata__": {"format": 3}, "a": t("F32", [4], 0, 16)}, bytes(16)),
    "entry_not_object": st({"a": "F32"}, bytes(16)),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
