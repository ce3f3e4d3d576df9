#ifndef RECSYS_SIMULATOR_WORLD_H_
#define RECSYS_SIMULATOR_WORLD_H_

// A simulated video platform: a catalogue, a user population with hidden
// topic interests, and the logs those users leave (watches, searches, and
// impressions shown by a logging policy). The hidden truth is returned too,
// so tests can check that a model learns what the world is made of.
//
// Generation is a pure function of `WorldOptions`: the same options (seed
// included) give byte-identical logs on every run and machine. All
// randomness comes from std::mt19937_64 streams derived from `seed`, through
// distributions implemented in simulator/random.h (not
// std::*_distribution, whose output may differ between standard libraries).
//
// How the logs are made (docs/data-format.md has the full story):
//  - Each topic has a word list; a video has one main topic (its `topics`
//    column may add a second label), a channel, a language, a lognormal
//    duration, an intrinsic quality and an attractiveness in [0, 1], and an
//    upload time (some before the window, so the catalogue is never empty).
//    Some videos are clickbait (attractive, poor), some are episodes of a
//    series ("... (part 3)"), and a few go viral for a few days.
//  - Each user has 1-3 favourite topics that hold `favourite_interest_mass`
//    of their interest, chosen with tilts by region, age group and gender,
//    and speaks their region's language, sometimes English too. Videos in
//    other languages are rarely watched organically, and when shown they
//    are clicked less and watched for less (see the user model below).
//  - A user's activity is a time-ordered sequence of steps at times drawn
//    uniformly over the window (a step may yield several watches, so steps
//    are thinned at a constant per-user rate to keep the planned number of
//    watches: activity is the same from the first day to the last). At
//    each step the user either searches (1-3 words of the upcoming watch's
//    topic) and then watches, or is shown a page by the logging policy and
//    watches the clicked videos, or simply watches. An organic watch picks
//    a topic by interest, then an unwatched, already uploaded video of that
//    topic by a popularity that is Zipf-like within the topic, decays with
//    time since upload and jumps while the video is viral. Series are
//    entered at episode 1 and followed in order: after episode k the user
//    often watches k+1 next (right away if it is out, else once it is).
//    Nobody watches a video twice.
//  - Every clicked impression has exactly one watches.csv row (same user,
//    video and watch_seconds) starting a few seconds after the page; no
//    other watch comes from a page.
//
// Two ways to get a world: `GenerateWorld` returns it in memory (each file
// sorted by time; the small and medium presets), and `StreamWorld` writes
// it to disk user by user, holding the catalogue and one user's events
// (the large preset). Both make the same rows from the same options.
//
// This header is the public entry (//simulator:world); the API it brings
// in is in world_options.h (knobs, presets), ground_truth.h (the hidden
// truth), user_model.h (click and watch formulas) and truth_writer.h
// (truth_*.csv). The other pieces are libraries private to //simulator:
// random (seeded streams and distributions), demographics (regions,
// languages, devices, ages), ids, catalogue (topics, channels, videos,
// series, virality), population (users and their tastes) and simulation
// (each user's activity and the logging policy).

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/logs/logs.h"
#include "simulator/ground_truth.h"
#include "simulator/truth_writer.h"
#include "simulator/user_model.h"
#include "simulator/world_options.h"

namespace recsys {

// Generates the world described by `options`: videos (in upload order),
// users, and watches, searches and impressions (each sorted by time, then
// user; pages named in that order). Fills `truth` if not null.
// InvalidArgumentError for invalid options. Holds every event in memory:
// use `StreamWorld` for worlds with tens of millions of events.
absl::StatusOr<Logs> GenerateWorld(const WorldOptions& options,
                                   GroundTruth* truth = nullptr);

// What `StreamWorld` wrote.
struct WorldStats {
  int64_t videos = 0;
  int64_t users = 0;
  int64_t watches = 0;
  int64_t searches = 0;
  int64_t impressions = 0;
  int64_t clicks = 0;
  int64_t series = 0;
  int64_t viral_videos = 0;
};

// Generates the same world as `GenerateWorld(options)` and writes its five
// CSV files into `dir` (created if missing) as it goes, through
// common/logs' `LogWriter` (which checks every row as `ReadLogs` would),
// and its ground truth into `truth_dir` (see `WriteGroundTruth`) unless
// that is empty. The generator holds the catalogue and one user's events
// at a time, never all events. Row order differs from `GenerateWorld`'s:
// users.csv is in ID order, and watches, searches and impressions come user
// by user (in ID order), each user's in time order; pages are named in that
// order (`p` and a fixed number of digits). Files appear (renamed from
// `name.tmp`) only once everything is written. InvalidArgumentError for
// invalid options, InternalError when a file cannot be written.
// Memory: the generator needs ~250 bytes per video (0.24 GB for the large
// preset); `LogWriter` adds what its checks remember (every ID, and every
// page: ~3.6 GB for the large preset's ~9M pages).
absl::StatusOr<WorldStats> StreamWorld(const WorldOptions& options,
                                       const std::string& dir,
                                       const std::string& truth_dir = "");

}  // namespace recsys

#endif  // RECSYS_SIMULATOR_WORLD_H_
