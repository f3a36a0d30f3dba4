// whale's dequantizers and quantizers against llama.cpp's own (libggml-base.so, see
// ggml_reference.h): dequantization and the Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 quantizers must be
// bit-identical; Q4_K/Q6_K must decode identically and be at least about as accurate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "ggml_reference.h"
#include "platform/fp16.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace whale {
namespace {

using test::GgmlReference;

const GgmlReference& reference() {
  const auto& r = GgmlReference::get();
  EXPECT_TRUE(r.ok()) << r.error();
  return r;
}

// Random block bytes where every f16/f32 scale field holds a finite value (random bytes would
// otherwise make NaN/inf scales, whose payload propagation is not what this test is about).
std::vector<uint8_t> random_blocks(TensorType t, int n_blocks, std::mt19937& rng) {
  const auto& tr = traits(t);
  std::vector<uint8_t> bytes(size_t(n_blocks) * tr.type_size);
  for (auto& b : bytes) b = uint8_t(rng());
  std::normal_distribution<float> scale(0.0f, 0.05f);
  auto put_half = [&](size_t at) {
    uint16_t h = f32_to_f16(scale(rng));
    bytes[at] = uint8_t(h & 0xff);
    bytes[at + 1] = uint8_t(h >> 8);
  };
  std::vector<size_t> half_offsets;  // per block
  switch (t) {
    case TensorType::F16: {
      for (size_t i = 0; i + 1 < bytes.size(); i += 2) put_half(i);
      return bytes;
    }
    case TensorType::F32: {
      std::normal_distribution<float> v(0.0f, 10.0f);
      for (size_t i = 0; i + 3 < bytes.size(); i += 4) {
        float f = v(rng);
        std::memcpy(&bytes[i], &f, 4);
      }
      return bytes;
    }
    case TensorType::BF16: {
      for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
        uint16_t h = f32_to_bf16(scale(rng) * 1000.0f);
        bytes[i] = uint8_t(h & 0xff);
        bytes[i + 1] = uint8_t(h >> 8);
      }
      return bytes;
    }
    case TensorType::Q4_0:
    case TensorType::Q5_0:
    case TensorType::Q8_0:
    case TensorType::IQ4_NL:
    case TensorType::IQ4_XS:
      half_offsets = {0};
      break;
    case TensorType::Q4_1:
    case TensorType::Q5_1:
    case TensorType::Q4_K:
    case TensorType::Q5_K:
      half_offsets = {0, 2};
      break;
    case TensorType::Q2_K:
      half_offsets = {80, 82};
      break;
    case TensorType::Q3_K:
      half_offsets = {108};
      break;
    case TensorType::Q6_K:
      half_offsets = {208};
      break;
    case TensorType::Q8_K: {
      for (int b = 0; b < n_blocks; ++b) {
        float d = scale(rng);
        std::memcpy(&bytes[size_t(b) * tr.type_size], &d, 4);
      }
      return bytes;
    }
    default:
      ADD_FAILURE() << "no generator for " << tr.name;
  }
  for (int b = 0; b < n_blocks; ++b)
    for (size_t off : half_offsets) put_half(size_t(b) * tr.type_size + off);
  return bytes;
}

bool same_bits(float a, float b) {
  return bits_from_f32(a) == bits_from_f32(b);
}

