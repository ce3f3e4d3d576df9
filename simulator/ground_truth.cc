#include "simulator/ground_truth.h"

#include <cmath>
#include <cstdint>

namespace recsys {

double GroundTruth::PopularityAt(int video, int64_t time_s) const {
  const Video& v = videos[video];
  if (time_s < v.upload_time_s || v.episode > 1) return 0;
  const double age_s = static_cast<double>(time_s - v.upload_time_s);
  double popularity =
      v.base_popularity *
      (evergreen_popularity + (1 - evergreen_popularity) *
                                  std::exp2(-age_s / popularity_half_life_s));
  if (v.viral && time_s >= v.viral_start_s && time_s < v.viral_end_s) {
    popularity += viral_popularity;
  }
  return popularity;
}

}  // namespace recsys
