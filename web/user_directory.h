#ifndef RECSYS_WEB_USER_DIRECTORY_H_
#define RECSYS_WEB_USER_DIRECTORY_H_

// The users a web page can pick and the catalogue it names videos from: one
// log directory (a world from simulator/world_gen, or imported logs; see
// docs/data-format.md), read once with `ReadLogs`.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/logs/logs.h"
#include "common/logs/user_context.h"
#include "proto/recsys.pb.h"

namespace recsys::web {

// Immutable after construction; every method is const and thread-safe.
class UserDirectory {
 public:
  // Reads `logs_dir` (every row checked; a malformed row is an error naming
  // its file and line).
  static absl::StatusOr<std::unique_ptr<UserDirectory>> Load(const std::string& logs_dir);
  // From logs already in memory (tests).
  explicit UserDirectory(const Logs& logs);

  // The request a real client sends for `user_id`, built as recsys_client
  // builds it: the user's events strictly before one second after their
  // last event of any kind (a user without events: after the logs' last
  // event), up to the services' request limits, with demographics from
  // users.csv. NotFound for a user not in the logs.
  absl::StatusOr<UserContext> ContextFor(const std::string& user_id) const;

  // Up to `limit` user IDs that contain `query` (ASCII case-insensitive; all
  // users for an empty query), in the logs' first-seen order; how many
  // match in all in `*total_matches` when given.
  std::vector<std::string> FindUsers(absl::string_view query, int limit,
                                     int* total_matches = nullptr) const;

  // The catalogue row of `video_id`; nullptr when the logs do not have it.
  const VideoRecord* FindVideo(absl::string_view video_id) const;

  int num_users() const { return static_cast<int>(histories_.user_ids().size()); }
  int num_videos() const { return static_cast<int>(videos_.size()); }

 private:
  UserHistories histories_;
  absl::flat_hash_map<std::string, VideoRecord> videos_;
  // Each user's last event (watch, search or impression), Unix seconds.
  absl::flat_hash_map<std::string, int64_t> last_event_s_;
  // The last event of anyone; 0 for logs without events.
  int64_t last_event_any_s_ = 0;
};

}  // namespace recsys::web

#endif  // RECSYS_WEB_USER_DIRECTORY_H_
