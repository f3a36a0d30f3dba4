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
  static constexpr int64_t kBytes = 4;  // bytes per element
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

// 16-bit floats (Half: hwy::float16_t or hwy::bfloat16_t; to_f32 the matching scalar
// conversion of fp16.h): the two formats differ only in these.
template <class Half, float (*to_f32)(uint16_t)>
struct HalfLoad {
  static constexpr int64_t kBytes = 2;
  static HWY_INLINE hwy::HWY_NAMESPACE::Vec<hwy::HWY_NAMESPACE::ScalableTag<float>> load(
      const uint8_t* p, int64_t i) {
    namespace hn = hwy::HWY_NAMESPACE;
    const hn::ScalableTag<float> d;
    const hn::Rebind<Half, decltype(d)> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const Half*>(p) + i));
  }
  static float at(const uint8_t* p, int64_t i) {
    return to_f32(uint16_t(p[2 * i] | (p[2 * i + 1] << 8)));
  }
};
using F16Load = HalfLoad<hwy::float16_t, f16_to_f32>;
using BF16Load = HalfLoad<hwy::bfloat16_t, bf16_to_f32>;

}  // namespace HWY_NAMESPACE
}  // namespace whale
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
