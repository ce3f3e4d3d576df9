#include "common/serving/bundle.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/text_format.h"

namespace recsys {
namespace {

constexpr char kManifest[] = "manifest.pb";
constexpr char kManifestText[] = "manifest.txt";
constexpr char kWeights[] = "weights.bin";
constexpr char kVideos[] = "videos.csv";
constexpr char kTmpPrefix[] = ".tmp-";

absl::Status MakeDirs(const std::string& path) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      partial = path.substr(0, i);
      if (!partial.empty() && mkdir(partial.c_str(), 0755) != 0 &&
          errno != EEXIST) {
        return absl::InternalError(
            absl::StrCat("cannot create ", partial, ": ", std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Reserves a new version under `root`: the UTC second `now_unix_s` as
// "YYYYMMDD-HHMMSS", with a zero-padded ".NNN" suffix when that second is
// taken (so versions still sort as strings). The reservation is the
// exclusive creation of the temporary directory, so concurrent writers, in
// one process or several, never share a version. Returns the version and
// sets `tmp_dir`.
absl::StatusOr<std::string> ReserveVersion(const std::string& root, int64_t now_unix_s,
                                           std::string* tmp_dir) {
  const std::time_t now = static_cast<std::time_t>(now_unix_s);
  std::tm tm;
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  for (int n = 0; n < 1000; ++n) {
    std::string version = n == 0 ? std::string(buf) : absl::StrFormat("%s.%03d", buf, n);
    if (Exists(absl::StrCat(root, "/", version))) continue;
    std::string tmp = absl::StrCat(root, "/", kTmpPrefix, version);
    if (mkdir(tmp.c_str(), 0755) == 0) {
      *tmp_dir = tmp;
      return version;
    }
    if (errno != EEXIST) {
      return absl::InternalError(
          absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
    }
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("more than 1000 bundle versions in one second under ", root));
}

void SyncPath(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

void RemoveTree(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") unlink((dir + "/" + name).c_str());
    }
    closedir(d);
  }
  rmdir(dir.c_str());
}

// Structural checks of a parsed manifest (`path` names it in errors).
absl::Status CheckManifest(const std::string& path,
                           const bundle::BundleManifest& manifest) {
  if (manifest.version().empty()) {
    if (manifest.tensors().empty() && manifest.vocabularies().empty()) {
      // Bytes that happen to parse as nothing but unknown fields are not a
      // manifest; a manifest with no known fields set is empty.
      const bool unknown =
          manifest.GetReflection()->GetUnknownFields(manifest).field_count() > 0;
      return absl::DataLossError(
          absl::StrCat(path, unknown ? " is corrupt (not a BundleManifest)"
                                     : " is empty (no version, tensors or vocabularies)"));
    }
    return absl::DataLossError(absl::StrCat(path, " is corrupt (no version)"));
  }
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < manifest.tensors_size(); ++i) {
    const bundle::TensorSpec& t = manifest.tensors(i);
    const std::string what =
        absl::StrCat(path, " is corrupt: tensor ", i, " ('", t.name(), "')");
    if (t.name().empty()) return absl::DataLossError(absl::StrCat(what, " has no name"));
    if (t.file().empty()) return absl::DataLossError(absl::StrCat(what, " has no file"));
    if (t.offset_bytes() < 0) {
      return absl::DataLossError(absl::StrCat(what, " has offset ", t.offset_bytes()));
    }
    for (int64_t d : t.shape()) {
      if (d < 0) {
        return absl::DataLossError(absl::StrCat(what, " has shape [",
                                                absl::StrJoin(t.shape(), ", "), "]"));
      }
    }
    if (!names.insert(t.name()).second) {
      return absl::DataLossError(absl::StrCat(what, " is listed twice"));
    }
  }
  names.clear();
  for (int i = 0; i < manifest.vocabularies_size(); ++i) {
    const bundle::VocabularySpec& v = manifest.vocabularies(i);
    const std::string what =
        absl::StrCat(path, " is corrupt: vocabulary ", i, " ('", v.name(), "')");
    if (v.name().empty()) return absl::DataLossError(absl::StrCat(what, " has no name"));
    if (v.file().empty()) return absl::DataLossError(absl::StrCat(what, " has no file"));
    if (v.size() < 0) return absl::DataLossError(absl::StrCat(what, " has size ", v.size()));
    if (!names.insert(v.name()).second) {
      return absl::DataLossError(absl::StrCat(what, " is listed twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

int64_t Tensor::cols() const {
  int64_t c = 1;
  for (size_t i = 1; i < shape.size(); ++i) c *= shape[i];
  return c;
}

absl::StatusOr<std::unique_ptr<BundleWriter>> BundleWriter::Create(
    const std::string& root) {
  return Create(root, static_cast<int64_t>(std::time(nullptr)));
}

absl::StatusOr<std::unique_ptr<BundleWriter>> BundleWriter::Create(
    const std::string& root, int64_t now_unix_s) {
  if (absl::Status s = MakeDirs(root); !s.ok()) return s;
  std::string tmp;
  absl::StatusOr<std::string> version = ReserveVersion(root, now_unix_s, &tmp);
  if (!version.ok()) return version.status();
  std::FILE* weights = std::fopen((tmp + "/" + kWeights).c_str(), "wb");
  if (weights == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create ", tmp, "/", kWeights));
  }
  auto writer = std::unique_ptr<BundleWriter>(
      new BundleWriter(root, *version, tmp, weights));
  writer->manifest_.set_version(*version);
  writer->manifest_.set_created_unix_s(now_unix_s);
  return writer;
}

BundleWriter::~BundleWriter() {
  if (weights_ != nullptr) std::fclose(weights_);
  if (!committed_) RemoveTree(tmp_dir_);
}

absl::Status BundleWriter::AddTensor(const std::string& name,
                                     const std::vector<int64_t>& shape,
                                     const float* data) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  bundle::TensorSpec* spec = manifest_.add_tensors();
  spec->set_name(name);
  for (int64_t d : shape) spec->add_shape(d);
  spec->set_file(kWeights);
  spec->set_offset_bytes(weights_bytes_);
  if (n > 0 && std::fwrite(data, sizeof(float), n, weights_) !=
                   static_cast<size_t>(n)) {
    return absl::InternalError(absl::StrCat("short write of tensor ", name));
  }
  weights_bytes_ += n * static_cast<int64_t>(sizeof(float));
  return absl::OkStatus();
}

absl::Status BundleWriter::AddVocabulary(const std::string& name,
                                         const Vocabulary& vocab) {
  std::string file = absl::StrCat("vocab_", name, ".txt");
  if (absl::Status s = vocab.Save(tmp_dir_ + "/" + file); !s.ok()) return s;
  bundle::VocabularySpec* spec = manifest_.add_vocabularies();
  spec->set_name(name);
  spec->set_file(file);
  spec->set_size(vocab.size());
  return absl::OkStatus();
}

absl::Status BundleWriter::AddVideos(const std::vector<VideoRecord>& videos) {
  manifest_.set_video_metadata_file(kVideos);
  return WriteVideos(tmp_dir_ + "/" + kVideos, videos);
}

absl::Status BundleWriter::Flush() {
  if (committed_) return absl::FailedPreconditionError("bundle already committed");
  if (std::fflush(weights_) != 0) {
    return absl::InternalError("cannot flush weights.bin");
  }
  return WriteManifest();
}

absl::Status BundleWriter::WriteManifest() const {
  std::ofstream out(tmp_dir_ + "/" + kManifest, std::ios::binary);
  if (!manifest_.SerializeToOstream(&out)) {
    return absl::InternalError("cannot write manifest.pb");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BundleWriter::Commit() {
  if (committed_) return absl::FailedPreconditionError("bundle already committed");
  if (std::fflush(weights_) != 0 || fsync(fileno(weights_)) != 0 ||
      std::fclose(weights_) != 0) {
    weights_ = nullptr;
    return absl::InternalError("cannot flush weights.bin");
  }
  weights_ = nullptr;
  if (absl::Status s = WriteManifest(); !s.ok()) return s;
  std::string text;
  google::protobuf::TextFormat::PrintToString(manifest_, &text);
  {
    std::ofstream out(tmp_dir_ + "/" + kManifestText);
    out << text;
  }
  // Everything is on disk before the rename makes the version visible.
  if (DIR* d = opendir(tmp_dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") SyncPath(tmp_dir_ + "/" + name);
    }
    closedir(d);
  }
  std::string final_dir = absl::StrCat(root_, "/", version_);
  if (std::rename(tmp_dir_.c_str(), final_dir.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp_dir_, " to ",
                                            final_dir, ": ",
                                            std::strerror(errno)));
  }
  SyncPath(root_);
  committed_ = true;
  return final_dir;
}

absl::StatusOr<std::string> Bundle::FindNewest(const std::string& root) {
  DIR* d = opendir(root.c_str());
  if (d == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "no bundle directory ", root, ": run the trainer first (see README.md)"));
  }
  std::vector<std::string> versions;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;  // ".", "..", ".tmp-*"
    if (Exists(absl::StrCat(root, "/", name, "/", kManifest))) {
      versions.push_back(name);
    }
  }
  closedir(d);
  if (versions.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no model bundle under ", root, ": run the trainer first (see README.md)"));
  }
  return absl::StrCat(root, "/", *std::max_element(versions.begin(), versions.end()));
}

absl::StatusOr<std::unique_ptr<Bundle>> Bundle::OpenVersionOrNewest(const std::string& path) {
  if (Exists(absl::StrCat(path, "/", kManifest))) return Open(path);
  absl::StatusOr<std::string> newest = FindNewest(path);
  if (!newest.ok()) return newest.status();
  return Open(*newest);
}

absl::StatusOr<std::unique_ptr<Bundle>> Bundle::Open(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kManifest);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  }
  if (st.st_size == 0) {
    return absl::DataLossError(absl::StrCat(path, " is empty (0 bytes)"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  }
  bundle::BundleManifest manifest;
  if (!manifest.ParseFromIstream(&in)) {
    return absl::DataLossError(
        absl::StrCat(path, " is corrupt (not a BundleManifest)"));
  }
  if (absl::Status s = CheckManifest(path, manifest); !s.ok()) return s;
  return std::unique_ptr<Bundle>(new Bundle(dir, std::move(manifest)));
}

std::string Bundle::version() const {
  std::string dir = dir_;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const size_t slash = dir.rfind('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

std::string Bundle::Path(const std::string& file) const {
  return absl::StrCat(dir_, "/", file);
}

const bundle::TensorSpec* Bundle::FindTensor(const std::string& name) const {
  for (const bundle::TensorSpec& spec : manifest_.tensors()) {
    if (spec.name() == name) return &spec;
  }
  return nullptr;
}

absl::StatusOr<Tensor> Bundle::ReadTensor(const std::string& name) const {
  const bundle::TensorSpec* spec = FindTensor(name);
  if (spec == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("bundle ", dir_, " has no tensor '", name, "'"));
  }
  const std::string path = Path(spec->file());
  // The size is checked before anything is allocated or read: a corrupt
  // shape must not become a huge allocation, and a short file must say by
  // how much.
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::DataLossError(absl::StrCat(path, ": cannot open (",
                                            std::strerror(errno),
                                            "), needed for tensor ", name));
  }
  const int64_t file_bytes = st.st_size;
  // Elements, saturated at `cap` (more than the file can hold): shapes come
  // from disk, and a corrupt one must neither overflow nor allocate.
  const int64_t cap = file_bytes / static_cast<int64_t>(sizeof(float)) + 1;
  Tensor t;
  int64_t n = 1;
  // The bytes the shape needs, exactly up to 2^62 (for the error message).
  constexpr int64_t kHuge = int64_t{1} << 62;
  int64_t needed = sizeof(float);
  for (int64_t d : spec->shape()) {  // Each d >= 0 (checked by `Open`).
    t.shape.push_back(d);
    n = d != 0 && n > cap / d ? cap : n * d;
    needed = d != 0 && needed > kHuge / d ? kHuge : needed * d;
  }
  const int64_t begin = spec->offset_bytes();  // >= 0 (checked by `Open`).
  const int64_t bytes = n * static_cast<int64_t>(sizeof(float));
  if (begin > file_bytes || bytes > file_bytes - begin) {
    return absl::DataLossError(absl::StrCat(
        path, " is truncated: tensor ", name, " needs bytes [", begin, ", ",
        needed >= kHuge || begin >= kHuge - needed ? std::string("more than 2^62")
                                                   : absl::StrCat(begin + needed),
        ") but the file has ", file_bytes, " bytes"));
  }
  t.data.resize(n);
  std::ifstream in(path, std::ios::binary);
  in.seekg(begin);
  in.read(reinterpret_cast<char*>(t.data.data()), bytes);
  if (!in) {
    return absl::DataLossError(absl::StrCat(path, ": cannot read tensor ", name,
                                            " at bytes [", begin, ", ", begin + bytes,
                                            ")"));
  }
  return t;
}

absl::StatusOr<Vocabulary> Bundle::ReadVocabulary(const std::string& name) const {
  for (const bundle::VocabularySpec& spec : manifest_.vocabularies()) {
    if (spec.name() != name) continue;
    const std::string path = Path(spec.file());
    absl::StatusOr<Vocabulary> v = Vocabulary::Load(path);
    if (!v.ok()) return v.status();
    if (v->size() != spec.size()) {
      return absl::DataLossError(absl::StrCat(
          path, " has ", v->size(), " lines but ", kManifest, " says vocabulary ",
          name, " has ", spec.size(), " entries",
          v->size() < spec.size() ? " (the file is truncated)" : ""));
    }
    return v;
  }
  return absl::NotFoundError(
      absl::StrCat("bundle ", dir_, " has no vocabulary '", name, "'"));
}

absl::StatusOr<std::vector<VideoRecord>> Bundle::ReadVideos() const {
  if (manifest_.video_metadata_file().empty()) {
    return absl::DataLossError(
        absl::StrCat(Path(kManifest), " names no video metadata file"));
  }
  const std::string path = Path(manifest_.video_metadata_file());
  if (access(path.c_str(), R_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  }
  return recsys::ReadVideos(path);
}

int ServingNprobe(const bundle::BundleManifest& manifest, int requested) {
  if (requested > 0) return requested;
  return manifest.ann().nprobe() > 0 ? manifest.ann().nprobe() : kDefaultNprobe;
}

}  // namespace recsys
