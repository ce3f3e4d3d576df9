#include "simulator/ids.h"

#include <charconv>
#include <cstdint>
#include <string>

namespace recsys {
namespace world_internal {

int IdWidth(int64_t count) {
  int width = 5;
  for (int64_t n = 100000; n < count; n *= 10) ++width;
  return width;
}

std::string PaddedId(char prefix, int64_t index, int width) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), index);
  const int num_digits = static_cast<int>(end - digits);
  std::string id(1, prefix);
  if (num_digits < width) id.append(width - num_digits, '0');
  id.append(digits, end);
  return id;
}

}  // namespace world_internal
}  // namespace recsys
