#ifndef RECSYS_SIMULATOR_TRUTH_WRITER_H_
#define RECSYS_SIMULATOR_TRUTH_WRITER_H_

// The ground-truth files of a simulated world (truth_*.csv), written in
// the dialect of common/logs/logs.h next to (or apart from) its logs.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/logs/logs.h"
#include "common/logs/csv_writer.h"
#include "simulator/ground_truth.h"

namespace recsys {

// Ground-truth file names, written into one directory (they do not clash
// with the five log files, so it may be the logs' directory).
inline constexpr char kTruthTopicsFileName[] = "truth_topics.csv";
inline constexpr char kTruthUserInterestsFileName[] =
    "truth_user_interests.csv";
inline constexpr char kTruthVideosFileName[] = "truth_videos.csv";
inline constexpr char kTruthUsersFileName[] = "truth_users.csv";

// Writes `truth` (of the world whose logs are `logs`) as four CSV files
// into `dir` (created if missing), in the dialect of common/logs/logs.h:
//   truth_topics.csv          topic,words         (words space-separated)
//   truth_user_interests.csv  user_id,topic,weight,favourite_rank
//                             one row per topic with weight > 0
//   truth_users.csv           user_id,languages   (spoken languages,
//                             '|'-separated, the region's first: "hi|en")
//   truth_videos.csv          video_id,topic,quality,attractiveness,
//                             clickbait,base_popularity,series_id,episode,
//                             viral,viral_start_s,viral_end_s
// docs/data-format.md describes every column.
absl::Status WriteGroundTruth(const std::string& dir, const Logs& logs,
                              const GroundTruth& truth);

namespace world_internal {

// Writes the four truth files row by row, as the world is generated
// (`StreamWorld`): topics, then videos and users in any interleaving.
// Files appear (renamed from `name.tmp`) only on a successful `Finish`.
// Not thread-safe.
class GroundTruthWriter {
 public:
  // Creates `dir` if missing and opens the four files; InternalError if
  // either fails.
  static absl::StatusOr<std::unique_ptr<GroundTruthWriter>> Create(
      const std::string& dir);

  void AddTopics(const std::vector<GroundTruth::Topic>& topics);
  // `user`'s rows of truth_user_interests.csv and truth_users.csv.
  void AddUser(absl::string_view user_id, const GroundTruth::User& user,
               const std::vector<GroundTruth::Topic>& topics);
  // `series_id` is empty for a stand-alone video.
  void AddVideo(absl::string_view video_id, absl::string_view series_id,
                const GroundTruth::Video& video,
                const std::vector<GroundTruth::Topic>& topics);

  // Finishes every file; the first error, or OK.
  absl::Status Finish();

 private:
  GroundTruthWriter() = default;

  std::unique_ptr<CsvFileWriter> topics_;
  std::unique_ptr<CsvFileWriter> users_;
  std::unique_ptr<CsvFileWriter> videos_;
  // truth_users.csv: one row per user.
  std::unique_ptr<CsvFileWriter> user_rows_;
};

}  // namespace world_internal
}  // namespace recsys

#endif  // RECSYS_SIMULATOR_TRUTH_WRITER_H_
