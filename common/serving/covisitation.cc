#include "common/serving/covisitation.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace recsys {
namespace {

constexpr char kMagic[8] = {'R', 'C', 'O', 'V', 'I', 'S', '0', '1'};
// Magic, num_videos, num_entries.
constexpr int64_t kHeaderBytes = sizeof(kMagic) + 2 * sizeof(int64_t);
constexpr int64_t kEntryBytes = sizeof(int32_t) + sizeof(float);

static_assert(sizeof(CovisitationTable::Neighbour) == 8, "Neighbour is (int32, float)");

bool Better(const CovisitationTable::Neighbour& a, const CovisitationTable::Neighbour& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.row < b.row;
}

// The file's size for `videos` rows and `entries` entries, saturated at
// 2^62 (counts come from disk).
int64_t FileBytes(int64_t videos, int64_t entries) {
  constexpr int64_t kHuge = int64_t{1} << 62;
  if (videos < 0 || entries < 0 || videos > kHuge / 16 || entries > kHuge / 16) return kHuge;
  return kHeaderBytes + (videos + 1) * static_cast<int64_t>(sizeof(int64_t)) +
         entries * kEntryBytes;
}

template <typename T>
T ReadAt(const std::string& bytes, int64_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

template <typename T>
void Append(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

}  // namespace

absl::StatusOr<CovisitationTable> CovisitationTable::FromLists(
    std::vector<std::vector<Neighbour>> lists) {
  const int64_t n = static_cast<int64_t>(lists.size());
  CovisitationTable table;
  table.offsets_.reserve(n + 1);
  absl::flat_hash_set<int32_t> seen;
  for (int64_t v = 0; v < n; ++v) {
    std::vector<Neighbour>& list = lists[v];
    seen.clear();
    for (const Neighbour& nb : list) {
      if (nb.row < 0 || nb.row >= n || nb.row == v || !seen.insert(nb.row).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("co-visitation row ", v, ": neighbour ", nb.row,
                         nb.row == v ? " is the row itself"
                         : nb.row < 0 || nb.row >= n
                             ? absl::StrCat(" is out of range [0, ", n, ")")
                             : std::string(" is listed twice")));
      }
      if (!std::isfinite(nb.score) || !(nb.score > 0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "co-visitation row ", v, ": neighbour ", nb.row, " has score ", nb.score,
            " (scores must be finite and > 0)"));
      }
    }
    std::sort(list.begin(), list.end(), Better);
    table.entries_.insert(table.entries_.end(), list.begin(), list.end());
    table.offsets_.push_back(static_cast<int64_t>(table.entries_.size()));
    std::vector<Neighbour>().swap(list);
  }
  return table;
}

int CovisitationTable::max_neighbours() const {
  int64_t most = 0;
  for (size_t v = 0; v + 1 < offsets_.size(); ++v) {
    most = std::max(most, offsets_[v + 1] - offsets_[v]);
  }
  return static_cast<int>(most);
}

