// DynamicQuantizeLinear's rule, shared by that op and the dynamically quantized RNNs: u8 over the
// tensor's own range widened to include 0, scale = (max - min) / 255, zero point round(-min / scale).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace dlc::ref {

struct DynamicRange {
  float scale = 0.0f;
  float zero_point = 0.0f;  // an integer in [0, 255]

  static DynamicRange of(const float* x, int64_t n) {
    float mn = 0.0f, mx = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      mn = std::min(mn, x[i]);
      mx = std::max(mx, x[i]);
    }
    DynamicRange r;
    r.scale = (mx - mn) / 255.0f;
    r.zero_point = r.scale == 0.0f ? 0.0f : std::nearbyint(std::min(255.0f, std::max(0.0f, 0.0f - mn / r.scale)));
    return r;
  }
  // An all-zero tensor has scale 0 and quantizes to 0.
  uint8_t quantize(float v) const {
    float q = scale == 0.0f ? 0.0f : std::nearbyint(v / scale) + zero_point;
    return static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, q)));
  }
};

}  // namespace dlc::ref
