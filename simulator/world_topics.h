#ifndef RECSYS_SIMULATOR_WORLD_TOPICS_H_
#define RECSYS_SIMULATOR_WORLD_TOPICS_H_

// Topic names and word lists of the simulated world (private to //simulator).

#include <string>
#include <vector>

namespace recsys {
namespace world_internal {

struct TopicVocabulary {
  // A readable label without '|' or ',', e.g. "cooking".
  std::string name;
  // Distinct lower-case words (some non-ASCII UTF-8) used in titles and
  // queries of this topic; no word appears in two topics.
  std::vector<std::string> words;
};

// The first `num_topics` topics: the fixed, hand-written ones (30), then
// synthetic ones ("topic31" with made-up words) if more are asked for.
// Deterministic: the same `num_topics` always gives the same list.
std::vector<TopicVocabulary> MakeTopics(int num_topics);

}  // namespace world_internal
}  // namespace recsys

#endif  // RECSYS_SIMULATOR_WORLD_TOPICS_H_
