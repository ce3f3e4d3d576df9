#include "simulator/simulation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/logs/logs.h"
#include "simulator/catalogue.h"
#include "simulator/demographics.h"
#include "simulator/ground_truth.h"
#include "simulator/population.h"
#include "simulator/random.h"
#include "simulator/user_model.h"
#include "simulator/world_options.h"

namespace recsys {
namespace world_internal {
namespace {

// The logging policy's "fresh" slots come from uploads this recent.
constexpr int64_t kFreshWindowS = 3 * kSecondsPerDay;
// Length of the per-day list of globally popular videos the policy draws
// its "popular" slots from.
constexpr int kPopularListSize = 100;
// Activity is planned inside [start, end - kEndReserveS), so the last
// steps (which run a few minutes to hours) still end inside the window.
constexpr int64_t kEndReserveS = kSecondsPerDay / 2;
// Draws from a topic's popularity that may hit already watched videos
// before an exact scan of the topic takes over; more for a user's own
// choice, which also rejects most videos in languages they do not speak.
constexpr int kTopicDrawAttempts = 16;
constexpr int kOrganicTopicDrawAttempts = 64;
// A user's running mean of watches per step starts from the world's mean,
// estimated on this many users, with the weight of this many steps.
constexpr int kPilotUsers = 300;
constexpr int kPriorSteps = 4;

// The index k in [0, n) with prefix[k] <= target < prefix[k + 1].
int PrefixIndex(const std::vector<double>& prefix, int n, double target) {
  const int k = static_cast<int>(
      std::upper_bound(prefix.begin(), prefix.begin() + n + 1, target) -
      prefix.begin() - 1);
  return std::clamp(k, 0, n - 1);
}

}  // namespace

// Which videos the user watched is in `watched_` (shared, reset after each
// user).
struct UserSimulator::UserState {
  int user = 0;
  std::string user_id;
  const GroundTruth::User* truth = nullptr;
  UserActivity* out = nullptr;
  Rng rng;
  // Spoken languages, a bit mask over `Languages()`.
  uint32_t languages = 0;
  // The stated one (users.csv), all the logging policy knows; same mask.
  uint32_t stated_language = 0;
  int last_topic = -1;
  int64_t num_watches = 0;
  std::vector<int> watched_list;
  // Next episodes the user means to watch, in the order decided.
  std::vector<int> pending_episodes;
  int64_t steps_taken = 0;
};

UserSimulator::UserSimulator(const WorldOptions& options,
                             const Catalogue& catalogue,
                             const Population& population)
    : options_(options),
      catalogue_(catalogue),
      truth_(catalogue.truth()),
      population_(population),
      start_s_(catalogue.start_s()),
      end_s_(catalogue.end_s()),
      population_interest_(population.InterestPerTopic()),
      watched_(options.num_videos, 0) {
  MakePopularLists();
  EstimateWatchesPerStep();
}

int64_t UserSimulator::SimulateUser(int u, UserActivity* activity) {
  activity->watches.clear();
  activity->searches.clear();
  activity->pages.clear();
  population_.MakeUser(u, &activity->record, &activity->truth);
  UserState s{u,
              activity->record.user_id,
              &activity->truth,
              activity,
              Rng(StreamSeed(options_.seed, kActivityStreamBase + u)),
              LanguageMask(activity->truth.languages),
              LanguageMask({activity->record.language}),
              /*last_topic=*/-1,
              /*num_watches=*/0,
              /*watched_list=*/{},
              /*pending_episodes=*/{}};
  Simulate(s);
  for (int v : s.watched_list) watched_[v] = 0;
  return s.steps_taken;
}

// Per day, the videos with the most expected watches at noon: the
// population's interest in the topic times the video's share of the
// topic's popularity then.
void UserSimulator::MakePopularLists() {
  const int n = static_cast<int>(truth_.videos.size());
  std::vector<double> popularity(n);
  std::vector<double> topic_total(options_.num_topics);
  std::vector<std::pair<double, int>> scored;
  for (int day = 0; day < options_.num_days; ++day) {
    const int64_t noon = start_s_ + day * kSecondsPerDay + kSecondsPerDay / 2;
    std::fill(topic_total.begin(), topic_total.end(), 0.0);
    for (int v = 0; v < n; ++v) {
      popularity[v] = truth_.PopularityAt(v, noon);
      topic_total[truth_.videos[v].topic] += popularity[v];
    }
    scored.clear();
    for (int v = 0; v < n; ++v) {
      if (popularity[v] > 0) {
        const int t = truth_.videos[v].topic;
        scored.push_back(
            {population_interest_[t] * popularity[v] / topic_total[t], v});
      }
    }
    const size_t keep = std::min<size_t>(scored.size(), kPopularListSize);
    std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(),
                      [](const auto& a, const auto& b) {
                        return std::tie(b.first, a.second) <
                               std::tie(a.first, b.second);
                      });
    std::vector<int> list;
    std::vector<double> weights;
    for (size_t i = 0; i < keep; ++i) {
      list.push_back(scored[i].second);
      weights.push_back(scored[i].first);
    }
    popular_videos_.push_back(std::move(list));
    popular_weights_.push_back(std::move(weights));
  }
}

// The prior of every user's running mean of watches per step (see
// `Simulate`): the mean over a pilot of the first users, simulated with a
// prior of 1. Without it, each user's first steps would be taken too
// often, and activity would be higher on the first days.
void UserSimulator::EstimateWatchesPerStep() {
  watches_per_step_prior_ = 1;
  const int pilot = std::min(options_.num_users, kPilotUsers);
  int64_t watches = 0;
  int64_t steps = 0;
  UserActivity activity;
  for (int u = 0; u < pilot; ++u) {
    steps += SimulateUser(u, &activity);
    watches += static_cast<int64_t>(activity.watches.size());
  }
  if (steps > 0) {
    watches_per_step_prior_ =
        std::max(1.0, static_cast<double>(watches) / steps);
  }
}

double UserSimulator::RelativeInterest(const UserState& s, int topic) const {
  return s.truth->topic_interest[topic] /
         s.truth->topic_interest[s.truth->favourite_topics[0]];
}

// Whether the user speaks the video's language.
bool UserSimulator::Speaks(const UserState& s, int video) const {
  return InLanguages(s.languages, video);
}

// Whether the video's language (its channel's) is in `mask`, a bit mask
// over `Languages()`.
bool UserSimulator::InLanguages(uint32_t mask, int video) const {
  return (mask >> catalogue_.language_index(video)) & 1u;
}

// Whether the logging policy puts a drawn video on the user's page: in
// the stated language always, else with
// `policy_foreign_language_acceptance`.
bool UserSimulator::PolicyAccepts(int video, UserState& s) {
  return InLanguages(s.stated_language, video) ||
         s.rng.Bernoulli(options_.policy_foreign_language_acceptance);
}

// Whether an organic watch may pick the video (already unwatched and
// drawn by popularity): always in a language the user speaks, else with
// probability `foreign_language_organic_acceptance`.
bool UserSimulator::AcceptOrganically(int video, UserState& s) {
  return Speaks(s, video) ||
         s.rng.Bernoulli(options_.foreign_language_organic_acceptance);
}

// The weight factor that `AcceptOrganically` amounts to.
double UserSimulator::OrganicAcceptance(int video, const UserState& s) const {
  return Speaks(s, video) ? 1.0 : options_.foreign_language_organic_acceptance;
}

// An unwatched organic video of `topic` uploaded by `time_s`, by
// popularity then (for the user's own choice, `organic`, times
// `OrganicAcceptance`); -1 if there is none. Draws from the prefix sums
// and the active viral videos, redrawing watched (and rejected) ones a
// few times, then scans the topic exactly.
int UserSimulator::SampleFromTopic(int topic, int64_t time_s, bool organic,
                                   UserState& s) {
  const TopicIndex& index = catalogue_.topic_index(topic);
  const std::vector<int>& members = index.organic;
  const auto uploaded_before = [&](int64_t t, int v) {
    return t < catalogue_.upload_time_s(v);
  };
  const int n =
      static_cast<int>(std::upper_bound(members.begin(), members.end(), time_s,
                                        uploaded_before) -
                       members.begin());
  if (n == 0) return -1;
  const double evergreen_share = options_.evergreen_popularity;
  const double evergreen = evergreen_share * index.evergreen_prefix[n];
  const double decay_scale =
      (1 - evergreen_share) * std::exp2(static_cast<double>(end_s_ - time_s) /
                                        truth_.popularity_half_life_s);
  const double decay = decay_scale * index.decay_prefix[n];
  active_virals_.clear();
  const std::vector<int>& virals = index.virals;
  const auto viral_before = [&](int64_t t, int v) {
    return t < truth_.videos[v].viral_start_s;
  };
  // Active: started in (time_s - duration, time_s].
  for (auto it =
           std::upper_bound(virals.begin(), virals.end(),
                            time_s - catalogue_.ViralDurationS(), viral_before);
       it != virals.end() && truth_.videos[*it].viral_start_s <= time_s; ++it) {
    active_virals_.push_back(*it);
  }
  const double viral =
      options_.viral_popularity * static_cast<double>(active_virals_.size());
  const double total = evergreen + decay + viral;
  if (!(total > 0)) return -1;
  const int attempts = organic ? kOrganicTopicDrawAttempts : kTopicDrawAttempts;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    double x = s.rng.Uniform() * total;
    int v;
    if (x < evergreen) {
      v = members[PrefixIndex(index.evergreen_prefix, n, x / evergreen_share)];
    } else if ((x -= evergreen) < decay || active_virals_.empty()) {
      v = members[PrefixIndex(index.decay_prefix, n, x / decay_scale)];
    } else {
      const size_t k =
          static_cast<size_t>((x - decay) / options_.viral_popularity);
      v = active_virals_[std::min(k, active_virals_.size() - 1)];
    }
    if (!watched_[v] && (!organic || AcceptOrganically(v, s))) return v;
  }
  scratch_weights_.assign(n, 0);
  for (int k = 0; k < n; ++k) {
    if (!watched_[members[k]]) {
      scratch_weights_[k] = truth_.PopularityAt(members[k], time_s) *
                            (organic ? OrganicAcceptance(members[k], s) : 1.0);
    }
  }
  const int k = s.rng.Discrete(scratch_weights_);
  return k < 0 ? -1 : members[k];
}

