#include "simulator/catalogue.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "simulator/demographics.h"
#include "simulator/world_options.h"

namespace recsys {
namespace world_internal {
namespace {

TEST(CatalogueTest, VideosFollowUploadOrderAndHaveTheirRecords) {
  const WorldOptions options = TinyWorldOptions();
  const Catalogue catalogue(options);
  const GroundTruth& truth = catalogue.truth();
  ASSERT_EQ(static_cast<int>(truth.videos.size()), options.num_videos);
  EXPECT_EQ(static_cast<int>(truth.topics.size()), options.num_topics);
  EXPECT_EQ(static_cast<int>(truth.channel_topics.size()),
            options.num_channels);
  for (int v = 0; v < options.num_videos; ++v) {
    if (v > 0) {
      EXPECT_LE(truth.videos[v - 1].upload_time_s,
                truth.videos[v].upload_time_s);
    }
    const VideoRecord record = catalogue.VideoRecordOf(v);
    EXPECT_EQ(record.video_id, catalogue.VideoId(v));
    EXPECT_EQ(record.upload_time_s, catalogue.upload_time_s(v));
    EXPECT_EQ(record.duration_s, catalogue.duration_s(v));
    EXPECT_EQ(LanguageIndex(record.language), catalogue.language_index(v));
    EXPECT_TRUE(absl::StartsWith(record.topics,
                                 truth.topics[truth.videos[v].topic].name));
    EXPECT_LT(truth.videos[v].upload_time_s, catalogue.end_s());
  }
  EXPECT_EQ(catalogue.NumUploadedBy(catalogue.end_s()), options.num_videos);
  EXPECT_EQ(catalogue.NumUploadedBy(0), 0);
}

TEST(CatalogueTest, SeriesAreOneChannelAndTopicInEpisodeOrder) {
  const Catalogue catalogue(TinyWorldOptions());
  const GroundTruth& truth = catalogue.truth();
  ASSERT_FALSE(truth.series.empty());
  for (size_t s = 0; s < truth.series.size(); ++s) {
    const std::vector<int>& episodes = truth.series[s];
    ASSERT_GE(episodes.size(), 2u);
    for (size_t k = 0; k < episodes.size(); ++k) {
      const GroundTruth::Video& video = truth.videos[episodes[k]];
      EXPECT_EQ(video.series, static_cast<int>(s));
      EXPECT_EQ(video.episode, static_cast<int>(k) + 1);
      EXPECT_EQ(video.channel, truth.videos[episodes[0]].channel);
      EXPECT_EQ(video.topic, truth.videos[episodes[0]].topic);
      EXPECT_FALSE(video.clickbait);
      EXPECT_TRUE(absl::EndsWith(catalogue.VideoRecordOf(episodes[k]).title,
                                 absl::StrCat(" (part ", k + 1, ")")));
      if (k > 0) {
        EXPECT_GT(video.upload_time_s,
                  truth.videos[episodes[k - 1]].upload_time_s);
      }
    }
  }
}

TEST(CatalogueTest, TopicIndexSumsTheOrganicVideosPopularity) {
  const WorldOptions options = TinyWorldOptions();
  const Catalogue catalogue(options);
  const GroundTruth& truth = catalogue.truth();
  int indexed = 0;
  for (int t = 0; t < options.num_topics; ++t) {
    const TopicIndex& index = catalogue.topic_index(t);
    ASSERT_EQ(index.evergreen_prefix.size(), index.organic.size() + 1);
    ASSERT_EQ(index.decay_prefix.size(), index.organic.size() + 1);
    double base = 0;
    for (size_t k = 0; k < index.organic.size(); ++k) {
      const GroundTruth::Video& video = truth.videos[index.organic[k]];
      EXPECT_EQ(video.topic, t);
      EXPECT_LE(video.episode, 1);
      if (k > 0) {
        EXPECT_GT(index.organic[k], index.organic[k - 1]);
      }
      base += video.base_popularity;
      EXPECT_DOUBLE_EQ(index.evergreen_prefix[k + 1], base);
    }
    for (int v : index.virals) EXPECT_TRUE(truth.videos[v].viral);
    indexed += static_cast<int>(index.organic.size());
  }
  int organic = 0;
  for (const GroundTruth::Video& video : truth.videos) {
    organic += video.episode <= 1;
  }
  EXPECT_EQ(indexed, organic);
}

TEST(CatalogueTest, SameOptionsSameCatalogue) {
  const Catalogue a(TinyWorldOptions());
  const Catalogue b(TinyWorldOptions());
  WorldOptions other_seed = TinyWorldOptions();
  other_seed.seed = 7;
  const Catalogue c(other_seed);
  int differ = 0;
  for (int v = 0; v < TinyWorldOptions().num_videos; ++v) {
    EXPECT_EQ(a.VideoRecordOf(v).title, b.VideoRecordOf(v).title);
    EXPECT_EQ(a.upload_time_s(v), b.upload_time_s(v));
    differ += a.VideoRecordOf(v).title != c.VideoRecordOf(v).title;
  }
  EXPECT_GT(differ, 0);
  EXPECT_EQ(a.tastes().prior, b.tastes().prior);
}

}  // namespace
}  // namespace world_internal
}  // namespace recsys
