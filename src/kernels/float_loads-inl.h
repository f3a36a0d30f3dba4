// Loaders of float weight rows (F32, F16, BF16 read in place from the mmap) as full-width f32
// vectors, shared by the kernels compiled per Highway target (simd_kernels.cpp,
// gemm_float_weights.cpp). load(row, i): elements [i, i + lanes) widened to f32 (F16C on x86);
// at(row, i): element i as a scalar, for tails. Include after hwy/highway.h (per-target code).
#if defined(WHALE_KERNELS_FLOAT_LOADS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WHALE_KERNELS_FLOAT_LOADS_INL_H_
#undef WHALE_KERNELS_FLOAT_LOADS_INL_H_
#else
#define WHALE_KERNELS_FLOAT_LOADS_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "platform/fp16.h"

HWY_BEFORE_NAMESPACE();
namespace whale {
namespace HWY_NAMESPACE {

struct F32Load {
  static HWY_INLINE hwy::HWY_NAMESPACE::Vec<hwy::HWY_NAMESPACE::ScalableTag<float>> load(
      const uint8_t* p, int64_t i) {
    namespace hn = hwy::HWY_NAMESPACE;
    return hn::LoadU(hn::ScalableTag<float>(), reinterpret_cast<const float*>(p) + i);
  }
  static float at(const uint8_t* p, int64_t i) {
    float v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  }
};

struct F16Load {
  static HWY_INLINE hwy::HWY_NAMESPACE::Vec<hwy::HWY_NAMESPACE::ScalableTag<float>> load(
      const uint8_t* p, int64_t i) {
    namespace hn = hwy::HWY_NAMESPACE;
    const hn::ScalableTag<float> d;
    const hn::Rebind<hwy::float16_t, decltype(d)> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p) + i));
  }
  static float at(const uint8_t* p, int64_t i) {
    return f16_to_f32(uint16_t(p[2 * i] | (p[2 * i + 1] << 8)));
  }
};

struct BF16Load {
  static HWY_INLINE hwy::HWY_NAMESPACE::Vec<hwy::HWY_NAMESPACE::ScalableTag<float>> load(
      const uint8_t* p, int64_t i) {
    namespace hn = hwy::HWY_NAMESPACE;
    const hn::ScalableTag<float> d;
    const hn::Rebind<hwy::bfloat16_t, decltype(d)> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::bfloat16_t*>(p) + i));
  }
  static float at(const uint8_t* p, int64_t i) {
    return bf16_to_f32(uint16_t(p[2 * i] | (p[2 * i + 1] << 8)));
  }
};

}  // namespace HWY_NAMESPACE
}  // namespace whale
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