// What the user watches of their own accord at `time_s`: a topic by
// interest, then a video in it by popularity. -1 if nothing is left.
int UserSimulator::ChooseOrganicVideo(int64_t time_s, UserState& s) {
  constexpr int kTopicAttempts = 8;
  for (int attempt = 0; attempt < kTopicAttempts; ++attempt) {
    const int v = SampleFromTopic(s.rng.Discrete(s.truth->topic_interest),
                                  time_s, /*organic=*/true, s);
    if (v >= 0) return v;
  }
  // Every likely topic is exhausted: anything uploaded, by popularity
  // (and language, unless only unacceptable videos are left).
  const int num_uploaded = catalogue_.NumUploadedBy(time_s);
  for (const bool by_language : {true, false}) {
    scratch_weights_.assign(num_uploaded, 0);
    for (int v = 0; v < num_uploaded; ++v) {
      if (!watched_[v]) {
        scratch_weights_[v] = s.truth->topic_interest[truth_.videos[v].topic] *
                              truth_.PopularityAt(v, time_s) *
                              (by_language ? OrganicAcceptance(v, s) : 1.0);
      }
    }
    const int v = s.rng.Discrete(scratch_weights_);
    if (v >= 0) return v;
  }
  return -1;
}

// A pending next episode uploaded by `time_s` (the earliest decided),
// removed from the pending list; -1 if none. Drops watched ones.
int UserSimulator::DueEpisode(int64_t time_s, UserState& s) {
  std::vector<int>& pending = s.pending_episodes;
  pending.erase(std::remove_if(pending.begin(), pending.end(),
                               [&](int v) { return watched_[v] != 0; }),
                pending.end());
  for (auto it = pending.begin(); it != pending.end(); ++it) {
    if (catalogue_.upload_time_s(*it) <= time_s) {
      const int v = *it;
      pending.erase(it);
      return v;
    }
  }
  return -1;
}

