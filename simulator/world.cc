#include "simulator/world.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/logs/logs.h"
#include "simulator/catalogue.h"
#include "simulator/ground_truth.h"
#include "simulator/ids.h"
#include "simulator/population.h"
#include "simulator/simulation.h"
#include "simulator/truth_writer.h"
#include "simulator/world_options.h"

namespace recsys {
namespace {

using world_internal::Catalogue;
using world_internal::GroundTruthWriter;
using world_internal::IdWidth;
using world_internal::PaddedId;
using world_internal::Population;
using world_internal::UserActivity;
using world_internal::UserSimulator;

// The world's pieces, wired: the catalogue, the population drawing on its
// topics, and the simulator drawing on both. Each piece draws from its own
// random streams, so the order of construction follows only the data.
class WorldGenerator {
 public:
  explicit WorldGenerator(const WorldOptions& options)
      : catalogue_(options),
        population_(options, catalogue_.tastes()),
        simulator_(options, catalogue_, population_) {}

  const Catalogue& catalogue() const { return catalogue_; }
  // The world's truth without its users.
  const GroundTruth& truth() const { return catalogue_.truth(); }

  // Makes and simulates user `u` (see `UserSimulator::SimulateUser`).
  void SimulateUser(int u, UserActivity* activity) {
    simulator_.SimulateUser(u, activity);
  }

