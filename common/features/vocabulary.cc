#include "common/features/vocabulary.h"

#include <algorithm>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace recsys {

Vocabulary Vocabulary::FromCounts(
    const absl::flat_hash_map<std::string, int64_t>& counts, int max_size) {
  std::vector<std::pair<std::string, int64_t>> sorted;
  sorted.reserve(counts.size());
  for (const auto& [value, count] : counts) {
    if (!value.empty()) sorted.emplace_back(value, count);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (max_size > 0 && static_cast<int>(sorted.size()) > max_size) {
    sorted.resize(max_size);
  }
  std::vector<std::string> values;
  values.reserve(sorted.size());
  for (auto& [value, count] : sorted) values.push_back(std::move(value));
  return *FromValues(std::move(values));
}

absl::StatusOr<Vocabulary> Vocabulary::FromValues(
    std::vector<std::string> values) {
  Vocabulary v;
  v.index_.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].find('\n') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocabulary value ", i, " contains a newline"));
    }
    if (!v.index_.emplace(values[i], static_cast<int32_t>(i)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate vocabulary value '", values[i], "'"));
    }
  }
  v.values_ = std::move(values);
  return v;
}

absl::StatusOr<Vocabulary> Vocabulary::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<std::string> values;
  std::string line;
  while (std::getline(in, line)) values.push_back(line);
  absl::StatusOr<Vocabulary> v = FromValues(std::move(values));
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", v.status().message()));
  }
  return v;
}

absl::Status Vocabulary::Save(const std::string& path) const {
  std::ofstream out(path);
  for (const std::string& value : values_) out << value << '\n';
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

int32_t Vocabulary::Lookup(absl::string_view value) const {
  auto it = index_.find(value);
  return it == index_.end() ? kOov : it->second;
}

}  // namespace recsys