float UserSimulator::WatchSeconds(int video, UserState& s) {
  const GroundTruth::Video& v = truth_.videos[video];
  const double fraction =
      WorldWatchFraction(options_, RelativeInterest(s, v.topic), v.quality,
                         Speaks(s, video), s.rng.Normal());
  const double seconds = catalogue_.duration_s(video) * fraction;
  return static_cast<float>(std::round(seconds * 10) / 10);
}

// Records the watch; after a series episode, the user may decide to
// watch the next one.
void UserSimulator::EmitWatch(int video, int64_t time_s, float watch_seconds,
                              UserState& s) {
  watched_[video] = 1;
  s.watched_list.push_back(video);
  const GroundTruth::Video& v = truth_.videos[video];
  s.last_topic = v.topic;
  ++s.num_watches;
  s.out->watches.push_back(
      {s.user_id, catalogue_.VideoId(video), time_s, watch_seconds});
  if (v.series >= 0 &&
      v.episode < static_cast<int>(truth_.series[v.series].size())) {
    const int next = truth_.series[v.series][v.episode];
    if (!watched_[next] &&
        s.rng.Bernoulli(options_.series_continue_probability)) {
      s.pending_episodes.push_back(next);
    }
  }
}

// Watches `video` at `time_s`; returns when the watch ends.
int64_t UserSimulator::WatchNow(int video, int64_t time_s, UserState& s) {
  const float seconds = WatchSeconds(video, s);
  EmitWatch(video, time_s, seconds, s);
  return time_s + static_cast<int64_t>(std::ceil(seconds));
}

