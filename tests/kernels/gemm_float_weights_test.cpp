// gemm_float_weights (kernels/gemm_float_weights.h) against its f64 reference on every SIMD
// target this CPU supports: F32/F16/BF16 weights, token counts around the 4-token tile, row
// counts around the 4-row tile and the 16-row block, K tails, strided rows and outputs. Also:
// a row's result does not depend on how the rows are split (threads split them anywhere).
//
// Tolerance: f32 accumulation of K products errs by at most about K * 2^-24 * sum_k |w_k x_k|;
// 1.2e-7 * K * sum|w x| is used, plus the rounding of the stored result.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "hwy/targets.h"
#include "kernels/gemm_float_weights.h"
#include "platform/fp16.h"
#include "simd_test_util.h"

namespace whale {
namespace {

using test::for_each_simd_target;

// n_rows rows of K weights of `type`, row_stride bytes apart (a few bytes of padding per row).
struct Weights {
  TensorType type;
  size_t row_stride;
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // the exact f32 value of each stored weight, [n_rows][K]
};

Weights random_weights(TensorType type, int64_t n_rows, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const size_t elem = type == TensorType::F32 ? 4 : 2;
  Weights w{type, size_t(K) * elem + 4 * elem, {}, {}};
  w.bytes.assign(w.row_stride * size_t(n_rows), 0xAB);
  w.values.resize(size_t(n_rows * K));
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t k = 0; k < K; ++k) {
      uint8_t* p = w.bytes.data() + size_t(r) * w.row_stride + size_t(k) * elem;
      const float v = dist(rng);
      float stored = v;
      if (type == TensorType::F32) {
        std::memcpy(p, &v, 4);
      } else {
        const uint16_t bits = type == TensorType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
        p[0] = uint8_t(bits), p[1] = uint8_t(bits >> 8);
        stored = type == TensorType::F16 ? f16_to_f32(bits) : bf16_to_f32(bits);
      }
      w.values[size_t(r * K + k)] = stored;
    }
  return w;
}

struct Shape {
  int64_t rows, K, n_tok;
};
const Shape kShapes[] = {{1, 16, 2}, {4, 256, 4},  {5, 33, 3},  {17, 64, 7}, {37, 130, 16},
                         {3, 7, 1},  {16, 512, 5}, {33, 96, 9}, {2, 1, 2},   {20, 640, 13}};
const TensorType kTypes[] = {TensorType::F32, TensorType::F16, TensorType::BF16};

TEST(GemmFloatWeights, MatchesReference) {
  for_each_simd_target([] {
    uint32_t seed = 1;
    for (TensorType type : kTypes)
      for (const Shape& s : kShapes) {
        SCOPED_TRACE(testing::Message()
                     << int(type) << " rows " << s.rows << " K " << s.K << " tokens " << s.n_tok);
        const Weights w = random_weights(type, s.rows, s.K, seed++);
        const int64_t ldx = s.K + 3, ldy = s.rows + 5;
        std::vector<float> x(size_t(s.n_tok * ldx));
        std::mt19937 rng(seed++);
        std::normal_distribution<float> dist(0.0f, 1.0f);
        for (float& v : x) v = dist(rng);
        std::vector<float> got(size_t(s.n_tok * ldy), -7.0f), want(got);
        if (!gemm_float_weights(type, w.bytes.data(), w.row_stride, s.rows, s.K, x.data(), ldx,
                                s.n_tok, got.data(), ldy))
          continue;  // no tiled kernel on this target: nothing was written, nothing to check
        gemm_float_weights_reference(type, w.bytes.data(), w.row_stride, s.rows, s.K, x.data(), ldx,
                                     s.n_tok, want.data(), ldy);
        for (int64_t t = 0; t < s.n_tok; ++t) {
          for (int64_t r = 0; r < s.rows; ++r) {
            double mag = 0.0;
            for (int64_t k = 0; k < s.K; ++k)
              mag += std::fabs(double(w.values[size_t(r * s.K + k)]) * x[size_t(t * ldx + k)]);
            const double tol = 1.2e-7 * double(s.K) * mag + 1e-6 * std::fabs(want[t * ldy + r]);
            ASSERT_NEAR(got[size_t(t * ldy + r)], want[size_t(t * ldy + r)], tol)
                << "token " << t << " row " << r;
          }
          for (int64_t r = s.rows; r < ldy; ++r)  // padding between output rows untouched
            ASSERT_EQ(got[size_t(t * ldy + r)], -7.0f);
        }
      }
  });
}

TEST(GemmFloatWeights, RowSplitDoesNotChangeResults) {
  for_each_simd_target([] {
    const int64_t rows = 29, K = 200, n_tok = 6;
    const Weights w = random_weights(TensorType::F16, rows, K, 99);
    std::vector<float> x(size_t(n_tok * K));
    std::mt19937 rng(5);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (float& v : x) v = dist(rng);
    std::vector<float> whole(size_t(n_tok * rows)), split(whole.size());
    if (!gemm_float_weights(w.type, w.bytes.data(), w.row_stride, rows, K, x.data(), K, n_tok,
                            whole.data(), rows))
      return;
    for (int64_t cut : {1, 3, 6, 13, 17}) {
      gemm_float_weights(w.type, w.bytes.data(), w.row_stride, cut, K, x.data(), K, n_tok,
                         split.data(), rows);
      gemm_float_weights(w.type, w.bytes.data() + size_t(cut) * w.row_stride, w.row_stride,
                         rows - cut, K, x.data(), K, n_tok, split.data() + cut, rows);
      // Token subsets too: one token alone gives the same values as in a group of 4.
      std::vector<float> single(static_cast<size_t>(rows));
      gemm_float_weights(w.type, w.bytes.data(), w.row_stride, rows, K, x.data() + 5 * K, K, 1,
                         single.data(), rows);
      for (int64_t i = 0; i < n_tok * rows; ++i)
        ASSERT_EQ(whole[size_t(i)], split[size_t(i)]) << cut;
      for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(single[size_t(r)], whole[size_t(5 * rows + r)]);
    }
  });
}

}  // namespace
}  // namespace whale
