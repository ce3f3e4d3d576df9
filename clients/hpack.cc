#include "clients/hpack.h"

#include <algorithm>
#include <array>
#include <vector>

#include "absl/strings/str_cat.h"

namespace recsys {
namespace hpack {
namespace {

// RFC 7541 appendix A.
const std::array<std::pair<std::string, std::string>, 61>& StaticTable() {
  static const auto* table = new std::array<std::pair<std::string, std::string>, 61>{{
      {":authority", ""},
      {":method", "GET"},
      {":method", "POST"},
      {":path", "/"},
      {":path", "/index.html"},
      {":scheme", "http"},
      {":scheme", "https"},
      {":status", "200"},
      {":status", "204"},
      {":status", "206"},
      {":status", "304"},
      {":status", "400"},
      {":status", "404"},
      {":status", "500"},
      {"accept-charset", ""},
      {"accept-encoding", "gzip, deflate"},
      {"accept-language", ""},
      {"accept-ranges", ""},
      {"accept", ""},
      {"access-control-allow-origin", ""},
      {"age", ""},
      {"allow", ""},
      {"authorization", ""},
      {"cache-control", ""},
      {"content-disposition", ""},
      {"content-encoding", ""},
      {"content-language", ""},
      {"content-length", ""},
      {"content-location", ""},
      {"content-range", ""},
      {"content-type", ""},
      {"cookie", ""},
      {"date", ""},
      {"etag", ""},
      {"expect", ""},
      {"expires", ""},
      {"from", ""},
      {"host", ""},
      {"if-match", ""},
      {"if-modified-since", ""},
      {"if-none-match", ""},
      {"if-range", ""},
      {"if-unmodified-since", ""},
      {"last-modified", ""},
      {"link", ""},
      {"location", ""},
      {"max-forwards", ""},
      {"proxy-authenticate", ""},
      {"proxy-authorization", ""},
      {"range", ""},
      {"referer", ""},
      {"refresh", ""},
      {"retry-after", ""},
      {"server", ""},
      {"set-cookie", ""},
      {"strict-transport-security", ""},
      {"transfer-encoding", ""},
      {"user-agent", ""},
      {"vary", ""},
      {"via", ""},
      {"www-authenticate", ""},
  }};
  return *table;
}

// RFC 7541 appendix B: the code length of each symbol (256 is EOS). The
// code is canonical: codes are assigned in order of (length, symbol).
constexpr uint8_t kCodeLengths[257] = {
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    30,
};

struct HuffmanCodes {
  uint32_t code[257];
  // A binary trie for decoding: node i's children are child[i][bit]; a
  // leaf holds symbol + 1 in `leaf` (0: inner node).
  std::vector<std::array<int32_t, 2>> child;
  std::vector<int32_t> leaf;