 private:
  const Catalogue catalogue_;
  const Population population_;
  UserSimulator simulator_;
};

}  // namespace

absl::StatusOr<Logs> GenerateWorld(const WorldOptions& options,
                                   GroundTruth* truth) {
  if (absl::Status status = ValidateWorldOptions(options); !status.ok()) {
    return status;
  }
  WorldGenerator generator(options);
  Logs logs;
  const int num_videos = static_cast<int>(generator.truth().videos.size());
  logs.videos.reserve(num_videos);
  for (int v = 0; v < num_videos; ++v) {
    logs.videos.push_back(generator.catalogue().VideoRecordOf(v));
  }

  // Events keyed by (time, user) — unique, as one user does one thing at a
  // time — so that each file can be sorted by time.
  struct Timed {
    int64_t time_s;
    int user;
    size_t index;  // Into the per-kind list below.
  };
  auto by_time_then_user = [](const Timed& a, const Timed& b) {
    return std::tie(a.time_s, a.user) < std::tie(b.time_s, b.user);
  };
  std::vector<WatchRecord> watches;
  std::vector<SearchRecord> searches;
  std::vector<std::vector<ImpressionRecord>> pages;
  std::vector<Timed> watch_order, search_order, page_order;
  std::vector<GroundTruth::User> users;
  UserActivity activity;
  for (int u = 0; u < options.num_users; ++u) {
    generator.SimulateUser(u, &activity);
    logs.users.push_back(activity.record);
    users.push_back(activity.truth);
    for (WatchRecord& w : activity.watches) {
      watch_order.push_back({w.time_s, u, watches.size()});
      watches.push_back(std::move(w));
    }
    for (SearchRecord& q : activity.searches) {
      search_order.push_back({q.time_s, u, searches.size()});
      searches.push_back(std::move(q));
    }
    for (std::vector<ImpressionRecord>& rows : activity.pages) {
      page_order.push_back(
          {rows.empty() ? 0 : rows[0].time_s, u, pages.size()});
      pages.push_back(std::move(rows));
    }
  }
  std::sort(watch_order.begin(), watch_order.end(), by_time_then_user);
  std::sort(search_order.begin(), search_order.end(), by_time_then_user);
  std::sort(page_order.begin(), page_order.end(), by_time_then_user);
  logs.watches.reserve(watches.size());
  for (const Timed& w : watch_order) {
    logs.watches.push_back(std::move(watches[w.index]));
  }
  logs.searches.reserve(searches.size());
  for (const Timed& q : search_order) {
    logs.searches.push_back(std::move(searches[q.index]));
  }
  const int page_id_width = IdWidth(static_cast<int64_t>(pages.size()));
  for (size_t p = 0; p < page_order.size(); ++p) {
    const std::string page_id = PaddedId('p', p, page_id_width);
    for (ImpressionRecord& row : pages[page_order[p].index]) {
      row.page_id = page_id;
      logs.impressions.push_back(std::move(row));
    }
  }

  if (truth != nullptr) {
    *truth = generator.truth();
    truth->users = std::move(users);
  }
  return logs;
}

absl::StatusOr<WorldStats> StreamWorld(const WorldOptions& options,
                                       const std::string& dir,
                                       const std::string& truth_dir) {
  if (absl::Status status = ValidateWorldOptions(options); !status.ok()) {
    return status;
  }
  absl::StatusOr<std::unique_ptr<LogWriter>> logs = LogWriter::Create(dir);
  if (!logs.ok()) return logs.status();
  std::unique_ptr<GroundTruthWriter> truth_writer;
  if (!truth_dir.empty()) {
    absl::StatusOr<std::unique_ptr<GroundTruthWriter>> created =
        GroundTruthWriter::Create(truth_dir);
    if (!created.ok()) return created.status();
    truth_writer = *std::move(created);
  }

  WorldGenerator generator(options);
  const GroundTruth& truth = generator.truth();
  WorldStats stats;
  stats.series = static_cast<int64_t>(truth.series.size());
  if (truth_writer != nullptr) truth_writer->AddTopics(truth.topics);
  for (int v = 0; v < static_cast<int>(truth.videos.size()); ++v) {
    const VideoRecord record = generator.catalogue().VideoRecordOf(v);
    if (absl::Status status = (*logs)->Add(record); !status.ok()) {
      return status;
    }
    ++stats.videos;
    stats.viral_videos += truth.videos[v].viral;
    if (truth_writer != nullptr) {
      const int series = truth.videos[v].series;
      truth_writer->AddVideo(
          record.video_id,
          series < 0 ? "" : generator.catalogue().SeriesId(series),
          truth.videos[v], truth.topics);
    }
  }

  // Pages are numbered as written; no user has more pages than planned
  // steps, at most max(min_watches_per_user, max_watches_per_user).
  const int page_id_width = IdWidth(
      static_cast<int64_t>(options.num_users) *
      std::max(options.min_watches_per_user, options.max_watches_per_user));
  int64_t num_pages = 0;
  UserActivity activity;
  for (int u = 0; u < options.num_users; ++u) {
    generator.SimulateUser(u, &activity);
    absl::Status status = (*logs)->Add(activity.record);
    for (const WatchRecord& w : activity.watches) {
      if (status.ok()) status = (*logs)->Add(w);
    }
    for (const SearchRecord& q : activity.searches) {
      if (status.ok()) status = (*logs)->Add(q);
    }
    for (std::vector<ImpressionRecord>& rows : activity.pages) {
      const std::string page_id = PaddedId('p', num_pages++, page_id_width);
      for (ImpressionRecord& row : rows) {
        row.page_id = page_id;
        if (status.ok()) status = (*logs)->Add(row);
        stats.clicks += row.clicked;
      }
      stats.impressions += static_cast<int64_t>(rows.size());
    }
    if (!status.ok()) return status;
    ++stats.users;
    stats.watches += static_cast<int64_t>(activity.watches.size());
    stats.searches += static_cast<int64_t>(activity.searches.size());
    if (truth_writer != nullptr) {
      truth_writer->AddUser(activity.record.user_id, activity.truth,
                            truth.topics);
    }
  }
  absl::Status status = (*logs)->Finish();
  if (truth_writer != nullptr) {
    absl::Status truth_status = truth_writer->Finish();
    if (status.ok()) status = truth_status;
  }
  if (!status.ok()) return status;
  return stats;
}

}  // namespace recsys
