#include "simulator/population.h"

#include <algorithm>
#include <iterator>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/logs/logs.h"
#include "simulator/catalogue.h"
#include "simulator/demographics.h"
#include "simulator/ground_truth.h"
#include "simulator/ids.h"
#include "simulator/random.h"
#include "simulator/world_options.h"

namespace recsys {
namespace world_internal {
namespace {

// Probability that a favourite count is 1, 2 or 3.
constexpr double kFavouriteCountWeights[] = {0.3, 0.4, 0.3};

}  // namespace

Population::Population(const WorldOptions& options, const TopicTastes& tastes)
    : options_(options),
      tastes_(tastes),
      user_id_width_(IdWidth(options.num_users)) {}

void Population::MakeUser(int u, UserRecord* record,
                          GroundTruth::User* user) const {
  static const std::vector<double>& region_weights =
      *new std::vector<double>(Weights(kRegions));
  static const std::vector<double>& device_weights =
      *new std::vector<double>(Weights(kDevices));
  static const std::vector<double>& age_weights =
      *new std::vector<double>(Weights(kAgeGroups));
  static const std::vector<double>& favourite_count_weights =
      *new std::vector<double>(std::begin(kFavouriteCountWeights),
                               std::end(kFavouriteCountWeights));
  Rng rng(StreamSeed(options_.seed, kUserStreamBase + u));

  // Hidden demographics, which shape tastes whether or not logged.
  const int region = rng.Discrete(region_weights);
  const int age_group = rng.Discrete(age_weights);
  const AgeGroup& group = kAgeGroups[age_group];
  const int age =
      static_cast<int>(rng.UniformInt(group.min_age, group.max_age));
  const int gender = static_cast<int>(rng.UniformInt(kNumGenders));

  *record = UserRecord();
  record->user_id = PaddedId('u', u, user_id_width_);
  record->region = kRegions[region].code;
  record->device = kDevices[rng.Discrete(device_weights)].name;
  record->logged_in = rng.Bernoulli(options_.logged_in_probability);
  if (record->logged_in) {
    if (!rng.Bernoulli(kUnstatedGenderProbability)) {
      record->gender = kGenders[gender];
    }
    if (!rng.Bernoulli(kUnstatedAgeProbability)) record->age = age;
  }

  const int num_topics = options_.num_topics;
  std::vector<double> favourite_prior(num_topics);
  for (int t = 0; t < num_topics; ++t) {
    favourite_prior[t] = tastes_.prior[t] * tastes_.region_tilt[region][t] *
                         tastes_.age_tilt[age_group][t] *
                         tastes_.gender_tilt[gender][t];
  }
  *user = MakeInterests(1 + rng.Discrete(favourite_count_weights),
                        std::move(favourite_prior), rng);

  // Drawn last, so that tastes do not depend on the language knobs.
  const char* language = kRegions[region].language;
  record->language = language;
  user->languages = {language};
  if (absl::string_view(language) != kEnglish &&
      rng.Bernoulli(options_.english_second_language_probability)) {
    user->languages.push_back(kEnglish);
  }
}

GroundTruth::User Population::MakeInterests(int num_favourites,
                                            std::vector<double> favourite_prior,
                                            Rng& rng) const {
  const int num_topics = options_.num_topics;
  num_favourites = std::min(num_favourites, num_topics);
  GroundTruth::User user;
  std::vector<double> favourite_weight;
  for (int k = 0; k < num_favourites; ++k) {
    const int t = rng.Discrete(favourite_prior);
    favourite_prior[t] = 0;  // Without replacement.
    user.favourite_topics.push_back(t);
    favourite_weight.push_back(0.5 + rng.Exponential());
  }
  std::vector<double> other_weight(num_topics, 0);
  for (int t = 0; t < num_topics; ++t) {
    if (favourite_prior[t] > 0) {
      other_weight[t] = tastes_.prior[t] * rng.Exponential();
    }
  }
  const double favourite_total =
      std::accumulate(favourite_weight.begin(), favourite_weight.end(), 0.0);
  const double other_total =
      std::accumulate(other_weight.begin(), other_weight.end(), 0.0);
  const double favourite_mass =
      other_total > 0 ? options_.favourite_interest_mass : 1.0;
  user.topic_interest.assign(num_topics, 0);
  for (int t = 0; t < num_topics; ++t) {
    if (other_total > 0) {
      user.topic_interest[t] =
          (1 - favourite_mass) * other_weight[t] / other_total;
    }
  }
  for (int k = 0; k < num_favourites; ++k) {
    user.topic_interest[user.favourite_topics[k]] =
        favourite_mass * favourite_weight[k] / favourite_total;
  }
  std::sort(user.favourite_topics.begin(), user.favourite_topics.end(),
            [&](int a, int b) {
              return std::tie(user.topic_interest[b], a) <
                     std::tie(user.topic_interest[a], b);
            });
  return user;
}

std::vector<double> Population::InterestPerTopic() const {
  std::vector<double> interest(options_.num_topics, 0);
  UserRecord record;
  GroundTruth::User user;
  for (int u = 0; u < options_.num_users; ++u) {
    MakeUser(u, &record, &user);
    for (int t = 0; t < options_.num_topics; ++t) {
      interest[t] += user.topic_interest[t];
    }
  }
  return interest;
}

}  // namespace world_internal
}  // namespace recsys
