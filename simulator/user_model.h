#ifndef RECSYS_SIMULATOR_USER_MODEL_H_
#define RECSYS_SIMULATOR_USER_MODEL_H_

// How a simulated user reacts to a video: the click and watch-fraction
// formulas the generator draws from, public for evaluations that score
// lists by the world's truth.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "simulator/world_options.h"

namespace recsys {

// --- The world's user model: the formulas the generator draws clicks and
// watch fractions from, for evaluations that score lists by the world's
// truth (evaluation/clickbait_eval). Arguments:
//   relative_interest   the user's interest in the video's main topic over
//                       their favourite topic's, in [0, 1]
//                       (`GroundTruth::User::topic_interest`, or
//                       truth_user_interests.csv's weights over their max);
//   speaks_language     whether the video's language is one of the user's
//                       (`GroundTruth::User::languages`, truth_users.csv);
//   position            the 0-based slot on the page;
//   unfollowed_episode  the video is episode k > 1 of a series and the user
//                       has not watched episode k - 1.

// Probability that the user clicks the video when it is shown:
// max_click_probability * sqrt(relative_interest) * attractiveness /
// (1 + position_bias * position), times foreign_language_click_factor if
// the user does not speak its language, times 1/3 for an unfollowed
// episode.
double WorldClickProbability(const WorldOptions& options,
                             double relative_interest, double attractiveness,
                             int position, bool speaks_language,
                             bool unfollowed_episode = false);

// Share of the video a user watches once they start it, given a standard
// normal draw `noise`: clamp(0.1 + 0.5 quality + 0.3 relative_interest +
// 0.12 noise, 0.05, 1), times foreign_language_watch_factor if the user
// does not speak its language.
double WorldWatchFraction(const WorldOptions& options,
                          double relative_interest, double quality,
                          bool speaks_language, double noise);

// The expectation of `WorldWatchFraction` over the noise (exact: the mean
// of a clamped normal).
double WorldExpectedWatchFraction(const WorldOptions& options,
                                  double relative_interest, double quality,
                                  bool speaks_language);

// Whether `language` is one of `languages`.
bool SpeaksLanguage(const std::vector<std::string>& languages,
                    absl::string_view language);

}  // namespace recsys

#endif  // RECSYS_SIMULATOR_USER_MODEL_H_
