#ifndef RECSYS_COMMON_LOGS_USER_CONTEXT_H_
#define RECSYS_COMMON_LOGS_USER_CONTEXT_H_

// Builds the request-time `UserContext` of a user from logs, as of a moment:
// the same message a client sends to the services. The trainer builds its
// examples through this too (rollback: only events strictly before the
// label's time), so training inputs and serving inputs are one thing.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/logs/logs.h"
#include "proto/recsys.pb.h"

namespace recsys {

// Per-user event streams in one order: by time, and events of the same
// second in the logs' row order (impressions: by position); immutable after
// `Build`; const methods are thread-safe.
class UserHistories {
 public:
  struct Options {
    // Most recent events of each kind copied into a context.
    int max_watches = 50;
    int max_searches = 50;
    int max_impressions = 100;
  };

  static UserHistories Build(const Logs& logs, const Options& options);
  static UserHistories Build(const Logs& logs) { return Build(logs, Options()); }

  // The user's context as of `time_s`: demographics, and the most recent
  // events strictly before `time_s`. `request_time_s` is set to `time_s`.
  // NotFound for a user with no users.csv row and no events.
  absl::StatusOr<UserContext> ContextAt(const std::string& user_id,
                                        int64_t time_s) const;

  // The context just before the watch `target` in the user's order (the
  // evaluation protocol's input for a held-out watch): every earlier watch,
  // including those of the same second that come before it, then the most
  // recent `max_watches`; searches and impressions strictly before its
  // second. `request_time_s` is the target's time. A target that is not in
  // the logs goes before every watch of its second.
  absl::StatusOr<UserContext> ContextBefore(const WatchRecord& target) const;

  // The context just after each user's last watch (`ContextAt` one second
  // later), for the first `max_users` users with a watch in first-seen
  // order: what a load test or a benchmark sends.
  std::vector<UserContext> ContextsAfterLastWatch(int max_users) const;

  // Users in first-seen order.
  const std::vector<std::string>& user_ids() const { return user_ids_; }
  // The user's watches in order (time, then row order). Empty when unknown.
  const std::vector<WatchRecord>& watches(const std::string& user_id) const;

 private:
  struct History {
    UserRecord user;
    std::vector<WatchRecord> watches;
    std::vector<SearchRecord> searches;
    std::vector<ImpressionRecord> impressions;
  };
  // The context of `h` with watches [.., `watches_end`) as of `time_s`.
  UserContext Context(const History& h, size_t watches_end, int64_t time_s) const;

  Options options_;
  std::vector<std::string> user_ids_;
  absl::flat_hash_map<std::string, History> histories_;
};

// Converts a users.csv gender string ("female", "male", "") to the API enum.
Gender ParseGender(const std::string& gender);

}  // namespace recsys

#endif  // RECSYS_COMMON_LOGS_USER_CONTEXT_H_
