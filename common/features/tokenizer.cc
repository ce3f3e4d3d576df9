#include "common/features/tokenizer.h"

#include "absl/strings/str_cat.h"

namespace recsys {

std::vector<std::string> QueryTokens(absl::string_view query) {
  std::vector<std::string> words;
  std::string word;
  for (char c : query) {
    unsigned char u = static_cast<unsigned char>(c);
    bool part = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') ||
                (u >= 'A' && u <= 'Z') || u >= 0x80;
    if (part) {
      word.push_back((u >= 'A' && u <= 'Z') ? static_cast<char>(u - 'A' + 'a')
                                            : c);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  std::vector<std::string> tokens = words;
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    tokens.push_back(absl::StrCat(words[i], " ", words[i + 1]));
  }
  return tokens;
}

}  // namespace recsys
