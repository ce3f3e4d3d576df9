#ifndef RECSYS_SIMULATOR_SIMULATION_H_
#define RECSYS_SIMULATOR_SIMULATION_H_

// The simulated world's process: each user's activity over the window
// (organic watches, searches, pages shown by the logging policy and the
// clicks on them, series followed episode by episode), drawn from the
// user's activity stream of the seed. Private to //simulator.

#include <cstdint>
#include <string>
#include <vector>

#include "common/logs/logs.h"
#include "simulator/catalogue.h"
#include "simulator/ground_truth.h"
#include "simulator/population.h"
#include "simulator/world_options.h"

namespace recsys {
namespace world_internal {

// One user, made and simulated: their users.csv row, hidden tastes, and
// events, each kind in time order. Page rows have no `page_id` yet.
struct UserActivity {
  UserRecord record;
  GroundTruth::User truth;
  std::vector<WatchRecord> watches;
  std::vector<SearchRecord> searches;
  std::vector<std::vector<ImpressionRecord>> pages;
};

// Simulates users one at a time, each from their own random streams, so
// that users can be simulated and written one by one, in any order, with
// the same result. The constructor prepares what every user shares: the
// logging policy's per-day popular lists (a first pass over the
// population's tastes) and the prior of the users' watches per step (a
// pilot simulation of the first users). Memory: a few bytes per video, and
// one user. Not thread-safe (`SimulateUser` uses per-video scratch state);
// `catalogue` and `population` must outlive it.
class UserSimulator {
 public:
  UserSimulator(const WorldOptions& options, const Catalogue& catalogue,
                const Population& population);

  UserSimulator(const UserSimulator&) = delete;
  UserSimulator& operator=(const UserSimulator&) = delete;

  // Makes user `u` and simulates their activity into `activity` (cleared
  // first). Returns the number of steps the user took.
  int64_t SimulateUser(int u, UserActivity* activity);

 private:
  // The state of one user while their activity is simulated.
  struct UserState;

  // --- Logging policy.
  void MakePopularLists();
  bool PolicyAccepts(int video, UserState& s);
  std::vector<int> ComposePage(int64_t time_s, UserState& s);

  // --- Activity.
  void EstimateWatchesPerStep();
  double RelativeInterest(const UserState& s, int topic) const;
  bool Speaks(const UserState& s, int video) const;
  bool InLanguages(uint32_t mask, int video) const;
  bool AcceptOrganically(int video, UserState& s);
  double OrganicAcceptance(int video, const UserState& s) const;
  int SampleFromTopic(int topic, int64_t time_s, bool organic, UserState& s);
  int ChooseOrganicVideo(int64_t time_s, UserState& s);
  int DueEpisode(int64_t time_s, UserState& s);
  float WatchSeconds(int video, UserState& s);
  void EmitWatch(int video, int64_t time_s, float watch_seconds, UserState& s);
  int64_t WatchNow(int video, int64_t time_s, UserState& s);
  std::string Query(int video, UserState& s);
  double ClickProbability(int video, int position, const UserState& s) const;
  int64_t ShowPage(int64_t time_s, UserState& s);
  void Simulate(UserState& s);

  const WorldOptions options_;
  const Catalogue& catalogue_;
  const GroundTruth& truth_;
  const Population& population_;
  const int64_t start_s_;
  const int64_t end_s_;

  // Sum over users of their interest per topic.
  std::vector<double> population_interest_;
  // Per day of the window: the policy's popular videos and their weights.
  std::vector<std::vector<int>> popular_videos_;
  std::vector<std::vector<double>> popular_weights_;

  // Prior of each user's running mean of watches per step.
  double watches_per_step_prior_ = 1;

  // Per video: whether the user being simulated watched it.
  std::vector<char> watched_;
  std::vector<double> scratch_weights_;
  std::vector<int> active_virals_;
};

}  // namespace world_internal
}  // namespace recsys

#endif  // RECSYS_SIMULATOR_SIMULATION_H_