TEST(GgmlCompare, DequantizeMatchesLlamaCppBitForBit) {
  const auto& ref = reference();
  ASSERT_TRUE(ref.ok());
  std::mt19937 rng(1234);
  const TensorType types[] = {
      TensorType::F32,  TensorType::F16,  TensorType::BF16,   TensorType::Q8_0,
      TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0,   TensorType::Q5_1,
      TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K,   TensorType::Q5_K,
      TensorType::Q6_K, TensorType::Q8_K, TensorType::IQ4_NL, TensorType::IQ4_XS};
  for (TensorType t : types) {
    const auto& tr = traits(t);
    const auto* gt = ref.traits(uint32_t(t));
    ASSERT_NE(gt, nullptr);
    ASSERT_EQ(uint64_t(gt->blck_size), tr.block_size) << tr.name;
    ASSERT_EQ(gt->type_size, tr.type_size) << tr.name;
    // ggml has no to_float for F32 (it is the identity; compare against a copy) and keeps
    // Q8_K's dequantizer out of its traits (it is exported as a plain function).
    auto to_float = gt->to_float;
    if (t == TensorType::Q8_K) to_float = ref.dequantizer("dequantize_row_q8_K");
    ASSERT_TRUE(to_float != nullptr || t == TensorType::F32) << tr.name;
    const int n_blocks = tr.block_size == 1 ? 4096 : 64;
    for (int round = 0; round < 20; ++round) {
      auto bytes = random_blocks(t, n_blocks, rng);
      int64_t n = int64_t(n_blocks) * tr.block_size;
      std::vector<float> mine(static_cast<size_t>(n)), theirs(static_cast<size_t>(n));
      ASSERT_TRUE(dequantize_row(t, bytes.data(), mine.data(), n).ok());
      if (to_float)
        to_float(bytes.data(), theirs.data(), n);
      else
        std::memcpy(theirs.data(), bytes.data(), bytes.size());
      for (int64_t i = 0; i < n; ++i)
        ASSERT_TRUE(same_bits(mine[size_t(i)], theirs[size_t(i)]))
            << tr.name << " element " << i << ": whale " << mine[size_t(i)] << " llama.cpp "
            << theirs[size_t(i)];
    }
  }
}

// Test inputs for the quantizers: Gaussian rows plus the awkward cases (zeros, constant rows,
// one outlier, huge and tiny magnitudes, values at rounding boundaries).
std::vector<std::vector<float>> quantizer_inputs(int n, std::mt19937& rng) {
  std::vector<std::vector<float>> rows;
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (float sigma : {1.0f, 0.02f, 300.0f}) {
    for (int r = 0; r < 8; ++r) {
      std::vector<float> v(static_cast<size_t>(n));
      for (auto& x : v) x = g(rng) * sigma;
      rows.push_back(v);
    }
  }
  rows.push_back(std::vector<float>(size_t(n), 0.0f));
  rows.push_back(std::vector<float>(size_t(n), 1.5f));
  rows.push_back(std::vector<float>(size_t(n), -0.25f));
  std::vector<float> outlier(size_t(n), 0.001f);
  outlier[7] = 100.0f;
  rows.push_back(outlier);
  for (float mag : {3.0e38f, 1.0e30f, 65504.0f, 1.0e-5f, 1.0e-8f, 1.0e-30f, 1.0e-38f, 1.0e-44f}) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = std::clamp(g(rng), -1.0f, 1.0f) * mag;  // stays finite
    rows.push_back(v);
  }
  std::vector<float> grid(static_cast<size_t>(n));  // exact multiples of a step: rounding ties
  for (int i = 0; i < n; ++i) grid[size_t(i)] = float((i % 17) - 8) * 0.5f;
  rows.push_back(grid);
  std::vector<float> mixed(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) mixed[size_t(i)] = (i % 32 < 16) ? 0.0f : g(rng) * 1e-3f;
  rows.push_back(mixed);
  return rows;
}

TEST(GgmlCompare, SimpleQuantizersMatchLlamaCppBitForBit) {
  const auto& ref = reference();
  ASSERT_TRUE(ref.ok());
  std::mt19937 rng(99);
  const int n = 1024;
  for (TensorType t : {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0,
                       TensorType::Q5_1, TensorType::F16, TensorType::BF16}) {
    const auto& tr = traits(t);
    size_t bytes = *tensor_bytes(t, n);
    for (const auto& row : quantizer_inputs(n, rng)) {
      std::vector<uint8_t> mine(bytes), theirs(bytes);
      ASSERT_TRUE(quantize_row(t, row.data(), mine.data(), n).ok());
      ASSERT_EQ(ref.quantize_chunk(uint32_t(t), row.data(), theirs.data(), 1, n), bytes);
      ASSERT_EQ(mine, theirs) << tr.name << " differs for a row starting " << row[0];
    }
  }
}

double rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i] - b[i]) * double(a[i] - b[i]);
  return std::sqrt(s / double(a.size()));
}

// Q4_K/Q6_K: whale's own scale search. Its output must decode identically in llama.cpp, and
// the reconstruction error on Gaussian rows must be within 1.1x of llama.cpp's quantizer.
TEST(GgmlCompare, KQuantsDecodeInLlamaCppAndMatchItsAccuracy) {
  const auto& ref = reference();
  ASSERT_TRUE(ref.ok());
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const int n = 4096, rows = 16;
  for (TensorType t : {TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    const auto& tr = traits(t);
    const auto* gt = ref.traits(uint32_t(t));
    size_t bytes = *tensor_bytes(t, n);
    double mine_sq = 0, theirs_sq = 0;
    for (int r = 0; r < rows; ++r) {
      std::vector<float> x(n);
      float sigma = r % 2 ? 0.02f : 1.0f;
      for (auto& v : x) v = g(rng) * sigma;
      std::vector<uint8_t> qm(bytes), qt(bytes);
      ASSERT_TRUE(quantize_row(t, x.data(), qm.data(), n).ok());
      ref.quantize_chunk(uint32_t(t), x.data(), qt.data(), 1, n);
      std::vector<float> ym(static_cast<size_t>(n)), ym_ref(ym), yt(ym);
      ASSERT_TRUE(dequantize_row(t, qm.data(), ym.data(), n).ok());
      gt->to_float(qm.data(), ym_ref.data(), n);
      gt->to_float(qt.data(), yt.data(), n);
      for (int i = 0; i < n; ++i) ASSERT_TRUE(same_bits(ym[size_t(i)], ym_ref[size_t(i)]));
      double em = rmse(x, ym), et = rmse(x, yt);
      mine_sq += em * em / (sigma * sigma);
      theirs_sq += et * et / (sigma * sigma);
      EXPECT_LE(em, 1.1 * et) << tr.name << " row " << r;
    }
    std::printf("%s relative RMSE: whale %.5f, llama.cpp %.5f\n", std::string(tr.name).c_str(),
                std::sqrt(mine_sq / rows), std::sqrt(theirs_sq / rows));
  }
}

}  // namespace
}  // namespace whale

namespace whale {
namespace {

// The awkward inputs (zeros, constants, outliers, huge and tiny magnitudes) through the K-quant
// quantizers: no crash, and llama.cpp decodes the result exactly as whale does.
TEST(GgmlCompare, KQuantsHandleAwkwardInputs) {
  const auto& ref = reference();
  ASSERT_TRUE(ref.ok());
  std::mt19937 rng(5);
  const int n = 512;
  for (TensorType t : {TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    const auto* gt = ref.traits(uint32_t(t));
    for (const auto& row : quantizer_inputs(n, rng)) {
      std::vector<uint8_t> q(*tensor_bytes(t, n));
      ASSERT_TRUE(quantize_row(t, row.data(), q.data(), n).ok());
      std::vector<float> mine(static_cast<size_t>(n)), theirs(mine);
      ASSERT_TRUE(dequantize_row(t, q.data(), mine.data(), n).ok());
      gt->to_float(q.data(), theirs.data(), n);
      EXPECT_EQ(0, std::memcmp(mine.data(), theirs.data(), mine.size() * 4));
      float amax = 0;
      for (float v : row) amax = std::max(amax, std::fabs(v));
      if (amax < 1000.0f && amax > 1e-3f) {  // within fp16 scale range: close reconstruction
        for (int i = 0; i < n; ++i) EXPECT_NEAR(mine[size_t(i)], row[size_t(i)], 0.25 * amax);
      }
    }
  }
}

}  // namespace
}  // namespace whale