absl::Status CovisitationTable::Save(const std::string& path) const {
  const int64_t videos = num_videos(), entries = num_entries();
  std::string bytes;
  bytes.reserve(FileBytes(videos, entries));
  bytes.append(kMagic, sizeof(kMagic));
  Append(bytes, videos);
  Append(bytes, entries);
  for (int64_t offset : offsets_) Append(bytes, offset);
  for (const Neighbour& nb : entries_) Append(bytes, nb.row);
  for (const Neighbour& nb : entries_) Append(bytes, nb.score);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<CovisitationTable> CovisitationTable::Load(const std::string& path,
                                                          const bundle::CovisitSpec& spec) {
  auto loss = [&path](auto&&... parts) {
    return absl::DataLossError(absl::StrCat(path, " ", parts...));
  };
  // The size is checked against the manifest before anything is allocated:
  // a corrupt count must not become a huge allocation.
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::DataLossError(absl::StrCat(path, ": cannot open (", std::strerror(errno),
                                            "), needed for the co-visitation table"));
  }
  const int64_t file_bytes = st.st_size;
  const int64_t expected = FileBytes(spec.num_videos(), spec.num_entries());
  if (file_bytes < kHeaderBytes) {
    return loss("is truncated: ", file_bytes, " bytes, shorter than the co-visitation "
                "table's header (", kHeaderBytes, " bytes)");
  }
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.resize(std::min(file_bytes, expected));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!in) return loss("cannot be read");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return loss("is not a co-visitation table (bad magic)");
  }
  const int64_t videos = ReadAt<int64_t>(bytes, sizeof(kMagic));
  const int64_t entries = ReadAt<int64_t>(bytes, sizeof(kMagic) + sizeof(int64_t));
  if (videos != spec.num_videos() || entries != spec.num_entries()) {
    return loss("holds ", videos, " rows and ", entries, " entries, but the manifest's "
                "covisit spec says ", spec.num_videos(), " and ", spec.num_entries());
  }
  if (file_bytes < expected) {
    return loss("is truncated: ", videos, " rows and ", entries, " entries need ", expected,
                " bytes but the file has ", file_bytes);
  }
  if (file_bytes > expected) {
    return loss("has ", file_bytes, " bytes, ", file_bytes - expected,
                " more than its ", videos, " rows and ", entries, " entries need");
  }
  CovisitationTable table;
  table.offsets_.resize(videos + 1);
  std::memcpy(table.offsets_.data(), bytes.data() + kHeaderBytes,
              (videos + 1) * sizeof(int64_t));
  if (table.offsets_[0] != 0 || table.offsets_[videos] != entries) {
    return loss("is corrupt: offsets run from ", table.offsets_[0], " to ",
                table.offsets_[videos], ", not from 0 to ", entries);
  }
  const int64_t rows_at = kHeaderBytes + (videos + 1) * static_cast<int64_t>(sizeof(int64_t));
  const int64_t scores_at = rows_at + entries * static_cast<int64_t>(sizeof(int32_t));
  table.entries_.resize(entries);
  for (int64_t e = 0; e < entries; ++e) {
    table.entries_[e].row = ReadAt<int32_t>(bytes, rows_at + e * sizeof(int32_t));
    table.entries_[e].score = ReadAt<float>(bytes, scores_at + e * sizeof(float));
  }
  for (int64_t v = 0; v < videos; ++v) {
    const int64_t begin = table.offsets_[v], end = table.offsets_[v + 1];
    if (end < begin || end > entries) {
      return loss("is corrupt: row ", v, "'s entries [", begin, ", ", end,
                  ") are out of order or past the ", entries, " entries");
    }
    if (end - begin > spec.neighbours()) {
      return loss("is corrupt: row ", v, " has ", end - begin, " neighbours, more than the ",
                  spec.neighbours(), " of the manifest's covisit spec");
    }
    for (int64_t e = begin; e < end; ++e) {
      const Neighbour& nb = table.entries_[e];
      if (nb.row < 0 || nb.row >= videos || nb.row == v) {
        return loss("is corrupt: row ", v, " has neighbour ", nb.row,
                    nb.row == v ? " (itself)" : absl::StrCat(" (rows are [0, ", videos, "))"));
      }
      if (!std::isfinite(nb.score) || !(nb.score > 0)) {
        return loss("is corrupt: row ", v, "'s neighbour ", nb.row, " has score ", nb.score,
                    " (scores must be finite and > 0)");
      }
      if (e > begin && table.entries_[e - 1].score < nb.score) {
        return loss("is corrupt: row ", v, "'s scores are not best first (entry ", e - begin,
                    ")");
      }
    }
  }
  return table;
}

std::vector<CovisitationTable::Neighbour> CovisitationTable::Score(
    absl::Span<const int32_t> seeds, const absl::flat_hash_set<int32_t>& exclude,
    int k) const {
  std::vector<Neighbour> out;
  if (k <= 0) return out;
  // Seeds are summed in their given order, so scores are the same bits on
  // every call.
  absl::flat_hash_map<int32_t, double> scores;
  for (size_t r = 0; r < seeds.size(); ++r) {
    const int32_t seed = seeds[r];
    if (seed < 0 || seed >= num_videos()) continue;
    const double weight = 1.0 / static_cast<double>(r + 1);
    for (const Neighbour& nb : neighbours(seed)) {
      if (!exclude.contains(nb.row)) scores[nb.row] += weight * nb.score;
    }
  }
  out.reserve(scores.size());
  for (const auto& [row, score] : scores) {
    out.push_back({row, static_cast<float>(score)});
  }
  const size_t top = std::min<size_t>(k, out.size());
  std::partial_sort(out.begin(), out.begin() + top, out.end(), Better);
  out.resize(top);
  return out;
}

absl::Status AddCovisitation(const CovisitationTable& table, int window, double share,
                             int seeds, BundleWriter& writer) {
  if (absl::Status s = table.Save(absl::StrCat(writer.dir(), "/", kCovisitFile)); !s.ok()) {
    return s;
  }
  bundle::CovisitSpec* spec = writer.manifest()->mutable_covisit();
  spec->set_file(kCovisitFile);
  spec->set_num_videos(table.num_videos());
  spec->set_num_entries(table.num_entries());
  spec->set_neighbours(table.max_neighbours());
  spec->set_window(window);
  spec->set_share(static_cast<float>(share));
  spec->set_seeds(seeds);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<const CovisitationTable>> LoadCovisitation(
    const Bundle& bundle) {
  if (!bundle.manifest().has_covisit()) return nullptr;
  const bundle::CovisitSpec& spec = bundle.manifest().covisit();
  if (spec.file().empty()) {
    return absl::DataLossError(absl::StrCat(
        bundle.dir(), "/manifest.pb has a covisit spec that names no co-visitation file"));
  }
  absl::StatusOr<CovisitationTable> table = CovisitationTable::Load(bundle.Path(spec.file()), spec);
  if (!table.ok()) return table.status();
  return std::make_unique<const CovisitationTable>(std::move(*table));
}

}  // namespace recsys
