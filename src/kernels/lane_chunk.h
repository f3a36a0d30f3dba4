// Geometry of an activation chunk of the lane kernels (simd_vnni_lanes-inl.h: 16 lanes of a
// 512-bit register; simd_x86_lanes-inl.h: 8 lanes of a 256-bit one): one int32 lane per scale
// block of 4 S elements, S registers, then per lane the negated activation sum, the scale, and
// d_x * sum q for Q4_K-style minimum terms.
#pragma once

#include <cstdint>

namespace whale {

template <int kLanes, int S>
struct LaneChunk {
  static constexpr int kRegBytes = 4 * kLanes;
  static constexpr int kLaneElems = 4 * S;
  static constexpr int kElems = kLanes * kLaneElems;
  static constexpr int kNegSum = kRegBytes * S, kDx = kNegSum + kRegBytes, kXSum = kDx + kRegBytes;
  static constexpr int kBytes = kXSum + kRegBytes;
};

// Chunks of kLanes lanes of lane_elems elements covering a row of cols.
inline int64_t lane_chunks(int64_t cols, int lane_elems, int lanes) {
  return (cols + lanes * lane_elems - 1) / (lanes * lane_elems);
}

}  // namespace whale