// 1-3 distinct words of the video's topic, each from its title with
// probability 1/2.
std::string UserSimulator::Query(int video, UserState& s) {
  const TitleSpec& title = catalogue_.title(video);
  const std::vector<std::string>& vocabulary =
      truth_.topics[truth_.videos[video].topic].words;
  const size_t num_words = static_cast<size_t>(s.rng.UniformInt(1, 3));
  std::vector<std::string> words;
  for (int attempt = 0; attempt < 20 && words.size() < num_words; ++attempt) {
    const std::string& word =
        s.rng.Bernoulli(0.5)
            ? vocabulary[title.words[s.rng.UniformInt(title.num_words)]]
            : vocabulary[s.rng.UniformInt(vocabulary.size())];
    if (std::find(words.begin(), words.end(), word) == words.end()) {
      words.push_back(word);
    }
  }
  return absl::StrJoin(words, " ");
}

// The logging policy's page for the user at `time_s`: popular, fresh and
// same-topic slots (as many as it can fill with unwatched, distinct,
// uploaded videos), shuffled.
std::vector<int> UserSimulator::ComposePage(int64_t time_s, UserState& s) {
  const int size = options_.page_size;
  const int num_popular =
      static_cast<int>(std::lround(size * options_.page_popular_fraction));
  const int num_fresh = std::min<int>(
      size - num_popular,
      static_cast<int>(std::lround(size * options_.page_fresh_fraction)));
  const int day = static_cast<int>(std::min<int64_t>(
      options_.num_days - 1, (time_s - start_s_) / kSecondsPerDay));
  const int num_uploaded = catalogue_.NumUploadedBy(time_s);
  const int fresh_begin = catalogue_.NumUploadedBy(time_s - kFreshWindowS);

  std::vector<int> page;
  auto usable = [&](int v) {
    return v >= 0 && v < num_uploaded && !watched_[v] &&
           std::find(page.begin(), page.end(), v) == page.end();
  };
  enum Source { kPopular, kFresh, kSameTopic };
  auto draw = [&](Source source) -> int {
    switch (source) {
      case kPopular: {
        const int k = s.rng.Discrete(popular_weights_[day]);
        return k < 0 ? -1 : popular_videos_[day][k];
      }
      case kFresh:
        if (fresh_begin >= num_uploaded) return -1;
        return fresh_begin +
               static_cast<int>(s.rng.UniformInt(num_uploaded - fresh_begin));
      case kSameTopic:
        if (s.last_topic < 0) return -1;
        return SampleFromTopic(s.last_topic, time_s, /*organic=*/false, s);
    }
    return -1;
  };
  constexpr int kAttemptsPerSlot = 10;
  for (int slot = 0; slot < size; ++slot) {
    const Source wanted = slot < num_popular               ? kPopular
                          : slot < num_popular + num_fresh ? kFresh
                                                           : kSameTopic;
    int chosen = -1;
    for (int attempt = 0; attempt < kAttemptsPerSlot && chosen < 0; ++attempt) {
      // Half of the retries fall back to the popular list.
      const int v = draw(attempt < kAttemptsPerSlot / 2 ? wanted : kPopular);
      if (usable(v) && PolicyAccepts(v, s)) chosen = v;
    }
    for (int attempt = 0; attempt < kAttemptsPerSlot && chosen < 0; ++attempt) {
      if (num_uploaded == 0) break;
      const int v = static_cast<int>(s.rng.UniformInt(num_uploaded));
      if (usable(v)) chosen = v;
    }
    if (chosen >= 0) page.push_back(chosen);
  }
  s.rng.Shuffle(&page);
  return page;
}

