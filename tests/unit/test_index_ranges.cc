// Tests for ONNX's Slice/Shape range rules; expected values follow numpy slicing (x[start:end:step]).
#include <gtest/gtest.h>

#include <limits>

#include "ir/index_ranges.h"

namespace dlc {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

void expectRange(SliceRange r, int64_t start, int64_t count) {
  EXPECT_EQ(r.count, count);
  if (count > 0) {
    EXPECT_EQ(r.start, start);
  }
}

TEST(IndexRanges, SliceFollowsNumpy) {
  expectRange(sliceRange(0, 3, 1, 5), 0, 3);       // x[0:3]
  expectRange(sliceRange(1, 4, 2, 5), 1, 2);       // x[1:4:2] = [1, 3]
  expectRange(sliceRange(-2, kMax, 1, 5), 3, 2);   // x[-2:]
  expectRange(sliceRange(-1, kMin, -1, 5), 4, 5);  // x[::-1]
  expectRange(sliceRange(4, 0, -2, 5), 4, 2);      // x[4:0:-2] = [4, 2]
  expectRange(sliceRange(10, 20, 1, 5), 0, 0);     // past the end
  expectRange(sliceRange(-10, 2, 1, 5), 0, 2);     // x[-10:2]
  expectRange(sliceRange(3, 1, 1, 5), 0, 0);       // empty
}

TEST(IndexRanges, SliceSurvivesExtremeStepsAndEmptyDims) {
  expectRange(sliceRange(0, 5, kMax, 5), 0, 1);
  expectRange(sliceRange(4, -10, kMin, 5), 4, 1);
  expectRange(sliceRange(0, kMax, 1, 0), 0, 0);
  expectRange(sliceRange(-1, kMin, -1, 0), 0, 0);
}

TEST(IndexRanges, ShapeRangeClamps) {
  EXPECT_EQ(shapeRange(0, 4, 4), std::make_pair(int64_t{0}, int64_t{4}));
  EXPECT_EQ(shapeRange(-1, kMax, 4), std::make_pair(int64_t{3}, int64_t{4}));
  EXPECT_EQ(shapeRange(-10, 2, 4), std::make_pair(int64_t{0}, int64_t{2}));
  EXPECT_EQ(shapeRange(3, 1, 4), std::make_pair(int64_t{3}, int64_t{1}));  // empty: end <= start
}

}  // namespace
}  // namespace dlc
