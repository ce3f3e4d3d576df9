#include "simulator/ids.h"

#include "gtest/gtest.h"

namespace recsys {
namespace world_internal {
namespace {

TEST(IdsTest, WidthIsFiveDigitsOrAsManyAsNeeded) {
  EXPECT_EQ(IdWidth(0), 5);
  EXPECT_EQ(IdWidth(100000), 5);
  EXPECT_EQ(IdWidth(100001), 6);
  EXPECT_EQ(IdWidth(1000000), 6);
  EXPECT_EQ(IdWidth(1000001), 7);
}

TEST(IdsTest, PaddedIdIsPrefixAndZeroPaddedIndex) {
  EXPECT_EQ(PaddedId('u', 42, 5), "u00042");
  EXPECT_EQ(PaddedId('v', 0, 5), "v00000");
  EXPECT_EQ(PaddedId('p', 1234567, 5), "p1234567");
  EXPECT_EQ(PaddedId('s', 7, 7), "s0000007");
}

}  // namespace
}  // namespace world_internal
}  // namespace recsys
