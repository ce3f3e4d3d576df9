#include "simulator/user_model.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "simulator/world_options.h"

namespace recsys {
namespace {

// Click probability factor for a series episode whose previous episode the
// user has not watched: people rarely jump into the middle of a series.
constexpr double kUnfollowedEpisodeClickFactor = 1.0 / 3;
// Watch fraction: clamp(intercept + quality and interest terms + noise,
// min, 1).
constexpr double kWatchFractionIntercept = 0.1;
constexpr double kWatchFractionPerQuality = 0.5;
constexpr double kWatchFractionPerInterest = 0.3;
constexpr double kWatchFractionNoise = 0.12;
constexpr double kMinWatchFraction = 0.05;

double Clamp(double x, double lo, double hi) {
  return std::min(hi, std::max(lo, x));
}

// The watch fraction before the noise and the language factor.
double WatchFractionMean(double relative_interest, double quality) {
  return kWatchFractionIntercept + kWatchFractionPerQuality * quality +
         kWatchFractionPerInterest * relative_interest;
}

double LanguageWatchFactor(const WorldOptions& options, bool speaks_language) {
  return speaks_language ? 1.0 : options.foreign_language_watch_factor;
}

}  // namespace

double WorldClickProbability(const WorldOptions& options,
                             double relative_interest, double attractiveness,
                             int position, bool speaks_language,
                             bool unfollowed_episode) {
  double p = options.max_click_probability *
             std::sqrt(std::max(0.0, relative_interest)) * attractiveness /
             (1 + options.position_bias * position);
  if (!speaks_language) p *= options.foreign_language_click_factor;
  if (unfollowed_episode) p *= kUnfollowedEpisodeClickFactor;
  return p;
}

double WorldWatchFraction(const WorldOptions& options,
                          double relative_interest, double quality,
                          bool speaks_language, double noise) {
  return Clamp(WatchFractionMean(relative_interest, quality) +
                   kWatchFractionNoise * noise,
               kMinWatchFraction, 1.0) *
         LanguageWatchFactor(options, speaks_language);
}

double WorldExpectedWatchFraction(const WorldOptions& options,
                                  double relative_interest, double quality,
                                  bool speaks_language) {
  // E[clamp(m + s Z, a, b)] = a P(Z < alpha) + b P(Z > beta)
  //   + m P(alpha < Z < beta) + s (phi(alpha) - phi(beta)),
  // alpha = (a - m) / s, beta = (b - m) / s.
  const double m = WatchFractionMean(relative_interest, quality);
  const double sd = kWatchFractionNoise;
  const double a = kMinWatchFraction;
  const double b = 1.0;
  const double alpha = (a - m) / sd;
  const double beta = (b - m) / sd;
  auto cdf = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  auto pdf = [](double z) {
    return std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
  };
  const double expected = a * cdf(alpha) + b * (1 - cdf(beta)) +
                          m * (cdf(beta) - cdf(alpha)) +
                          sd * (pdf(alpha) - pdf(beta));
  return expected * LanguageWatchFactor(options, speaks_language);
}

bool SpeaksLanguage(const std::vector<std::string>& languages,
                    absl::string_view language) {
  return std::find(languages.begin(), languages.end(), language) !=
         languages.end();
}

}  // namespace recsys
