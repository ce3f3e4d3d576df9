#ifndef RECSYS_CLIENTS_HPACK_H_
#define RECSYS_CLIENTS_HPACK_H_

// HPACK (RFC 7541), as much as an HTTP/2 client of gRPC needs
// (clients/http2_transport.h): a complete decoder (static and dynamic
// tables, every field representation, table size updates, Huffman-coded
// strings) for the server's headers and trailers, and an encoder of literal
// fields without indexing, so that a request's header block can be built
// once and sent unchanged on every call (it never touches the server's
// dynamic table).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recsys {
namespace hpack {

// Appends `value` as an HPACK integer with a `prefix_bits`-bit prefix; the
// first byte's bits above the prefix are `first_byte_flags`.
void AppendInteger(uint64_t value, int prefix_bits, uint8_t first_byte_flags, std::string* out);

// Appends the field as a literal without indexing (the static table's name
// index when the name is there), raw (not Huffman-coded) strings.
void AppendLiteralWithoutIndexing(absl::string_view name, absl::string_view value,
                                  std::string* out);

// Huffman coding of RFC 7541 appendix B.
std::string HuffmanEncode(absl::string_view text);
// InvalidArgument for a code that is not in the table, the EOS symbol, or
// padding that is longer than 7 bits or not all ones.
absl::StatusOr<std::string> HuffmanDecode(absl::string_view coded);

// Decodes the header blocks of one HTTP/2 connection, in order (they share
// the dynamic table).
class Decoder {
 public:
  // `max_table_size`: the SETTINGS_HEADER_TABLE_SIZE this end announced
  // (4096 unless it announced another).
  explicit Decoder(size_t max_table_size = 4096);

  // Decodes a complete header block, calling `on_field` for each field in
  // order. An error (malformed block, index out of range, table size update
  // above the limit) is a connection error: the decoder is then unusable.
  absl::Status Decode(absl::string_view block,
                      absl::FunctionRef<void(absl::string_view name, absl::string_view value)>
                          on_field);

  // The dynamic table's size (RFC 7541 section 4.1) and entries.
  size_t table_size() const { return size_; }
  size_t table_entries() const { return entries_.size(); }

 private:
  // Entry `index` (1-based, static then dynamic); nullptr when out of range.
  const std::pair<std::string, std::string>* Entry(uint64_t index) const;
  void Insert(std::string name, std::string value);
  void Evict(size_t limit);

  const size_t max_table_size_;
  size_t capacity_;
  size_t size_ = 0;
  // Newest first.
  std::deque<std::pair<std::string, std::string>> entries_;
};

}  // namespace hpack
}  // namespace recsys

#endif  // RECSYS_CLIENTS_HPACK_H_
