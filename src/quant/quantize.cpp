// Quantizers for the float formats and the 32-element block formats. Q8_0, Q4_0, Q4_1, Q5_0 and
// Q5_1 follow llama.cpp's reference rules exactly (scale from the largest magnitude, the same
// rounding offsets, fp16 scales), so their output is bit-identical. K-quants: quantize_k.cpp.
#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include "quant/block_layout.h"
#include "quant/quantize_k.h"

namespace whale {

using namespace quant_detail;

namespace {

// Float -> int8 the way llama.cpp's compiled reference code does it on x86-64 (truncating
// conversion through a 32-bit integer, low byte kept). In range it is plain truncation; the
// out-of-range case only arises for scales so small that 1/d overflows, and matching it keeps
// even those blocks bit-identical.
int8_t trunc_int8(float v) {
  if (!(v > -2147483648.0f && v < 2147483648.0f)) return 0;  // x86 "integer indefinite"
  return int8_t(uint8_t(uint32_t(int32_t(v)) & 0xFF));
}

// Largest-magnitude element, with its sign (the Q4_0/Q5_0 scale maps it to the -8/-16 end).
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  return max;
}

void quant_q8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  float d = amax / 127.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_f16(b, d);
  for (int j = 0; j < kQK; ++j) b[2 + j] = uint8_t(trunc_int8(std::round(x[j] * id)));
}

void quant_q4_0(const float* x, uint8_t* b) {
  float d = signed_absmax(x, kQK) / -8.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_f16(b, d);
  for (int j = 0; j < kQK / 2; ++j) {
    int lo = std::min<int>(15, trunc_int8(x[j] * id + 8.5f));
    int hi = std::min<int>(15, trunc_int8(x[j + kQK / 2] * id + 8.5f));
    b[2 + j] = uint8_t(lo | (hi << 4));
  }
}

void min_max(const float* x, int n, float& lo, float& hi) {
  lo = x[0];
  hi = x[0];
  for (int j = 1; j < n; ++j) {
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
}

void quant_q4_1(const float* x, uint8_t* b) {
  float lo, hi;
  min_max(x, kQK, lo, hi);
  float d = (hi - lo) / 15.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_f16(b, d);
  store_f16(b + 2, lo);
  for (int j = 0; j < kQK / 2; ++j) {
    int q0 = std::min<int>(15, trunc_int8((x[j] - lo) * id + 0.5f));
    int q1 = std::min<int>(15, trunc_int8((x[j + kQK / 2] - lo) * id + 0.5f));
    b[4 + j] = uint8_t(q0 | (q1 << 4));
  }
}

// Q5_0/Q5_1 share the packing: low nibbles as Q4, fifth bits gathered into qh.
void pack_q5(const int* q, uint8_t* qh_out, uint8_t* qs) {
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    qs[j] = uint8_t((q[j] & 0xF) | ((q[j + kQK / 2] & 0xF) << 4));
    qh |= uint32_t((q[j] >> 4) & 1) << j;
    qh |= uint32_t((q[j + kQK / 2] >> 4) & 1) << (j + kQK / 2);
  }
  store_u32(qh_out, qh);
}

void quant_q5_0(const float* x, uint8_t* b) {
  float d = signed_absmax(x, kQK) / -16.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_f16(b, d);
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = std::min<int>(31, trunc_int8(x[j] * id + 16.5f));
  pack_q5(q, b + 2, b + 6);
}

void quant_q5_1(const float* x, uint8_t* b) {
  float lo, hi;
  min_max(x, kQK, lo, hi);
  float d = (hi - lo) / 31.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_f16(b, d);
  store_f16(b + 2, lo);
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = std::min<int>(31, trunc_int8((x[j] - lo) * id + 0.5f));
  pack_q5(q, b + 4, b + 8);
}

using BlockFn = void (*)(const float*, uint8_t*);

BlockFn block_quantizer(TensorType t) {
  switch (t) {
    case TensorType::Q8_0:
      return quant_q8_0;
    case TensorType::Q4_0:
      return quant_q4_0;
    case TensorType::Q4_1:
      return quant_q4_1;
    case TensorType::Q5_0:
      return quant_q5_0;
    case TensorType::Q5_1:
      return quant_q5_1;
    case TensorType::Q4_K:
      return quant_q4_k;
    case TensorType::Q5_K:
      return quant_q5_k;
    case TensorType::Q6_K:
      return quant_q6_k;
    default:
      return nullptr;
  }
}

}  // namespace

bool can_quantize(TensorType t) {
  return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16 ||
         block_quantizer(t) != nullptr;
}

Status quantize_row(TensorType t, const float* src, void* dst, int64_t n) {
  const auto& tr = traits(t);
  std::string name(tr.name);
  if (!can_quantize(t)) return make_error("cannot quantize to tensor type %s", name.c_str());
  if (n < 0 || n % tr.block_size != 0)
    return make_error("quantize %s: %lld elements is not a whole number of %u-element blocks",
                      name.c_str(), (long long)n, tr.block_size);
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(src[i]))
      return make_error("quantize %s: element %lld is %s (the tensor holds non-finite values)",
                        name.c_str(), (long long)i, std::isnan(src[i]) ? "NaN" : "infinite");
  auto* d = static_cast<uint8_t*>(dst);
  switch (t) {
    case TensorType::F32:
      std::memcpy(d, src, size_t(n) * 4);
      return Status::Ok();
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) store_f16(d + 2 * i, src[i]);
      return Status::Ok();
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_bf16(src[i]);
        d[2 * i] = uint8_t(h & 0xFF);
        d[2 * i + 1] = uint8_t(h >> 8);
      }
      return Status::Ok();
    default:
      break;
  }
  BlockFn fn = block_quantizer(t);
  for (int64_t b = 0; b < n / tr.block_size; ++b) fn(src + b * tr.block_size, d + b * tr.type_size);
  return Status::Ok();
}

Status quantize_rows(TensorType t, const float* src, void* dst, int64_t n_rows, int64_t row_length,
                     int n_threads) {
  auto row_bytes = tensor_bytes(t, uint64_t(std::max<int64_t>(row_length, 0)));
  if (n_rows < 0 || row_length <= 0 || !row_bytes)
    return make_error("quantize %s: bad row length %lld", std::string(traits(t).name).c_str(),
                      (long long)row_length);
  if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  n_threads = int(std::min<int64_t>(n_threads, std::max<int64_t>(n_rows, 1)));
  auto* out = static_cast<uint8_t*>(dst);
  // Each thread takes a contiguous range of rows; the first error (by row order) is reported.
  std::vector<Status> results(static_cast<size_t>(n_threads));
  auto work = [&](int k) {
    int64_t begin = n_rows * k / n_threads, end = n_rows * (k + 1) / n_threads;
    for (int64_t r = begin; r < end; ++r) {
      Status st = quantize_row(t, src + r * row_length, out + uint64_t(r) * *row_bytes, row_length);
      if (!st.ok()) {
        results[size_t(k)] = Error{"row " + std::to_string(r) + ": " + st.error().message};
        return;
      }
    }
  };
  if (n_threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> threads;
    for (int k = 0; k < n_threads; ++k) threads.emplace_back(work, k);
    for (auto& th : threads) th.join();
  }
  for (auto& st : results)
    if (!st.ok()) return st;
  return Status::Ok();
}

}  // namespace whale
