#ifndef RECSYS_SIMULATOR_DEMOGRAPHICS_H_
#define RECSYS_SIMULATOR_DEMOGRAPHICS_H_

// The fixed demographic vocabularies of the simulated world: regions (and
// their languages), devices, age groups and genders, each with the share
// of the population drawn from it. Private to //simulator.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace recsys {
namespace world_internal {

struct Region {
  const char* code;
  double weight;
  // Main language of the region's channels (ISO 639-1).
  const char* language;
};
inline constexpr Region kRegions[] = {
    {"US", 0.28, "en"}, {"IN", 0.18, "hi"}, {"BR", 0.10, "pt"},
    {"GB", 0.08, "en"}, {"DE", 0.08, "de"}, {"JP", 0.09, "ja"},
    {"FR", 0.09, "fr"}, {"MX", 0.10, "es"},
};
inline constexpr int kNumRegions = sizeof(kRegions) / sizeof(kRegions[0]);
inline constexpr char kEnglish[] = "en";

// The distinct languages of `kRegions`, in order of first appearance; a
// set of them is a bit mask over these indices.
const std::vector<std::string>& Languages();

// Index of `language` in `Languages()` (`Languages().size()` if absent).
int LanguageIndex(absl::string_view language);

// `languages` as a bit mask over `Languages()`; unknown ones are ignored.
uint32_t LanguageMask(const std::vector<std::string>& languages);

struct Device {
  const char* name;
  double weight;
};
inline constexpr Device kDevices[] = {
    {"mobile", 0.55}, {"desktop", 0.25}, {"tv", 0.12}, {"tablet", 0.08}};

struct AgeGroup {
  int min_age;
  int max_age;
  double weight;
};
inline constexpr AgeGroup kAgeGroups[] = {
    {13, 17, 0.12}, {18, 24, 0.22}, {25, 34, 0.25}, {35, 49, 0.22},
    {50, 80, 0.19}};
inline constexpr int kNumAgeGroups =
    sizeof(kAgeGroups) / sizeof(kAgeGroups[0]);

inline constexpr const char* kGenders[] = {"female", "male"};
inline constexpr int kNumGenders = 2;

// Logged-in users who leave gender or age unset.
inline constexpr double kUnstatedGenderProbability = 0.06;
inline constexpr double kUnstatedAgeProbability = 0.08;

// The `weight`s of `items`, in order (for `Rng::Discrete`).
template <typename T, size_t N>
std::vector<double> Weights(const T (&items)[N]) {
  std::vector<double> weights;
  for (const T& item : items) weights.push_back(item.weight);
  return weights;
}

}  // namespace world_internal
}  // namespace recsys

#endif  // RECSYS_SIMULATOR_DEMOGRAPHICS_H_
