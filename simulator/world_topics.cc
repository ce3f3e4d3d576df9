#include "simulator/world_topics.h"

#include "absl/strings/str_cat.h"

namespace recsys {
namespace world_internal {
namespace {

struct FixedTopic {
  const char* name;
  const char* words[15];
};

// Word lists are disjoint, so a query's words identify its topic.
constexpr FixedTopic kFixedTopics[] = {
    {"cooking",
     {"pasta", "recipe", "garlic", "oven", "basil", "dough", "soup", "crème",
      "roast", "spicy", "noodles", "bake", "sauce", "kitchen", "dumplings"}},
    {"music",
     {"song", "guitar", "album", "concert", "piano", "lyrics", "band", "remix",
      "acoustic", "drums", "melody", "singer", "chorus", "vinyl", "tour"}},
    {"gaming",
     {"speedrun", "boss", "minecraft", "walkthrough", "loot", "controller",
      "multiplayer", "quest", "respawn", "esports", "console", "pixel",
      "dungeon", "glitch", "level"}},
    {"football",
     {"goal", "penalty", "striker", "midfield", "derby", "fútbol", "offside",
      "keeper", "league", "transfer", "dribble", "freekick", "stadium",
      "champions", "kit"}},
    {"basketball",
     {"dunk", "rebound", "playoffs", "threepointer", "courtside", "buzzer",
      "crossover", "layup", "nba", "point", "guard", "hoops", "assist",
      "alleyoop", "finals"}},
    {"fitness",
     {"workout", "squat", "cardio", "protein", "stretch", "plank", "hiit",
      "deadlift", "yoga", "abs", "reps", "treadmill", "kettlebell", "gains",
      "mobility"}},
    {"travel",
     {"backpacking", "itinerary", "hostel", "passport", "island", "roadtrip",
      "budget", "flight", "beach", "hidden", "gems", "visa", "luggage",
      "sightseeing", "café"}},
    {"science",
     {"physics", "experiment", "molecule", "quantum", "chemistry", "biology",
      "atom", "laboratory", "theory", "evolution", "microscope", "energy",
      "particle", "hypothesis", "cells"}},
    {"technology",
     {"smartphone", "laptop", "unboxing", "gadget", "review", "battery",
      "chip", "benchmark", "wireless", "headphones", "camera", "specs",
      "upgrade", "keyboard", "monitor"}},
    {"finance",
     {"investing", "stocks", "dividend", "savings", "crypto", "retirement",
      "inflation", "mortgage", "portfolio", "taxes", "index", "fund",
      "interest", "bonds", "wealth"}},
    {"comedy",
     {"standup", "sketch", "prank", "funny", "parody", "joke", "bloopers",
      "improv", "skit", "comedian", "hilarious", "satire", "punchline",
      "sitcom", "memes"}},
    {"movies",
     {"trailer", "director", "cinema", "sequel", "boxoffice", "oscar",
      "screenplay", "blockbuster", "scene", "actor", "premiere", "plot",
      "twist", "remake", "franchise"}},
    {"news",
     {"breaking", "election", "interview", "headline", "report", "debate",
      "economy", "policy", "briefing", "summit", "analysis", "crisis",
      "update", "correspondent", "live"}},
    {"fashion",
     {"outfit", "runway", "streetwear", "designer", "lookbook", "vintage",
      "sneakers", "haul", "denim", "couture", "wardrobe", "trend", "jacket",
      "thrift", "style"}},
    {"beauty",
     {"makeup", "skincare", "lipstick", "tutorial", "foundation", "eyeliner",
      "serum", "glow", "contour", "nails", "routine", "mascara", "palette",
      "hairstyle", "moisturizer"}},
    {"cars",
     {"engine", "horsepower", "drift", "supercar", "electric", "roadster",
      "turbo", "garage", "restoration", "torque", "racing", "sedan",
      "exhaust", "testdrive", "tuning"}},
    {"pets",
     {"puppy", "kitten", "grooming", "adoption", "parrot", "hamster", "leash",
      "vet", "tricks", "aquarium", "rescue", "purring", "fetch", "obedience",
      "cute"}},
    {"gardening",
     {"seedlings", "compost", "tomatoes", "pruning", "greenhouse", "soil",
      "harvest", "succulents", "raised", "beds", "mulch", "orchids",
      "watering", "perennials", "bonsai"}},
    {"history",
     {"empire", "medieval", "pharaoh", "ancient", "revolution", "castle",
      "dynasty", "archaeology", "war", "roman", "vikings", "samurai",
      "renaissance", "artifact", "conquest"}},
    {"education",
     {"lecture", "exam", "calculus", "grammar", "homework", "algebra",
      "vocabulary", "study", "tips", "university", "lesson", "geometry",
      "essay", "notes", "tutoring"}},
    {"art",
     {"painting", "watercolor", "sketchbook", "canvas", "portrait", "acrylic",
      "sculpture", "gallery", "charcoal", "mural", "illustration", "brush",
      "abstract", "easel", "museum"}},
    {"photography",
     {"lens", "aperture", "shutter", "exposure", "tripod", "landscape",
      "lightroom", "bokeh", "golden", "hour", "portraiture", "drone",
      "telephoto", "composition", "film"}},
    {"dance",
     {"choreography", "ballet", "salsa", "hiphop", "breakdance", "tango",
      "contemporary", "moves", "waltz", "kpop", "freestyle", "tap", "flamenco",
      "rehearsal", "dancer"}},
    {"parenting",
     {"toddler", "newborn", "bedtime", "pregnancy", "diapers", "playtime",
      "tantrum", "homeschool", "baby", "lullaby", "milestones", "siblings",
      "daycare", "preschool", "family"}},
    {"diy",
     {"woodworking", "drill", "renovation", "shelf", "plumbing", "paint",
      "tiles", "repair", "workshop", "sanding", "handmade", "upcycle",
      "furniture", "carpentry", "tools"}},
    {"space",
     {"rocket", "astronaut", "galaxy", "telescope", "mars", "nebula", "orbit",
      "launch", "satellite", "blackhole", "moon", "comet", "cosmos",
      "spacewalk", "exoplanet"}},
    {"nature",
     {"wildlife", "forest", "documentary", "ocean", "volcano", "rainforest",
      "whales", "safari", "glacier", "birds", "waterfall", "coral", "desert",
      "storm", "migration"}},
    {"anime",
     {"manga", "shonen", "episode", "cosplay", "studio", "opening", "isekai",
      "mecha", "waifu", "otaku", "arc", "filler", "ghibli", "subbed",
      "chibi"}},
    {"chess",
     {"gambit", "checkmate", "fianchetto", "endgame", "grandmaster", "blitz",
      "sacrifice", "bishop", "rook", "pawn", "castling", "tactics",
      "tournament", "stalemate", "puzzle"}},
    {"programming",
     {"python", "javascript", "algorithm", "debugging", "compiler", "rust",
      "typescript", "api", "database", "recursion", "git", "refactoring",
      "linux", "backend", "leetcode"}},
};

constexpr int kNumFixedTopics =
    static_cast<int>(sizeof(kFixedTopics) / sizeof(kFixedTopics[0]));
constexpr int kWordsPerTopic = 15;

// A pronounceable made-up word for synthetic topic `topic`, word `index`:
// consonant-vowel syllables derived from the two numbers (unique per pair).
std::string SyntheticWord(int topic, int index) {
  static constexpr char kConsonants[] = "bdfgklmnprstvz";
  static constexpr char kVowels[] = "aeiou";
  constexpr int kNumConsonants = sizeof(kConsonants) - 1;
  constexpr int kNumVowels = sizeof(kVowels) - 1;
  std::string word;
  // Mixed-radix digits of (topic, index), at least three syllables.
  uint64_t code = static_cast<uint64_t>(topic) * kWordsPerTopic + index;
  for (int syllable = 0; syllable < 3 || code > 0; ++syllable) {
    word.push_back(kConsonants[code % kNumConsonants]);
    code /= kNumConsonants;
    word.push_back(kVowels[code % kNumVowels]);
    code /= kNumVowels;
  }
  return word;
}

}  // namespace

std::vector<TopicVocabulary> MakeTopics(int num_topics) {
  std::vector<TopicVocabulary> topics;
  topics.reserve(num_topics);
  for (int t = 0; t < num_topics; ++t) {
    TopicVocabulary topic;
    if (t < kNumFixedTopics) {
      topic.name = kFixedTopics[t].name;
      for (const char* word : kFixedTopics[t].words) {
        topic.words.push_back(word);
      }
    } else {
      topic.name = absl::StrCat("topic", t + 1);
      for (int i = 0; i < kWordsPerTopic; ++i) {
        topic.words.push_back(SyntheticWord(t, i));
      }
    }
    topics.push_back(std::move(topic));
  }
  return topics;
}

}  // namespace world_internal
}  // namespace recsys
