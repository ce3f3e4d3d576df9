#include "simulator/simulation.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/logs/logs.h"
#include "gtest/gtest.h"
#include "simulator/catalogue.h"
#include "simulator/population.h"
#include "simulator/world_options.h"

namespace recsys {
namespace world_internal {
namespace {

// One line per watch, search and impression of a user.
std::vector<std::string> Events(const UserActivity& activity) {
  std::vector<std::string> events;
  for (const WatchRecord& w : activity.watches) {
    events.push_back(w.video_id + " " + std::to_string(w.time_s) + " " +
                     std::to_string(w.watch_seconds));
  }
  for (const SearchRecord& q : activity.searches) {
    events.push_back(q.query + " " + std::to_string(q.time_s));
  }
  for (const std::vector<ImpressionRecord>& page : activity.pages) {
    for (const ImpressionRecord& row : page) {
      events.push_back(row.video_id + " " + std::to_string(row.time_s) + " " +
                       std::to_string(row.position) + " " +
                       std::to_string(row.clicked));
    }
  }
  return events;
}

class SimulationTest : public ::testing::Test {
 protected:
  SimulationTest()
      : options_(TinyWorldOptions()),
        catalogue_(options_),
        population_(options_, catalogue_.tastes()) {}

  const WorldOptions options_;
  const Catalogue catalogue_;
  const Population population_;
};

TEST_F(SimulationTest, UsersCanBeSimulatedInAnyOrder) {
  UserSimulator forward(options_, catalogue_, population_);
  UserSimulator backward(options_, catalogue_, population_);
  std::vector<std::vector<std::string>> forward_events;
  UserActivity activity;
  for (int u = 0; u < 20; ++u) {
    forward.SimulateUser(u, &activity);
    forward_events.push_back(Events(activity));
  }
  for (int u = 19; u >= 0; --u) {
    backward.SimulateUser(u, &activity);
    EXPECT_EQ(Events(activity), forward_events[u]) << "user " << u;
  }
}

TEST_F(SimulationTest, EventsAreOrderedInTheWindowAndClicksAreWatched) {
  UserSimulator simulator(options_, catalogue_, population_);
  UserActivity activity;
  int64_t clicks = 0;
  for (int u = 0; u < options_.num_users; ++u) {
    const int64_t steps = simulator.SimulateUser(u, &activity);
    EXPECT_GE(steps, static_cast<int64_t>(activity.pages.size()));
    EXPECT_LE(static_cast<int>(activity.watches.size()),
              options_.max_watches_per_user);
    std::set<std::string> watched;
    for (size_t i = 0; i < activity.watches.size(); ++i) {
      const WatchRecord& w = activity.watches[i];
      EXPECT_EQ(w.user_id, activity.record.user_id);
      EXPECT_GE(w.time_s, catalogue_.start_s());
      EXPECT_LT(w.time_s, catalogue_.end_s());
      if (i > 0) EXPECT_GT(w.time_s, activity.watches[i - 1].time_s);
      EXPECT_TRUE(watched.insert(w.video_id).second) << "watched twice";
    }
    for (const std::vector<ImpressionRecord>& page : activity.pages) {
      ASSERT_FALSE(page.empty());
      EXPECT_LE(static_cast<int>(page.size()), options_.page_size);
      for (const ImpressionRecord& row : page) {
        EXPECT_EQ(row.time_s, page[0].time_s);
        EXPECT_TRUE(row.page_id.empty());
        if (!row.clicked) continue;
        ++clicks;
        EXPECT_EQ(watched.count(row.video_id), 1u) << row.video_id;
      }
    }
  }
  EXPECT_GT(clicks, 0);
}

}  // namespace
}  // namespace world_internal
}  // namespace recsys
