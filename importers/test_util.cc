#include "importers/test_util.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace recsys::testing {

std::vector<std::string> Lines(const std::vector<VideoRecord>& videos) {
  std::vector<std::string> out;
  for (const VideoRecord& v : videos) {
    out.push_back(absl::StrCat(v.video_id, "|", v.title, "|", v.channel_id, "|",
                               v.topics, "|", v.language, "|", v.upload_time_s,
                               "|", v.duration_s));
  }
  return out;
}

std::vector<std::string> Lines(const std::vector<UserRecord>& users) {
  std::vector<std::string> out;
  for (const UserRecord& u : users) {
    out.push_back(absl::StrCat(u.user_id, "|", u.region, "|", u.device, "|",
                               u.gender, "|", u.age, "|", u.logged_in, "|",
                               u.language));
  }
  return out;
}

std::vector<std::string> Lines(const std::vector<WatchRecord>& watches) {
  std::vector<std::string> out;
  for (const WatchRecord& w : watches) {
    out.push_back(absl::StrCat(w.user_id, "|", w.video_id, "|", w.time_s, "|",
                               w.watch_seconds));
  }
  return out;
}

std::vector<std::string> Lines(const std::vector<SearchRecord>& searches) {
  std::vector<std::string> out;
  for (const SearchRecord& s : searches) {
    out.push_back(absl::StrCat(s.user_id, "|", s.time_s, "|", s.query));
  }
  return out;
}

std::vector<std::string> Lines(const std::vector<ImpressionRecord>& rows) {
  std::vector<std::string> out;
  for (const ImpressionRecord& r : rows) {
    out.push_back(absl::StrCat(r.user_id, "|", r.page_id, "|", r.time_s, "|",
                               r.position, "|", r.video_id, "|", r.clicked, "|",
                               r.watch_seconds));
  }
  return out;
}

std::vector<std::string> Lines(const Logs& logs) {
  std::vector<std::string> out;
  auto add = [&out](absl::string_view table,
                    const std::vector<std::string>& lines) {
    for (const std::string& line : lines) {
      out.push_back(absl::StrCat(table, ": ", line));
    }
  };
  add("videos", Lines(logs.videos));
  add("users", Lines(logs.users));
  add("watches", Lines(logs.watches));
  add("searches", Lines(logs.searches));
  add("impressions", Lines(logs.impressions));
  return out;
}

std::string CopyFixtureWith(const std::string& fixture,
                            const std::map<std::string, std::string>& files) {
  static int counter = 0;
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat(std::filesystem::path(fixture).filename().string(), "_",
                   counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::copy(fixture, dir, std::filesystem::copy_options::recursive);
  for (const auto& [name, contents] : files) {
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out << contents;
  }
  return dir.string();
}

}  // namespace recsys::testing