double UserSimulator::ClickProbability(int video, int position,
                                       const UserState& s) const {
  const GroundTruth::Video& v = truth_.videos[video];
  return WorldClickProbability(
      options_, RelativeInterest(s, v.topic), v.attractiveness, position,
      Speaks(s, video),
      /*unfollowed_episode=*/v.episode > 1 &&
          !watched_[truth_.series[v.series][v.episode - 2]]);
}

// Shows a page at `time_s`; the clicked videos are then watched one
// after the other, a few seconds apart. A click whose watch would start
// after the window is dropped (the impression becomes unclicked), so that
// every clicked impression has its watch. Returns the end of the last
// watch, or `time_s` if none.
int64_t UserSimulator::ShowPage(int64_t time_s, UserState& s) {
  const std::vector<int> videos = ComposePage(time_s, s);
  std::vector<ImpressionRecord> rows;
  for (int position = 0; position < static_cast<int>(videos.size());
       ++position) {
    const int v = videos[position];
    ImpressionRecord row;
    row.user_id = s.user_id;
    row.time_s = time_s;
    row.position = position;
    row.video_id = catalogue_.VideoId(v);
    row.clicked = s.rng.Bernoulli(ClickProbability(v, position, s));
    if (row.clicked) row.watch_seconds = WatchSeconds(v, s);
    rows.push_back(std::move(row));
  }

  int64_t t = time_s;
  for (int position = 0; position < static_cast<int>(videos.size());
       ++position) {
    ImpressionRecord& row = rows[position];
    if (!row.clicked) continue;
    const int64_t watch_time = t + s.rng.UniformInt(2, 10);
    if (watch_time >= end_s_) {
      row.clicked = false;
      row.watch_seconds = 0;
      continue;
    }
    EmitWatch(videos[position], watch_time, row.watch_seconds, s);
    t = watch_time + static_cast<int64_t>(std::ceil(row.watch_seconds));
  }
  s.out->pages.push_back(std::move(rows));
  return t;
}

