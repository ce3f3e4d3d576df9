#ifndef RECSYS_COMMON_SERVING_COVISITATION_H_
#define RECSYS_COMMON_SERVING_COVISITATION_H_

// The item-to-item co-visitation table of a bundle version: a second
// candidate source next to the network (the paper's "other candidate
// sources", figure 2). For each row of the candidate video vocabulary it
// holds the videos most often watched near that video, best first, each
// with a similarity score in (0, 1]. The trainer builds it
// (trainer/covisitation.h); the `Retriever` nominates the neighbours of a
// user's most recent watches (`Score`).
//
// On disk it is one binary file (docs/bundle.md, "covisit.bin"), all
// little-endian:
//
//   bytes [0, 8)     magic "RCOVIS01"
//   int64            num_videos V
//   int64            num_entries E
//   int64[V + 1]     offsets: row v's neighbours are entries
//                    [offsets[v], offsets[v + 1]); offsets[0] = 0,
//                    non-decreasing, offsets[V] = E
//   int32[E]         neighbour rows, each in [0, V) and not the row itself
//   float32[E]       scores, finite and > 0, non-increasing within a row
//
// and the manifest's `covisit` spec (proto/bundle.proto) names it with V,
// E, the most neighbours per row and the window it was counted over.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/serving/bundle.h"
#include "proto/bundle.pb.h"

namespace recsys {

// The table's file in a bundle version directory.
inline constexpr char kCovisitFile[] = "covisit.bin";

// Immutable after construction; const methods are thread-safe.
class CovisitationTable {
 public:
  struct Neighbour {
    int32_t row = 0;
    float score = 0;
  };

  // A table of `lists.size()` rows from each row's neighbours (in any
  // order: they are sorted best first, ties by row). InvalidArgument when a
  // neighbour is out of range, the row itself or listed twice, or a score
  // is not finite and > 0.
  static absl::StatusOr<CovisitationTable> FromLists(
      std::vector<std::vector<Neighbour>> lists);

  // Reads and checks `path` against the manifest's `spec` (its file's row
  // and entry counts and neighbours per row). Every problem is DataLoss
  // naming `path`: missing, not a table (magic), truncated or with trailing
  // bytes, counts that differ from `spec`, offsets out of order, a row with
  // more than `spec.neighbours()` entries, a neighbour out of range or the
  // row itself, a score that is not finite and > 0, scores out of order.
  static absl::StatusOr<CovisitationTable> Load(const std::string& path,
                                                const bundle::CovisitSpec& spec);

  // Writes the file format above to `path`.
  absl::Status Save(const std::string& path) const;

  int64_t num_videos() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  int64_t num_entries() const { return static_cast<int64_t>(entries_.size()); }
  // The longest neighbour list.
  int max_neighbours() const;
  // Row `row`'s neighbours, best first (ties by row). 0 <= row < num_videos().
  absl::Span<const Neighbour> neighbours(int32_t row) const {
    return absl::MakeConstSpan(entries_.data() + offsets_[row],
                               entries_.data() + offsets_[row + 1]);
  }

  // The videos co-visited with `seeds` (rows, the most recent watch first):
  // video j scores sum over r of score(seeds[r], j) / (r + 1), the weight of
  // a seed falling as its distance to the next watch grows (as the table's
  // pair weights do). Rows in `exclude` (and seeds out of range) are
  // skipped. At most `k`, best first, ties by row; deterministic.
  std::vector<Neighbour> Score(absl::Span<const int32_t> seeds,
                               const absl::flat_hash_set<int32_t>& exclude, int k) const;

 private:
  CovisitationTable() : offsets_(1, 0) {}

  // Per row, its first entry; one more than rows.
  std::vector<int64_t> offsets_;
  std::vector<Neighbour> entries_;
};

// Saves `table` into the version `writer` builds as `kCovisitFile` and sets
// the manifest's `covisit` spec (`window`: the co-visitation window the
// table was counted over, for the record; `share` and `seeds`: how the
// trainer nominated with it, the serving defaults).
absl::Status AddCovisitation(const CovisitationTable& table, int window, double share, int seeds,
                             BundleWriter& writer);

// The table of `bundle`, checked (`CovisitationTable::Load`); nullptr when
// the manifest has no `covisit` spec (a version without the source).
// DataLoss when the spec names no file.
absl::StatusOr<std::unique_ptr<const CovisitationTable>> LoadCovisitation(
    const Bundle& bundle);

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_COVISITATION_H_
