// The bf16 products' dispatch (gemm_bf16.h): the vdpbf16ps kernels where the CPU has them and
// Highway dispatches to an AVX-512 target, otherwise bf16 widened to f32 for gemm_f32's kernels.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gemm_bf16.cpp"
#include "hwy/foreach_target.h"  // must precede highway.h
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace whale {
namespace HWY_NAMESPACE {
bool DispatchesAvx512() {
  return HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL;
}
}  // namespace HWY_NAMESPACE
}  // namespace whale
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <vector>

#include "kernels/gemm_bf16.h"

#include "kernels/gemm_bf16_x86.h"
#include "kernels/gemm_f32.h"
#include "platform/fp16.h"

namespace whale {

HWY_EXPORT(DispatchesAvx512);

namespace {

float round_bf16(float x) {
  return bf16_to_f32(f32_to_bf16(x));
}

// This thread's scratch for an operand as a dense f32 matrix (the f32 kernels' input).
float* f32_rows(size_t n) {
  thread_local std::vector<float> rows;
  if (rows.size() < n) rows.resize(n);
  return rows.data();
}

}  // namespace

// Checked per call (an atomic load and an indirect call): tests switch targets at run time.
bool bf16_dot_products() {
  return x86_bf16::cpu_supported() && HWY_DYNAMIC_DISPATCH(DispatchesAvx512)();
}

void gemm_bf16_abt(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda,
                   const uint16_t* b, int64_t ldb, float* c, int64_t ldc, float alpha) {
  if (M <= 0 || N <= 0) return;
  if (bf16_dot_products()) return x86_bf16::abt(M, N, K, a, lda, b, ldb, c, ldc, alpha);
  float* wide = f32_rows(size_t(M * K));
  for (int64_t m = 0; m < M; ++m) widen_half_to_f32(a + m * lda, true, wide + m * K, K);
  gemm_f32_abt_bf16(M, N, K, wide, K, b, ldb, c, ldc, alpha);
}

void gemm_bf16_ab_acc(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                      const uint16_t* b, int64_t ldb, float* c, int64_t ldc) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  if (bf16_dot_products()) return x86_bf16::ab_acc(M, N, K, a, lda, b, ldb, c, ldc);
  float* rounded = f32_rows(size_t(M * K));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) rounded[m * K + k] = round_bf16(a[m * lda + k]);
  gemm_f32_ab_acc_bf16(M, N, K, rounded, K, b, ldb, c, ldc);
}

void gemm_bf16_abt_reference(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda,
                             const uint16_t* b, int64_t ldb, float* c, int64_t ldc, float alpha) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k)
        s += double(bf16_to_f32(a[m * lda + k])) * double(bf16_to_f32(b[n * ldb + k]));
      c[m * ldc + n] = float(double(alpha) * s);
    }
}

void gemm_bf16_ab_acc_reference(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                                const uint16_t* b, int64_t ldb, float* c, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = c[m * ldc + n];
      for (int64_t k = 0; k < K; ++k)
        s += double(round_bf16(a[m * lda + k])) * double(bf16_to_f32(b[k * ldb + n]));
      c[m * ldc + n] = float(s);
    }
}

void narrow_f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

void round_to_bf16(const float* src, int64_t n, uint16_t* dst) {
  if (bf16_dot_products()) return x86_bf16::round_to_bf16(src, n, dst);
  narrow_f32_to_bf16(src, dst, n);
}

}  // namespace whale
#endif  // HWY_ONCE
