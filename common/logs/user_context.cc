#include "common/logs/user_context.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace recsys {
namespace {

// The index range [begin, end) of the at most `max_events` latest events
// strictly before `time_s` in a time-sorted vector.
template <typename T>
std::pair<size_t, size_t> RecentBefore(const std::vector<T>& events, int64_t time_s,
                                       int max_events) {
  const size_t end =
      std::lower_bound(events.begin(), events.end(), time_s,
                       [](const T& e, int64_t t) { return e.time_s < t; }) -
      events.begin();
  const size_t max = static_cast<size_t>(std::max(max_events, 0));
  return {end > max ? end - max : 0, end};
}

}  // namespace

Gender ParseGender(const std::string& gender) {
  if (gender == "female" || gender == "F" || gender == "f") return GENDER_FEMALE;
  if (gender == "male" || gender == "M" || gender == "m") return GENDER_MALE;
  return GENDER_UNKNOWN;
}

UserHistories UserHistories::Build(const Logs& logs, const Options& options) {
  UserHistories h;
  h.options_ = options;
  auto history = [&h](const std::string& user_id) -> History& {
    auto [it, inserted] = h.histories_.try_emplace(user_id);
    if (inserted) {
      it->second.user.user_id = user_id;
      h.user_ids_.push_back(user_id);
    }
    return it->second;
  };
  for (const UserRecord& u : logs.users) history(u.user_id).user = u;
  for (const WatchRecord& w : logs.watches) history(w.user_id).watches.push_back(w);
  for (const SearchRecord& s : logs.searches) {
    history(s.user_id).searches.push_back(s);
  }
  for (const ImpressionRecord& i : logs.impressions) {
    history(i.user_id).impressions.push_back(i);
  }
  // One order per user: time, then the logs' own row order (the importers
  // write same-second rows in a documented order, e.g. MovieLens by numeric
  // movie ID), so that the split, training and evaluation agree on which
  // event came first.
  for (auto& [id, hist] : h.histories_) {
    std::stable_sort(hist.watches.begin(), hist.watches.end(),
                     [](const WatchRecord& a, const WatchRecord& b) {
                       return a.time_s < b.time_s;
                     });
    std::stable_sort(hist.searches.begin(), hist.searches.end(),
                     [](const SearchRecord& a, const SearchRecord& b) {
                       return a.time_s < b.time_s;
                     });
    std::stable_sort(hist.impressions.begin(), hist.impressions.end(),
                     [](const ImpressionRecord& a, const ImpressionRecord& b) {
                       return std::tie(a.time_s, a.position) < std::tie(b.time_s, b.position);
                     });
  }
  return h;
}

const std::vector<WatchRecord>& UserHistories::watches(
    const std::string& user_id) const {
  static const std::vector<WatchRecord>* const kEmpty =
      new std::vector<WatchRecord>();
  auto it = histories_.find(user_id);
  return it == histories_.end() ? *kEmpty : it->second.watches;
}

absl::StatusOr<UserContext> UserHistories::ContextAt(const std::string& user_id,
                                                     int64_t time_s) const {
  auto it = histories_.find(user_id);
  if (it == histories_.end()) {
    return absl::NotFoundError(
        absl::StrCat("user '", user_id, "' is not in the logs"));
  }
  const History& h = it->second;
  const size_t end = RecentBefore(h.watches, time_s, 0).second;
  return Context(h, end, time_s);
}

std::vector<UserContext> UserHistories::ContextsAfterLastWatch(int max_users) const {
  std::vector<UserContext> contexts;
  for (const std::string& user : user_ids_) {
    if (static_cast<int>(contexts.size()) >= max_users) break;
    const History& h = histories_.at(user);
    if (h.watches.empty()) continue;
    contexts.push_back(Context(h, h.watches.size(), h.watches.back().time_s + 1));
  }
  return contexts;
}

absl::StatusOr<UserContext> UserHistories::ContextBefore(const WatchRecord& target) const {
  auto it = histories_.find(target.user_id);
  if (it == histories_.end()) {
    return absl::NotFoundError(
        absl::StrCat("user '", target.user_id, "' is not in the logs"));
  }
  const History& h = it->second;
  // The target's place in the user's order: the first watch of the same
  // second and video; a watch not in the logs goes before its second.
  size_t end = RecentBefore(h.watches, target.time_s, 0).second;
  for (size_t i = end; i < h.watches.size() && h.watches[i].time_s == target.time_s; ++i) {
    if (h.watches[i].video_id == target.video_id) {
      end = i;
      break;
    }
  }
  return Context(h, end, target.time_s);
}

UserContext UserHistories::Context(const History& h, size_t watches_end,
                                   int64_t time_s) const {
  UserContext context;
  context.set_user_id(h.user.user_id);
  context.set_request_time_s(time_s);
  Demographics* d = context.mutable_demographics();
  d->set_region(h.user.region);
  d->set_device(h.user.device);
  d->set_gender(ParseGender(h.user.gender));
  d->set_age(h.user.age);
  d->set_logged_in(h.user.logged_in);
  d->set_language(h.user.language);

  const size_t max_watches = static_cast<size_t>(std::max(options_.max_watches, 0));
  const size_t begin = watches_end > max_watches ? watches_end - max_watches : 0;
  for (size_t i = begin; i < watches_end; ++i) {
    Watch* w = context.add_watches();
    w->set_video_id(h.watches[i].video_id);
    w->set_time_s(h.watches[i].time_s);
    w->set_watch_seconds(h.watches[i].watch_seconds);
  }
  auto [search_begin, search_end] = RecentBefore(h.searches, time_s, options_.max_searches);
  for (size_t i = search_begin; i < search_end; ++i) {
    SearchQuery* s = context.add_searches();
    s->set_query(h.searches[i].query);
    s->set_time_s(h.searches[i].time_s);
  }
  auto [imp_begin, imp_end] = RecentBefore(h.impressions, time_s, options_.max_impressions);
  for (size_t i = imp_begin; i < imp_end; ++i) {
    Impression* imp = context.add_impressions();
    imp->set_video_id(h.impressions[i].video_id);
    imp->set_time_s(h.impressions[i].time_s);
  }
  return context;
}

}  // namespace recsys
