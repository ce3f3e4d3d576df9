#ifndef RECSYS_COMMON_BASE_TIME_UNITS_H_
#define RECSYS_COMMON_BASE_TIME_UNITS_H_

// Time in the logs, the API and the models is Unix seconds (int64); these are
// the only definitions of its units.

#include <cstdint>

namespace recsys {

inline constexpr int64_t kSecondsPerHour = 3600;
inline constexpr int64_t kSecondsPerDay = 86400;

}  // namespace recsys

#endif  // RECSYS_COMMON_BASE_TIME_UNITS_H_
