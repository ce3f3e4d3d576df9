#include "web/user_directory.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/grpc/request_validation.h"

namespace recsys::web {
namespace {

// Every event a request may carry (common/grpc/request_validation.h), as
// recsys_client sends: nothing the user watched is recommended again.
UserHistories::Options RequestLimits() {
  UserHistories::Options limits;
  limits.max_watches = kMaxWatches;
  limits.max_searches = kMaxSearches;
  limits.max_impressions = kMaxImpressions;
  return limits;
}

}  // namespace

absl::StatusOr<std::unique_ptr<UserDirectory>> UserDirectory::Load(const std::string& logs_dir) {
  absl::StatusOr<Logs> logs = ReadLogs(logs_dir);
  if (!logs.ok()) return logs.status();
  return std::make_unique<UserDirectory>(*logs);
}

UserDirectory::UserDirectory(const Logs& logs)
    : histories_(UserHistories::Build(logs, RequestLimits())) {
  for (const VideoRecord& video : logs.videos) videos_.emplace(video.video_id, video);
  auto see = [this](const std::string& user_id, int64_t time_s) {
    auto [it, inserted] = last_event_s_.emplace(user_id, time_s);
    if (!inserted) it->second = std::max(it->second, time_s);
    last_event_any_s_ = std::max(last_event_any_s_, time_s);
  };
  for (const WatchRecord& w : logs.watches) see(w.user_id, w.time_s);
  for (const SearchRecord& s : logs.searches) see(s.user_id, s.time_s);
  for (const ImpressionRecord& i : logs.impressions) see(i.user_id, i.time_s);
}

absl::StatusOr<UserContext> UserDirectory::ContextFor(const std::string& user_id) const {
  auto it = last_event_s_.find(user_id);
  const int64_t last_s = it == last_event_s_.end() ? last_event_any_s_ : it->second;
  return histories_.ContextAt(user_id, last_s + 1);
}

std::vector<std::string> UserDirectory::FindUsers(absl::string_view query, int limit,
                                                 int* total_matches) const {
  std::vector<std::string> found;
  int matches = 0;
  const std::string needle = absl::AsciiStrToLower(query);
  for (const std::string& user_id : histories_.user_ids()) {
    if (!absl::StrContains(absl::AsciiStrToLower(user_id), needle)) continue;
    ++matches;
    if (static_cast<int>(found.size()) < limit) found.push_back(user_id);
  }
  if (total_matches != nullptr) *total_matches = matches;
  return found;
}

const VideoRecord* UserDirectory::FindVideo(absl::string_view video_id) const {
  auto it = videos_.find(video_id);
  return it == videos_.end() ? nullptr : &it->second;
}

}  // namespace recsys::web
