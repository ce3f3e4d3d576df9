#ifndef RECSYS_COMMON_FEATURES_TOKENIZER_H_
#define RECSYS_COMMON_FEATURES_TOKENIZER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace recsys {

// Splits a search query into the paper's tokens: lower-cased words (runs of
// ASCII letters and digits, and of any non-ASCII bytes), each word as a
// unigram, then each adjacent pair as a bigram "a b". "Cat videos!" ->
// {"cat", "videos", "cat videos"}.
std::vector<std::string> QueryTokens(absl::string_view query);

}  // namespace recsys

#endif  // RECSYS_COMMON_FEATURES_TOKENIZER_H_
