#ifndef RECSYS_COMMON_FEATURES_VOCABULARY_H_
#define RECSYS_COMMON_FEATURES_VOCABULARY_H_

// A string vocabulary: the most frequent N values of a categorical feature,
// each mapped to a dense index; everything else is out of vocabulary (OOV),
// which every model maps to the zero embedding.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recsys {

// Immutable after construction; thread-safe for reads.
class Vocabulary {
 public:
  static constexpr int32_t kOov = -1;

  // Keeps the `max_size` most frequent values (all when `max_size` <= 0),
  // ordered by count descending, then value ascending, so the result is
  // deterministic. Empty strings are never kept.
  static Vocabulary FromCounts(
      const absl::flat_hash_map<std::string, int64_t>& counts, int max_size);
  // Values in the given order, duplicates rejected.
  static absl::StatusOr<Vocabulary> FromValues(std::vector<std::string> values);

  // One value per line; line i (0-based) is index i.
  static absl::StatusOr<Vocabulary> Load(const std::string& path);
  absl::Status Save(const std::string& path) const;

  Vocabulary() = default;

  // The index of `value`, or `kOov`.
  int32_t Lookup(absl::string_view value) const;
  const std::string& value(int32_t index) const { return values_[index]; }
  int32_t size() const { return static_cast<int32_t>(values_.size()); }
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::vector<std::string> values_;
  absl::flat_hash_map<std::string, int32_t> index_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_FEATURES_VOCABULARY_H_
