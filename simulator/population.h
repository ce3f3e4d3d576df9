#ifndef RECSYS_SIMULATOR_POPULATION_H_
#define RECSYS_SIMULATOR_POPULATION_H_

// The simulated world's users: each one's users.csv row (region, device,
// language, stated gender and age) and hidden tastes (interest per topic,
// favourite topics, spoken languages), drawn from their own stream of the
// seed, so that users can be made in any order. Private to //simulator.

#include <vector>

#include "common/logs/logs.h"
#include "simulator/catalogue.h"
#include "simulator/ground_truth.h"
#include "simulator/random.h"
#include "simulator/world_options.h"

namespace recsys {
namespace world_internal {

// Makes users on demand; holds nothing per user. Immutable, so safe to
// share between threads. `tastes` must outlive it.
class Population {
 public:
  Population(const WorldOptions& options, const TopicTastes& tastes);

  // User `u`'s users.csv row and hidden tastes (`languages` included).
  void MakeUser(int u, UserRecord* record, GroundTruth::User* user) const;

  // The sum over all users of their interest per topic (makes every user).
  std::vector<double> InterestPerTopic() const;

 private:
  // `num_favourites` topics drawn by `favourite_prior` get
  // `favourite_interest_mass`, the rest of the topics the remainder.
  GroundTruth::User MakeInterests(int num_favourites,
                                  std::vector<double> favourite_prior,
                                  Rng& rng) const;

  const WorldOptions options_;
  const TopicTastes& tastes_;
  const int user_id_width_;
};

}  // namespace world_internal
}  // namespace recsys

#endif  // RECSYS_SIMULATOR_POPULATION_H_