// Plans the user's steps: a heavy-tailed number with mean
// `mean_watches_per_user`, at times uniform over the window (less the
// end reserve). Every step yields at least one watch, and some several
// (a page with several clicks, next episodes watched right away), so
// each step is taken with probability 1/m, m the user's running mean of
// watches per step taken (starting from the world's, weighted as
// `kPriorSteps` steps): the expected watches stay about the planned
// number, and the steps taken stay uniform over the window.
// A step is never skipped when the steps left after it could not bring
// the user to `min_watches_per_user`, and the user stops at
// `max_watches_per_user`. Pages are at most steps taken, so no user has
// more pages than the maximum planned count.
void UserSimulator::Simulate(UserState& s) {
  const double sigma = options_.watches_log_sigma;
  const double mu =
      std::log(options_.mean_watches_per_user) - sigma * sigma / 2;
  const int64_t min_watches = options_.min_watches_per_user;
  const int64_t max_watches =
      std::max(options_.min_watches_per_user, options_.max_watches_per_user);
  const int64_t planned = std::clamp<int64_t>(
      std::llround(s.rng.LogNormal(mu, sigma)), min_watches, max_watches);
  const int64_t plan_end =
      std::max(start_s_ + 1,
               end_s_ - std::min<int64_t>(kEndReserveS, end_s_ - start_s_ - 1));
  std::vector<int64_t> step_times(planned);
  for (int64_t& t : step_times) {
    t = start_s_ + s.rng.UniformInt(plan_end - start_s_);
  }
  std::sort(step_times.begin(), step_times.end());

  int64_t free_at = start_s_;  // When the user is done with the last step.
  size_t next_step = 0;
  int64_t& steps_taken = s.steps_taken;
  // The next step to take, or -1 when none is left.
  auto take_step = [&]() -> int64_t {
    while (next_step < step_times.size()) {
      const int64_t step_time = step_times[next_step++];
      const int64_t steps_left =
          static_cast<int64_t>(step_times.size() - next_step);
      const double watches_per_step =
          (static_cast<double>(s.num_watches) +
           kPriorSteps * watches_per_step_prior_) /
          static_cast<double>(steps_taken + kPriorSteps);
      const bool may_skip = s.num_watches + steps_left >= min_watches;
      if (may_skip && watches_per_step > 1 &&
          !s.rng.Bernoulli(1 / watches_per_step)) {
        continue;
      }
      ++steps_taken;
      return step_time;
    }
    return -1;
  };
  while (s.num_watches < max_watches) {
    // A next episode that is out is watched right away; otherwise the
    // next step taken, which may be an episode that came out since.
    int64_t t = free_at;
    int episode = DueEpisode(t, s);
    if (episode < 0) {
      const int64_t step_time = take_step();
      if (step_time < 0) break;
      t = std::max(step_time, free_at);
      episode = DueEpisode(t, s);
    }
    if (t >= end_s_) break;
    int64_t done = t;
    if (episode >= 0) {
      done = WatchNow(episode, t, s);
    } else if (s.rng.Bernoulli(options_.search_probability)) {
      const int64_t watch_time = t + s.rng.UniformInt(10, 180);
      const int v = ChooseOrganicVideo(watch_time, s);
      if (v < 0 || watch_time >= end_s_) break;
      s.out->searches.push_back({s.user_id, t, Query(v, s)});
      done = WatchNow(v, watch_time, s);
    } else if (s.rng.Bernoulli(options_.page_probability)) {
      const int64_t before = s.num_watches;
      done = ShowPage(t, s);
      if (s.num_watches == before) {  // Nothing clicked: watch organically.
        const int64_t watch_time = t + s.rng.UniformInt(5, 60);
        const int v = ChooseOrganicVideo(watch_time, s);
        if (v < 0 || watch_time >= end_s_) break;
        done = WatchNow(v, watch_time, s);
      }
    } else {
      const int v = ChooseOrganicVideo(t, s);
      if (v < 0) break;
      done = WatchNow(v, t, s);
    }
    free_at = done + s.rng.UniformInt(5, 120);
  }
}

}  // namespace world_internal
}  // namespace recsys
