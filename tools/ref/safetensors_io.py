"""Minimal safetensors reader/writer (numpy only) for the reference forward pass.

Format (public spec): 8-byte little-endian u64 header length N, then N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the raw
little-endian tensor bytes; offsets are relative to the end of the header.

Also handles sharded checkpoints (model.safetensors.index.json: {"weight_map": {name: file}})
and DeepSeek-V3 FP8 checkpoints (E4M3 weights + float32 `<name>_scale_inv` per 128x128 block).
"""

import json
import os
import struct

import numpy as np


class CheckpointError(Exception):
    """A checkpoint file is missing, truncated or not what its header claims."""


def _e4m3_table():
    """The 256 values of FP8 E4M3 ("fn" variant: bias 7, no infinities, S.1111.111 = NaN)."""
    table = np.zeros(256, dtype=np.float64)
    for byte in range(256):
        sign = -1.0 if byte & 0x80 else 1.0
        exponent = (byte >> 3) & 0xF
        mantissa = byte & 0x7
        if exponent == 0xF and mantissa == 0x7:
            table[byte] = np.nan
        elif exponent == 0:  # subnormal: 2^-6 * m/8
            table[byte] = sign * (mantissa / 8.0) * 2.0**-6
        else:
            table[byte] = sign * (1.0 + mantissa / 8.0) * 2.0 ** (exponent - 7)
    return table


E4M3_TABLE = _e4m3_table()

# safetensors dtype name -> (numpy dtype of the stored bytes, element size)
_STORED = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "F8_E4M3": np.dtype("u1"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("u1"),
}


def decode_stored(raw, dtype):
    """Converts the stored array of one safetensors dtype to float64 (ints stay ints)."""
    if dtype == "BF16":
        return (raw.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    if dtype == "F8_E4M3":
        return E4M3_TABLE[raw]
    if dtype in ("F64", "F32", "F16"):
        return raw.astype(np.float64)
    return raw.copy()


class SafetensorsFile:
    """One .safetensors file, memory-mapped; tensors are decoded on request."""

    def __init__(self, path):
        self.path = path
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                head = f.read(8)
                if len(head) != 8:
                    raise CheckpointError(f"{path}: shorter than the 8-byte header length")
                (header_len,) = struct.unpack("<Q", head)
                if header_len > size - 8:
                    raise CheckpointError(f"{path}: header length {header_len} exceeds the file")
                header = json.loads(f.read(header_len).decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CheckpointError(f"{path}: {e}") from None
        if not isinstance(header, dict):
            raise CheckpointError(f"{path}: header is not a JSON object")
        self.metadata = header.pop("__metadata__", {})
        for name, entry in header.items():
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("dtype"), str)
                and isinstance(entry.get("shape"), list)
                and all(isinstance(d, int) and d >= 0 for d in entry["shape"])
                and isinstance(entry.get("data_offsets"), list)
                and len(entry["data_offsets"]) == 2
                and all(isinstance(o, int) for o in entry["data_offsets"])
            ):
                raise CheckpointError(f"{path}: malformed header entry for {name!r}")
        self.entries = header
        self.data_start = 8 + header_len
        self.data_len = size - self.data_start
        self._map = np.memmap(path, dtype=np.uint8, mode="r") if size > 0 else None

    def names(self):
        return list(self.entries)

    def read(self, name):
        """Returns the tensor as a float64 numpy array (integers keep an integer dtype)."""
        entry = self.entries[name]
        dtype = entry.get("dtype")
        if dtype not in _STORED:
            raise CheckpointError(f"{self.path}: tensor {name}: unsupported dtype {dtype}")
        shape = entry["shape"]
        begin, end = entry["data_offsets"]
        count = int(np.prod(shape)) if shape else 1
        stored = _STORED[dtype]
        if begin < 0 or end > self.data_len or end - begin != count * stored.itemsize:
            raise CheckpointError(f"{self.path}: tensor {name}: bad data_offsets {begin},{end}")
        raw = np.frombuffer(self._map, dtype=stored, count=count, offset=self.data_start + begin)
        return decode_stored(raw, dtype).reshape(shape)


class Checkpoint:
    """All tensors of a Hugging Face model directory (single file or sharded)."""

    def __init__(self, model_dir):
        self.model_dir = model_dir
        self.where = {}  # tensor name -> SafetensorsFile
        index_path = os.path.join(model_dir, "model.safetensors.index.json")
        if os.path.exists(index_path):
            try:
                with open(index_path, encoding="utf-8") as f:
                    weight_map = json.load(f)["weight_map"]
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise CheckpointError(f"{index_path}: {e}") from None
            if not isinstance(weight_map, dict) or not all(
                isinstance(v, str) for v in weight_map.values()
            ):
                raise CheckpointError(f"{index_path}: weight_map is not a name -> file object")
            files = {}
            for name, shard in weight_map.items():
                if shard not in files:
                    files[shard] = SafetensorsFile(os.path.join(model_dir, shard))
                if name not in files[shard].entries:
                    raise CheckpointError(f"{shard}: missing tensor {name} named by the index")
                self.where[name] = files[shard]
        else:
            shards = sorted(p for p in os.listdir(model_dir) if p.endswith(".safetensors"))
            if not shards:
                raise CheckpointError(f"{model_dir}: no .safetensors files")
            for shard in shards:
                st = SafetensorsFile(os.path.join(model_dir, shard))
                for name in st.names():
                    self.where[name] = st

    def __contains__(self, name):
        return name in self.where

    def names(self):
        return list(self.where)

    def shape(self, name):
        return [int(d) for d in self.where[name].entries[name]["shape"]]

    def dtype(self, name):
        return self.where[name].entries[name]["dtype"]

    def read(self, name):
        """The tensor as float64, FP8 block-dequantized when a `<name>_scale_inv` exists."""
        if name not in self.where:
            raise CheckpointError(f"{self.model_dir}: missing tensor {name}")
        value = self.where[name].read(name)
        scale_name = name + "_scale_inv"
        if self.dtype(name) == "F8_E4M3" and scale_name in self.where:
            value = dequantize_blocks(value, self.where[scale_name].read(scale_name))
        return value


def dequantize_blocks(weight, scale_inv, block=(128, 128)):
    """w[i, j] * scale_inv[i // 128, j // 128]; edge blocks may be partial.

    DeepSeek names the factor "scale_inv" but multiplies by it (the stored FP8 value was
    divided by it at quantization time)."""
    rows, cols = weight.shape
    br, bc = block
    need = (-(-rows // br), -(-cols // bc))
    if tuple(scale_inv.shape) != need:
        raise CheckpointError(f"scale_inv shape {list(scale_inv.shape)} != {list(need)}")
    full = np.repeat(np.repeat(scale_inv, br, axis=0), bc, axis=1)[:rows, :cols]
    return weight * full


def encode_array(array, dtype):
    """numpy array -> (safetensors dtype name, bytes); used by test checkpoint writers."""
    if dtype == "BF16":
        bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
        # Round to nearest even on the dropped 16 bits.
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        return rounded.astype("<u2").tobytes()
    if dtype == "F8_E4M3":
        return np.ascontiguousarray(array, dtype=np.uint8).tobytes()  # already raw bytes
    stored = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}[dtype]
    return np.ascontiguousarray(array).astype(stored).tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: (dtype_name, numpy array)}; writes one .safetensors file."""
    header = {}
    blobs = []
    offset = 0
    for name, (dtype, array) in tensors.items():
        blob = encode_array(array, dtype)
        header[name] = {
            "dtype": dtype,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