  HuffmanCodes() {
    std::vector<int> order(257);
    for (int s = 0; s < 257; ++s) order[s] = s;
    std::stable_sort(order.begin(), order.end(),
                     [](int a, int b) { return kCodeLengths[a] < kCodeLengths[b]; });
    uint32_t next = 0;
    int length = kCodeLengths[order[0]];
    for (int s : order) {
      next <<= (kCodeLengths[s] - length);
      length = kCodeLengths[s];
      code[s] = next++;
    }
    child.push_back({-1, -1});
    leaf.push_back(0);
    for (int s = 0; s < 257; ++s) {
      int node = 0;
      for (int bit = kCodeLengths[s] - 1; bit >= 0; --bit) {
        const int b = (code[s] >> bit) & 1;
        if (child[node][b] < 0) {
          child[node][b] = static_cast<int32_t>(child.size());
          child.push_back({-1, -1});
          leaf.push_back(0);
        }
        node = child[node][b];
      }
      leaf[node] = s + 1;
    }
  }
};

const HuffmanCodes& Huffman() {
  static const auto* codes = new HuffmanCodes();
  return *codes;
}

// Reads an integer with a `prefix_bits`-bit prefix at `*pos`.
bool ReadInteger(absl::string_view in, size_t* pos, int prefix_bits, uint64_t* value) {
  if (*pos >= in.size()) return false;
  const uint64_t max_prefix = (uint64_t{1} << prefix_bits) - 1;
  *value = static_cast<uint8_t>(in[*pos]) & max_prefix;
  ++*pos;
  if (*value < max_prefix) return true;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (*pos >= in.size()) return false;
    const uint8_t b = static_cast<uint8_t>(in[(*pos)++]);
    *value += static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;  // Longer than any length or index we accept.
}

absl::Status ReadString(absl::string_view in, size_t* pos, std::string* out) {
  if (*pos >= in.size()) return absl::InvalidArgumentError("hpack: truncated string");
  const bool huffman = (static_cast<uint8_t>(in[*pos]) & 0x80) != 0;
  uint64_t length = 0;
  if (!ReadInteger(in, pos, 7, &length) || length > in.size() - *pos) {
    return absl::InvalidArgumentError("hpack: bad string length");
  }
  const absl::string_view raw = in.substr(*pos, static_cast<size_t>(length));
  *pos += static_cast<size_t>(length);
  if (!huffman) {
    out->assign(raw.data(), raw.size());
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> decoded = HuffmanDecode(raw);
  if (!decoded.ok()) return decoded.status();
  *out = *std::move(decoded);
  return absl::OkStatus();
}

}  // namespace

void AppendInteger(uint64_t value, int prefix_bits, uint8_t first_byte_flags, std::string* out) {
  const uint64_t max_prefix = (uint64_t{1} << prefix_bits) - 1;
  if (value < max_prefix) {
    out->push_back(static_cast<char>(first_byte_flags | value));
    return;
  }
  out->push_back(static_cast<char>(first_byte_flags | max_prefix));
  value -= max_prefix;
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendLiteralWithoutIndexing(absl::string_view name, absl::string_view value,
                                  std::string* out) {
  size_t name_index = 0;
  const auto& table = StaticTable();
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i].first == name) {
      name_index = i + 1;
      break;
    }
  }
  // 0000xxxx: literal without indexing, 4-bit name index (0: new name).
  AppendInteger(name_index, 4, 0x00, out);
  if (name_index == 0) {
    AppendInteger(name.size(), 7, 0x00, out);
    out->append(name.data(), name.size());
  }
  AppendInteger(value.size(), 7, 0x00, out);
  out->append(value.data(), value.size());
}

std::string HuffmanEncode(absl::string_view text) {
  const HuffmanCodes& h = Huffman();
  std::string out;
  uint64_t bits = 0;
  int count = 0;
  for (const char ch : text) {
    const int s = static_cast<uint8_t>(ch);
    bits = (bits << kCodeLengths[s]) | h.code[s];
    count += kCodeLengths[s];
    while (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  if (count > 0) {
    // Padded with the most significant bits of EOS (all ones).
    out.push_back(static_cast<char>(((bits << (8 - count)) | (0xff >> count)) & 0xff));
  }
  return out;
}

absl::StatusOr<std::string> HuffmanDecode(absl::string_view coded) {
  const HuffmanCodes& h = Huffman();
  std::string out;
  out.reserve(coded.size() * 8 / 5);
  int node = 0;
  // Bits read since the last symbol, and whether they were all ones.
  int pending_bits = 0;
  bool pending_ones = true;
  for (const char ch : coded) {
    const uint8_t byte = static_cast<uint8_t>(ch);
    for (int bit = 7; bit >= 0; --bit) {
      const int b = (byte >> bit) & 1;
      node = h.child[static_cast<size_t>(node)][b];
      if (node < 0) return absl::InvalidArgumentError("hpack: invalid Huffman code");
      ++pending_bits;
      pending_ones = pending_ones && b == 1;
      const int symbol = h.leaf[static_cast<size_t>(node)] - 1;
      if (symbol >= 0) {
        if (symbol == 256) return absl::InvalidArgumentError("hpack: EOS in a Huffman string");
        out.push_back(static_cast<char>(symbol));
        node = 0;
        pending_bits = 0;
        pending_ones = true;
      }
    }
  }
  if (pending_bits > 7 || !pending_ones) {
    return absl::InvalidArgumentError("hpack: bad Huffman padding");
  }
  return out;
}

Decoder::Decoder(size_t max_table_size)
    : max_table_size_(max_table_size), capacity_(max_table_size) {}

const std::pair<std::string, std::string>* Decoder::Entry(uint64_t index) const {
  const auto& table = StaticTable();
  if (index == 0) return nullptr;
  if (index <= table.size()) return &table[static_cast<size_t>(index - 1)];
  const uint64_t dynamic = index - table.size() - 1;
  if (dynamic >= entries_.size()) return nullptr;
  return &entries_[static_cast<size_t>(dynamic)];
}

void Decoder::Evict(size_t limit) {
  while (size_ > limit && !entries_.empty()) {
    size_ -= entries_.back().first.size() + entries_.back().second.size() + 32;
    entries_.pop_back();
  }
}

void Decoder::Insert(std::string name, std::string value) {
  const size_t entry = name.size() + value.size() + 32;
  if (entry > capacity_) {
    // Larger than the table: the table is emptied, nothing added.
    Evict(0);
    return;
  }
  Evict(capacity_ - entry);
  entries_.emplace_front(std::move(name), std::move(value));
  size_ += entry;
}

absl::Status Decoder::Decode(
    absl::string_view block,
    absl::FunctionRef<void(absl::string_view name, absl::string_view value)> on_field) {
  size_t pos = 0;
  std::string name;
  std::string value;
  bool fields_seen = false;
  while (pos < block.size()) {
    const uint8_t first = static_cast<uint8_t>(block[pos]);
    if ((first & 0x80) != 0) {
      // Indexed field.
      uint64_t index = 0;
      if (!ReadInteger(block, &pos, 7, &index)) return absl::InvalidArgumentError("hpack: bad index");
      const auto* entry = Entry(index);
      if (entry == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("hpack: index ", index, " out of range"));
      }
      on_field(entry->first, entry->second);
      fields_seen = true;
      continue;
    }
    if ((first & 0xe0) == 0x20) {
      // Dynamic table size update: only before the first field.
      uint64_t size = 0;
      if (fields_seen || !ReadInteger(block, &pos, 5, &size) || size > max_table_size_) {
        return absl::InvalidArgumentError("hpack: bad dynamic table size update");
      }
      capacity_ = static_cast<size_t>(size);
      Evict(capacity_);
      continue;
    }
    // Literal: with incremental indexing (01), never indexed (0001) or
    // without indexing (0000).
    const bool indexing = (first & 0xc0) == 0x40;
    const int prefix = indexing ? 6 : 4;
    uint64_t name_index = 0;
    if (!ReadInteger(block, &pos, prefix, &name_index)) {
      return absl::InvalidArgumentError("hpack: bad name index");
    }
    if (name_index == 0) {
      if (absl::Status s = ReadString(block, &pos, &name); !s.ok()) return s;
    } else {
      const auto* entry = Entry(name_index);
      if (entry == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("hpack: name index ", name_index, " out of range"));
      }
      name = entry->first;
    }
    if (absl::Status s = ReadString(block, &pos, &value); !s.ok()) return s;
    on_field(name, value);
    fields_seen = true;
    if (indexing) Insert(std::move(name), std::move(value));
  }
  return absl::OkStatus();
}

}  // namespace hpack
}  // namespace recsys
