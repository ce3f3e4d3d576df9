#include "simulator/truth_writer.h"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/logs/logs.h"
#include "common/logs/csv_writer.h"
#include "simulator/ground_truth.h"
#include "simulator/ids.h"

namespace recsys {
namespace world_internal {
namespace {

std::string JoinPath(const std::string& dir, absl::string_view file) {
  return (std::filesystem::path(dir) / std::string(file)).string();
}

absl::Status CreateDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create directory ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<GroundTruthWriter>> GroundTruthWriter::Create(
    const std::string& dir) {
  if (absl::Status status = CreateDirectory(dir); !status.ok()) {
    return status;
  }
  std::unique_ptr<GroundTruthWriter> writer(new GroundTruthWriter);
  absl::StatusOr<std::unique_ptr<CsvFileWriter>> topics = CsvFileWriter::Create(
      JoinPath(dir, kTruthTopicsFileName), {"topic", "words"});
  if (!topics.ok()) return topics.status();
  writer->topics_ = *std::move(topics);
  absl::StatusOr<std::unique_ptr<CsvFileWriter>> users =
      CsvFileWriter::Create(JoinPath(dir, kTruthUserInterestsFileName),
                            {"user_id", "topic", "weight", "favourite_rank"});
  if (!users.ok()) return users.status();
  writer->users_ = *std::move(users);
  absl::StatusOr<std::unique_ptr<CsvFileWriter>> videos = CsvFileWriter::Create(
      JoinPath(dir, kTruthVideosFileName),
      {"video_id", "topic", "quality", "attractiveness", "clickbait",
       "base_popularity", "series_id", "episode", "viral", "viral_start_s",
       "viral_end_s"});
  if (!videos.ok()) return videos.status();
  writer->videos_ = *std::move(videos);
  absl::StatusOr<std::unique_ptr<CsvFileWriter>> user_rows =
      CsvFileWriter::Create(JoinPath(dir, kTruthUsersFileName),
                            {"user_id", "languages"});
  if (!user_rows.ok()) return user_rows.status();
  writer->user_rows_ = *std::move(user_rows);
  return writer;
}

void GroundTruthWriter::AddTopics(
    const std::vector<GroundTruth::Topic>& topics) {
  for (const GroundTruth::Topic& topic : topics) {
    topics_->Text(topic.name);
    topics_->Text(absl::StrJoin(topic.words, " "));
    topics_->EndRow();
  }
}

void GroundTruthWriter::AddUser(absl::string_view user_id,
                                const GroundTruth::User& user,
                                const std::vector<GroundTruth::Topic>& topics) {
  for (size_t t = 0; t < user.topic_interest.size(); ++t) {
    if (!(user.topic_interest[t] > 0)) continue;
    const auto favourite = std::find(user.favourite_topics.begin(),
                                     user.favourite_topics.end(), t);
    users_->Text(user_id);
    users_->Text(topics[t].name);
    users_->Float(static_cast<float>(user.topic_interest[t]));
    users_->Int(favourite == user.favourite_topics.end()
                    ? 0
                    : 1 + (favourite - user.favourite_topics.begin()));
    users_->EndRow();
  }
  user_rows_->Text(user_id);
  user_rows_->Text(absl::StrJoin(user.languages, "|"));
  user_rows_->EndRow();
}

void GroundTruthWriter::AddVideo(
    absl::string_view video_id, absl::string_view series_id,
    const GroundTruth::Video& video,
    const std::vector<GroundTruth::Topic>& topics) {
  videos_->Text(video_id);
  videos_->Text(topics[video.topic].name);
  videos_->Float(static_cast<float>(video.quality));
  videos_->Float(static_cast<float>(video.attractiveness));
  videos_->Bool(video.clickbait);
  videos_->Float(static_cast<float>(video.base_popularity));
  videos_->Text(series_id);
  videos_->Int(video.episode);
  videos_->Bool(video.viral);
  videos_->Int(video.viral_start_s);
  videos_->Int(video.viral_end_s);
  videos_->EndRow();
}

absl::Status GroundTruthWriter::Finish() {
  absl::Status status = absl::OkStatus();
  for (CsvFileWriter* file :
       {topics_.get(), users_.get(), videos_.get(), user_rows_.get()}) {
    absl::Status file_status = file->Finish();
    if (status.ok()) status = file_status;
  }
  return status;
}

}  // namespace world_internal

absl::Status WriteGroundTruth(const std::string& dir, const Logs& logs,
                              const GroundTruth& truth) {
  if (logs.users.size() != truth.users.size() ||
      logs.videos.size() != truth.videos.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WriteGroundTruth(", dir, "): the logs have ", logs.users.size(),
        " users and ", logs.videos.size(), " videos but the truth ",
        truth.users.size(), " and ", truth.videos.size()));
  }
  absl::StatusOr<std::unique_ptr<world_internal::GroundTruthWriter>> writer =
      world_internal::GroundTruthWriter::Create(dir);
  if (!writer.ok()) return writer.status();
  (*writer)->AddTopics(truth.topics);
  const int series_id_width = world_internal::IdWidth(truth.series.size());
  for (size_t v = 0; v < truth.videos.size(); ++v) {
    const int series = truth.videos[v].series;
    (*writer)->AddVideo(
        logs.videos[v].video_id,
        series < 0 ? ""
                   : world_internal::PaddedId('s', series, series_id_width),
        truth.videos[v], truth.topics);
  }
  for (size_t u = 0; u < truth.users.size(); ++u) {
    (*writer)->AddUser(logs.users[u].user_id, truth.users[u], truth.topics);
  }
  return (*writer)->Finish();
}

}  // namespace recsys
