#ifndef RECSYS_SIMULATOR_IDS_H_
#define RECSYS_SIMULATOR_IDS_H_

// IDs of the simulated world's things: a one-letter prefix and a
// zero-padded index ("v00042", "u01234", "p000007"). Private to //simulator.

#include <cstdint>
#include <string>

namespace recsys {
namespace world_internal {

// Digits of the IDs of `count` things: at least five, more if needed.
int IdWidth(int64_t count);

// "u00042": `prefix`, then `index` zero-padded to `width` digits.
std::string PaddedId(char prefix, int64_t index, int width);

}  // namespace world_internal
}  // namespace recsys

#endif  // RECSYS_SIMULATOR_IDS_H_
