#include "simulator/demographics.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace recsys {
namespace world_internal {

const std::vector<std::string>& Languages() {
  static const std::vector<std::string>& languages = *[] {
    auto* list = new std::vector<std::string>;
    for (const Region& region : kRegions) {
      if (std::find(list->begin(), list->end(), region.language) ==
          list->end()) {
        list->push_back(region.language);
      }
    }
    return list;
  }();
  return languages;
}

int LanguageIndex(absl::string_view language) {
  const std::vector<std::string>& languages = Languages();
  return static_cast<int>(
      std::find(languages.begin(), languages.end(), language) -
      languages.begin());
}

uint32_t LanguageMask(const std::vector<std::string>& languages) {
  uint32_t mask = 0;
  for (const std::string& language : languages) {
    const int index = LanguageIndex(language);
    if (index < static_cast<int>(Languages().size())) mask |= 1u << index;
  }
  return mask;
}

}  // namespace world_internal
}  // namespace recsys
