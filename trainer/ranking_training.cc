#include "trainer/ranking_training.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/base/progress.h"
#include "common/base/status_macros.h"
#include "common/base/time_units.h"
#include "common/features/features.h"
#include "common/features/quantiles.h"
#include "evaluation/metrics.h"
#include "trainer/best_epoch.h"
#include "trainer/examples.h"
#include "trainer/nets/ranking_net.h"
#include "trainer/training_loop.h"

namespace recsys {
namespace {

// Seeds of the ranking networks: `TrainerOptions::seed` plus these.
constexpr uint64_t kCtrBaselineSeedOffset = 2;
constexpr uint64_t kRankingSeedOffset = 3;
// Rows per forward pass when scoring ranking examples without gradients.
constexpr size_t kRankingScoringBatch = 1024;

// One page of impressions with everything the ranking net needs.
struct RankingPage {
  // On a page that may be held out, the whole query; on the others only
  // what the network reads (`KeepNetworkInputs`).
  std::unique_ptr<RankingQuery> query;
  // Pages that may be held out only: the evaluation scores them through the
  // serving code, from the context and the candidates. Empty on the others,
  // which are most pages and would otherwise hold each user's history once
  // per page (~20 KB a page on the large world).
  UserContext context;
  std::vector<Candidate> candidates;
  std::vector<RankingCandidateFeatures> raw;
  std::vector<const ImpressionRecord*> impressions;
};

// Frees what the candidate features were extracted from: the network reads
// only the query's watches, seed, language and time (MakeRankingBatch).
void KeepNetworkInputs(RankingQuery& query) {
  query.channel_watches = {};
  query.topic_watches = {};
  query.impressions = {};
  query.last_watched.shrink_to_fit();
}

// Whether a page (given its first impression) may be held out by `split`:
// the last days' pages, or each user's last page (any page at the time of
// the user's latest, ties included).
class MayBeHeldOut {
 public:
  MayBeHeldOut(RankingSplit split, int64_t cut_s,
               const std::vector<std::vector<const ImpressionRecord*>>& pages)
      : split_(split), cut_s_(cut_s) {
    if (split_ != RankingSplit::kByUser) return;
    for (const auto& rows : pages) {
      int64_t& last = last_page_s_.try_emplace(rows.front()->user_id, rows.front()->time_s)
                          .first->second;
      last = std::max(last, rows.front()->time_s);
    }
  }
  bool operator()(const ImpressionRecord& first) const {
    if (split_ == RankingSplit::kByDays) return first.time_s >= cut_s_;
    return last_page_s_.at(first.user_id) == first.time_s;
  }

 private:
  RankingSplit split_;
  int64_t cut_s_;
  absl::flat_hash_map<std::string, int64_t> last_page_s_;
};

std::vector<RankingPage> MakeRankingPages(const Logs& logs, const TrainingData& p,
                                          const CandidateModel& candidate_model,
                                          const VideoCatalog& catalog,
                                          const RankingVocabularies& vocabs,
                                          int max_watches, RankingSplit split, int64_t cut_s,
                                          bool progress,
                                          const std::vector<CandidateSource>* sources) {
  absl::flat_hash_map<std::string, size_t> page_index;
  std::vector<std::vector<const ImpressionRecord*>> grouped;
  for (const ImpressionRecord& i : logs.impressions) {
    auto [it, inserted] = page_index.try_emplace(i.page_id, grouped.size());
    if (inserted) grouped.emplace_back();
    grouped[it->second].push_back(&i);
  }
  page_index = {};
  for (auto& rows : grouped) {
    std::sort(rows.begin(), rows.end(),
              [](auto* a, auto* b) { return a->position < b->position; });
  }
  const MayBeHeldOut may_be_held_out(split, cut_s, grouped);
  std::vector<RankingPage> pages;
  pages.reserve(grouped.size());
  ProgressBar bar("ranking features", grouped.size(), "pages", progress);
  for (auto& rows : grouped) {
    RankingPage page;
    const ImpressionRecord& first = *rows.front();
    absl::StatusOr<UserContext> context = p.histories.ContextAt(first.user_id, first.time_s);
    if (!context.ok()) continue;
    // The retrieval score is what candidate generation would give at
    // serving: the serving model's logit.
    std::vector<float> u = candidate_model.UserVector(candidate_model.Features(*context));
    page.query = std::make_unique<RankingQuery>(ExtractRankingQuery(
        *context, vocabs, catalog, max_watches, first.time_s));
    const bool evaluated = may_be_held_out(first);
    page.raw.reserve(rows.size());
    page.impressions.reserve(rows.size());
    for (const ImpressionRecord* r : rows) {
      Candidate c;
      c.set_video_id(r->video_id);
      int32_t id = candidate_model.videos().Lookup(r->video_id);
      c.set_retrieval_score(id == Vocabulary::kOov ? 0.0f : candidate_model.Logit(u, id));
      c.set_source(sources != nullptr ? (*sources)[r - logs.impressions.data()] : SOURCE_DNN);
      page.raw.push_back(ExtractRankingCandidate(*page.query, c, vocabs, catalog));
      if (evaluated) page.candidates.push_back(std::move(c));
      page.impressions.push_back(r);
    }
    if (evaluated) {
      page.context = std::move(*context);
    } else {
      KeepNetworkInputs(*page.query);
    }
    pages.push_back(std::move(page));
    rows = {};  // the page holds them now
    bar.Update(pages.size());
  }
  bar.Finish();
  return pages;
}

// The network's inputs for every impression of `pages`, with the labels.
void RankingInputs(const std::vector<RankingPage*>& pages,
                   const std::vector<QuantileNormalizer>& normalizers, bool use_powers,
                   std::vector<RankingExampleInputs>* rows,
                   std::vector<const ImpressionRecord*>* labels) {
  for (RankingPage* page : pages) {
    for (size_t i = 0; i < page->raw.size(); ++i) {
      rows->push_back(
          MakeRankingExampleInputs(page->query.get(), page->raw[i], normalizers, use_powers));
      labels->push_back(page->impressions[i]);
    }
  }
}

// The libtorch network's logits for `rows` (a baseline that is evaluated
// but not exported; the exported model is scored through the serving code).
std::vector<float> NetLogits(RankingNet& net, absl::Span<const RankingExampleInputs> rows) {
  torch::NoGradGuard no_grad;
  std::vector<float> out;
  for (size_t start = 0; start < rows.size(); start += kRankingScoringBatch) {
    std::vector<const RankingExampleInputs*> batch;
    for (size_t i = start; i < std::min(rows.size(), start + kRankingScoringBatch); ++i) {
      batch.push_back(&rows[i]);
    }
    torch::Tensor logits = net->Logits(MakeRankingBatch(batch)).contiguous();
    out.insert(out.end(), logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
  }
  return out;
}

// The paper's weighted per-user loss of `net` on `rows`, which hold whole
// pages in order (RankingInputs), `labels` alike.
double PerUserLoss(RankingNet& net, absl::Span<const RankingExampleInputs> rows,
                   absl::Span<const ImpressionRecord* const> labels) {
  std::vector<float> logits = NetLogits(net, rows);
  std::vector<std::vector<ScoredImpression>> pages;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i == 0 || labels[i]->page_id != labels[i - 1]->page_id) pages.emplace_back();
    pages.back().push_back({logits[i], labels[i]->clicked, labels[i]->watch_seconds});
  }
  return WeightedPerUserLoss(pages).loss();
}

// Trains up to `ranking_epochs` epochs. With validation rows, keeps the
// epoch with the lowest weighted per-user loss on them (the metric the
// models are compared on, for the CTR baseline too) and stops after
// `patience` epochs without a lower one. Returns the kept epoch.
int TrainRankingNet(RankingNet& net, absl::Span<const RankingExampleInputs> rows,
                    absl::Span<const ImpressionRecord* const> labels,
                    absl::Span<const RankingExampleInputs> validation_rows,
                    absl::Span<const ImpressionRecord* const> validation_labels,
                    bundle::RankingObjective objective, const TrainerOptions& options,
                    std::mt19937_64& rng) {
  torch::optim::Adagrad optimizer(
      net->parameters(), torch::optim::AdagradOptions(options.ranking_learning_rate));
  BestEpochKeeper keeper(options.ranking_epochs, options.patience);
  for (int epoch = 0; epoch < options.ranking_epochs; ++epoch) {
    net->train();
    auto batches = Batches(rows.size(), options.batch_size, rng);
    ProgressBar bar(absl::StrCat("ranking (", RankingObjectiveName(objective), ") epoch ",
                                 epoch + 1, "/",
                                 options.ranking_epochs),
                    rows.size(), "ex", options.progress);
    double loss_sum = 0;
    int64_t done = 0;
    for (const auto& batch_rows : batches) {
      std::vector<const RankingExampleInputs*> batch_inputs;
      std::vector<float> clicked, weights;
      for (size_t i : batch_rows) {
        batch_inputs.push_back(&rows[i]);
        clicked.push_back(labels[i]->clicked ? 1.0f : 0.0f);
        weights.push_back(
            RankingExampleWeight(labels[i]->clicked, labels[i]->watch_seconds, objective));
      }
      RankingBatch batch = MakeRankingBatch(batch_inputs);
      optimizer.zero_grad();
      torch::Tensor loss = WeightedLogisticLoss(
          net->Logits(batch), torch::tensor(clicked), torch::tensor(weights));
      loss.backward();
      DropEmptySparseGradients(*net);
      optimizer.step();
      loss_sum += loss.item<double>() * batch_inputs.size();
      done += batch_inputs.size();
      bar.Update(done, absl::StrFormat("loss %.4f", loss_sum / done));
    }
    net->eval();
    std::string summary = absl::StrFormat("loss %.4f", loss_sum / std::max<int64_t>(done, 1));
    if (validation_rows.empty()) {
      bar.Finish(summary);
      continue;
    }
    const double validation_loss = PerUserLoss(net, validation_rows, validation_labels);
    bar.Finish(absl::StrFormat("%s, validation weighted per-user loss %.4f", summary,
                               validation_loss));
    keeper.Offer(epoch + 1, -validation_loss, *net);  // lower loss is better
    if (keeper.ShouldStop(epoch + 1)) break;
  }
  const int kept = keeper.Restore(*net);
  net->eval();
  return kept;
}

// Per video, impressions and clicks on the training pages: the count-based
// orderings the ranking model is compared with.
class VideoClickCounts {
 public:
  static VideoClickCounts FromPages(const std::vector<RankingPage*>& pages) {
    VideoClickCounts counts;
    int64_t impressions = 0, clicks = 0;
    for (const RankingPage* page : pages) {
      for (const ImpressionRecord* i : page->impressions) {
        auto& [n, c] = counts.by_video_[i->video_id];
        ++n;
        c += i->clicked;
        ++impressions;
        clicks += i->clicked;
      }
    }
    counts.mean_ctr_ = impressions > 0 ? static_cast<double>(clicks) / impressions : 0;
    return counts;
  }
  // Clicks of `video` (0 when never shown).
  int64_t Clicks(const std::string& video) const {
    auto it = by_video_.find(video);
    return it == by_video_.end() ? 0 : it->second.second;
  }
  // (clicks + k * mean CTR) / (impressions + k), k = 10: the mean CTR for a
  // video never shown, its own CTR once shown often.
  float SmoothedCtr(const std::string& video) const {
    constexpr double kPriorImpressions = 10;
    auto it = by_video_.find(video);
    const double n = it == by_video_.end() ? 0 : it->second.first;
    const double c = it == by_video_.end() ? 0 : it->second.second;
    return static_cast<float>((c + kPriorImpressions * mean_ctr_) / (n + kPriorImpressions));
  }

 private:
  // video -> (impressions, clicks).
  absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>> by_video_;
  double mean_ctr_ = 0;
};

// Orders the held-out pages by the exported model (through the serving
// code), by retrieval score and, when given, by the CTR baseline's logits
// (one per impression, pages in order); prints the paper's weighted
// per-user loss, AUC and the model's calibration by deciles.
absl::Status EvaluateRanking(const std::vector<RankingPage*>& pages,
                             const RankingModel& model, const std::vector<float>& ctr_logits,
                             const VideoClickCounts& counts,
                             bundle::RankingObjective objective, const char* held_out,
                             TrainerReport* report) {
  std::vector<std::vector<ScoredImpression>> by_model, by_retrieval, by_ctr, by_video_ctr,
      by_popularity;
  std::vector<float> model_scores, retrieval_scores, predicted, observed, video_ctr_scores,
      popularity_scores;
  std::vector<bool> clicked;
  size_t next_ctr = 0;
  for (RankingPage* page : pages) {
    std::vector<float> logits =
        model.Logits(page->context, page->candidates, page->query->request_time_s);
    std::vector<ScoredImpression> m, r, c, v, pop;
    for (size_t i = 0; i < logits.size(); ++i) {
      const ImpressionRecord& imp = *page->impressions[i];
      float retrieval = page->candidates[i].retrieval_score();
      m.push_back({logits[i], imp.clicked, imp.watch_seconds});
      r.push_back({retrieval, imp.clicked, imp.watch_seconds});
      const float video_ctr = counts.SmoothedCtr(imp.video_id);
      const float popularity = static_cast<float>(counts.Clicks(imp.video_id));
      v.push_back({video_ctr, imp.clicked, imp.watch_seconds});
      pop.push_back({popularity, imp.clicked, imp.watch_seconds});
      video_ctr_scores.push_back(video_ctr);
      popularity_scores.push_back(popularity);
      if (!ctr_logits.empty()) c.push_back({ctr_logits.at(next_ctr++), imp.clicked, imp.watch_seconds});
      model_scores.push_back(logits[i]);
      retrieval_scores.push_back(retrieval);
      predicted.push_back(std::exp(logits[i]));
      observed.push_back(imp.clicked ? imp.watch_seconds : 0.0f);
      clicked.push_back(imp.clicked);
    }
    by_model.push_back(std::move(m));
    by_retrieval.push_back(std::move(r));
    by_ctr.push_back(std::move(c));
    by_video_ctr.push_back(std::move(v));
    by_popularity.push_back(std::move(pop));
  }
  std::string& s = report->summary;
  absl::StrAppend(&s, absl::StrFormat(
      "Ranking: held-out pages (%s), %zu pages, %zu impressions\n",
      held_out, pages.size(), model_scores.size()));
  absl::StrAppend(&s, absl::StrFormat("  %-24s %22s %7s\n", "order by",
                                      "weighted per-user loss", "AUC"));
  std::vector<float> ctr_scores(ctr_logits.begin(), ctr_logits.end());
  std::vector<std::tuple<std::string, std::string, decltype(&by_model), std::vector<float>*>> rows = {
      {"ranking model", "model", &by_model, &model_scores},
      {"retrieval score", "retrieval", &by_retrieval, &retrieval_scores}};
  if (!ctr_logits.empty()) rows.push_back({"CTR model (unweighted)", "ctr", &by_ctr, &ctr_scores});
  rows.push_back({"video CTR (training)", "video_ctr", &by_video_ctr, &video_ctr_scores});
  rows.push_back({"popularity (clicks)", "popularity", &by_popularity, &popularity_scores});
  for (const auto& [name, key, scored, scores] : rows) {
    double loss = WeightedPerUserLoss(*scored).loss();
    absl::StatusOr<double> auc = Auc(*scores, clicked);
    double auc_value = auc.ok() ? *auc : 0.5;
    absl::StrAppend(&s, absl::StrFormat("  %-24s %22s %7s\n", name, FormatMetric(loss),
                                        FormatMetric(auc_value)));
    report->metrics.emplace_back(absl::StrCat("ranking/", key, "/weighted_loss"), loss);
    report->metrics.emplace_back(absl::StrCat("ranking/", key, "/auc"), auc_value);
  }
  // exp(logit) of a click model is click odds, not watch time.
  if (objective != bundle::RANKING_OBJECTIVE_WATCH_TIME) return absl::OkStatus();
  double mean_pred = 0, mean_obs = 0;
  for (size_t i = 0; i < predicted.size(); ++i) {
    mean_pred += predicted[i];
    mean_obs += observed[i];
  }
  if (!predicted.empty()) {
    mean_pred /= predicted.size();
    mean_obs /= predicted.size();
  }
  absl::StrAppend(&s, absl::StrFormat(
      "  calibration: mean predicted watch time per impression %.1f s, "
      "observed %.1f s\n", mean_pred, mean_obs));
  report->metrics.emplace_back("ranking/mean_predicted_watch_seconds", mean_pred);
  report->metrics.emplace_back("ranking/mean_observed_watch_seconds", mean_obs);
  // Deciles of predicted watch time: mean predicted vs observed in each.
  std::vector<size_t> order(predicted.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return predicted[a] < predicted[b]; });
  if (order.size() >= 10) {
    std::string pred_line, obs_line;
    for (int d = 0; d < 10; ++d) {
      const size_t begin = order.size() * d / 10, end = order.size() * (d + 1) / 10;
      double p = 0, o = 0;
      for (size_t i = begin; i < end; ++i) {
        p += predicted[order[i]];
        o += observed[order[i]];
      }
      p /= std::max<size_t>(1, end - begin);
      o /= std::max<size_t>(1, end - begin);
      absl::StrAppend(&pred_line, absl::StrFormat(" %6.1f", p));
      absl::StrAppend(&obs_line, absl::StrFormat(" %6.1f", o));
      report->metrics.emplace_back(absl::StrCat("ranking/decile", d + 1, "/predicted"), p);
      report->metrics.emplace_back(absl::StrCat("ranking/decile", d + 1, "/observed"), o);
    }
    absl::StrAppend(&s, "  by deciles of predicted watch time (s per impression):\n",
                    "    predicted", pred_line, "\n", "    observed ", obs_line, "\n");
  }
  return absl::OkStatus();
}

// The whole serving path offline: each held-out user's top `num_candidates`
// retrieved videos, ordered by the ranking model; HR@K of the final list for
// the held-out last watch.
absl::Status EvaluateTwoStage(const TrainingData& p, const Retriever& retriever,
                              const RankingModel& ranking_model,
                              const TrainerOptions& options, TrainerReport* report) {
  absl::StrAppend(&report->summary, absl::StrFormat(
      "Two stages (the %d nominated candidates, then ranked), each user's held-out watch:\n"
      "  %-42s %7s %7s %7s %8s\n",
      options.num_candidates, "list", "HR@10", "HR@50", "HR@100", "NDCG@10"));
  // Validation (second-to-last watch: for choosing settings) and test (last).
  for (const auto& [split, targets] :
       {std::pair<const char*, const absl::flat_hash_map<std::string, WatchRecord>*>{
            "validation", &p.validation},
        {"test", &p.test}}) {
    RetrievalMetrics two_stage({10, 50, 100}), retrieved({10, 50, 100});
    for (const std::string& user : p.histories.user_ids()) {
      auto it = targets->find(user);
      if (it == targets->end()) continue;
      const WatchRecord& target = it->second;
      UserContext context = *p.eval_histories.ContextBefore(target);
      // What the candidate service nominates (every source), then ranks.
      RECSYS_ASSIGN_OR_RETURN(std::vector<Candidate> candidates,
                              retriever.Candidates(context, options.num_candidates));
      std::vector<int64_t> rows = Rows(p, candidates);
      const int64_t label = p.videos.Lookup(target.video_id);
      retrieved.Add(rows, label);
      std::vector<float> logits = ranking_model.Logits(context, candidates, target.time_s);
      std::vector<size_t> order(rows.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return logits[a] > logits[b]; });
      std::vector<int64_t> ranked;
      for (size_t i : order) ranked.push_back(rows[i]);
      two_stage.Add(ranked, label);
    }
    for (auto [name, m] : {std::pair<const char*, RetrievalMetrics*>{
                               "nominated (GenerateCandidates)", &retrieved},
                           {"ranked (Recommend)", &two_stage}}) {
      absl::StrAppend(&report->summary,
                      absl::StrFormat("  %-42s %7s %7s %7s %8s\n",
                                      absl::StrCat(split, ": ", name),
                                      FormatMetric(m->hit_rate(10)),
                                      FormatMetric(m->hit_rate(50)),
                                      FormatMetric(m->hit_rate(100)), FormatMetric(m->ndcg(10))));
    }
    const std::string prefix = std::string(split) == "test" ? "" : "validation_";
    for (int k : {10, 50, 100}) {
      report->metrics.emplace_back(absl::StrCat(prefix, "two_stage/hr@", k),
                                   two_stage.hit_rate(k));
      report->metrics.emplace_back(absl::StrCat(prefix, "nominated/hr@", k),
                                   retrieved.hit_rate(k));
    }
    report->metrics.emplace_back(absl::StrCat(prefix, "two_stage/ndcg@10"), two_stage.ndcg(10));
    report->metrics.emplace_back(absl::StrCat(prefix, "nominated/ndcg@10"), retrieved.ndcg(10));
  }
  return absl::OkStatus();
}

// Fits one quantile normaliser per continuous feature on `train_pages` and
// records their boundaries in `spec`.
std::vector<QuantileNormalizer> FitNormalizers(const std::vector<RankingPage*>& train_pages,
                                               int num_quantiles,
                                               bundle::RankingModelSpec* spec) {
  std::vector<QuantileNormalizer> normalizers;
  for (int f = 0; f < kNumRankingContinuous; ++f) {
    std::vector<float> values;
    for (RankingPage* page : train_pages) {
      for (const RankingCandidateFeatures& r : page->raw) values.push_back(r.raw[f]);
    }
    normalizers.push_back(QuantileNormalizer::Fit(std::move(values), num_quantiles));
    bundle::QuantileSpec* q = spec->add_quantiles();
    q->set_feature(RankingContinuousName(f));
    for (float b : normalizers.back().boundaries()) q->add_boundaries(b);
  }
  return normalizers;
}

// The network's sizes: embedding widths from the vocabularies' cardinality
// unless set.
RankingNetOptions RankingNetShape(const RankingVocabularySet& vocabs,
                                  const TrainerOptions& options) {
  RankingNetOptions rn;
  rn.num_videos = vocabs.videos.size();
  rn.num_channels = vocabs.channels.size();
  rn.num_languages = vocabs.languages.size();
  const auto dim = [&](int set, int64_t cardinality) {
    return set > 0 ? set : EmbeddingDimForCardinality(cardinality, options.ranking_dim_per_log2);
  };
  rn.video_dim = dim(options.ranking_video_dim, rn.num_videos);
  rn.channel_dim = dim(options.ranking_channel_dim, rn.num_channels);
  rn.language_dim = dim(options.ranking_language_dim, rn.num_languages);
  spdlog::info("ranking: vocabularies from clicked impressions: {} videos (dim {}), "
               "{} channels (dim {}), {} languages (dim {})",
               rn.num_videos, rn.video_dim, rn.num_channels, rn.channel_dim, rn.num_languages,
               rn.language_dim);
  rn.hidden_layers = options.ranking_hidden;
  rn.use_powers = options.use_powers;
  return rn;
}

// The training days' examples: the first `num_fit` fit the network, the
// rest (the validation days') choose its epoch count (none: no choice).
// One array, so that the refit on all of them copies nothing.
struct RankingExamples {
  std::vector<RankingExampleInputs> rows;
  std::vector<const ImpressionRecord*> labels;
  size_t num_fit = 0;

  absl::Span<const RankingExampleInputs> fit_rows() const {
    return absl::MakeConstSpan(rows).first(num_fit);
  }
  absl::Span<const ImpressionRecord* const> fit_labels() const {
    return absl::MakeConstSpan(labels).first(num_fit);
  }
  absl::Span<const RankingExampleInputs> validation_rows() const {
    return absl::MakeConstSpan(rows).subspan(num_fit);
  }
  absl::Span<const ImpressionRecord* const> validation_labels() const {
    return absl::MakeConstSpan(labels).subspan(num_fit);
  }
};

// Chooses the epoch count on the validation days, then (the validation days
// being the freshest training data) trains a fresh network on all training
// days for that many epochs. Returns the network and the epoch count.
std::pair<RankingNet, int> TrainChoosingEpochs(const RankingNetOptions& rn,
                                               const RankingExamples& examples,
                                               bundle::RankingObjective objective,
                                               uint64_t seed, const TrainerOptions& options) {
  torch::manual_seed(seed);
  std::mt19937_64 net_rng(seed);
  RankingNet net(rn);
  const int kept = TrainRankingNet(net, examples.fit_rows(), examples.fit_labels(),
                                   examples.validation_rows(), examples.validation_labels(),
                                   objective, options, net_rng);
  if (examples.validation_rows().empty()) return std::make_pair(net, kept);
  spdlog::info("ranking ({}): kept epoch {} (lowest validation weighted per-user loss); "
               "training again on all {} training impressions for {} epochs",
               RankingObjectiveName(objective), kept, examples.rows.size(), kept);
  TrainerOptions refit = options;
  refit.ranking_epochs = kept;
  torch::manual_seed(seed);
  net_rng.seed(seed);
  RankingNet all(rn);
  TrainRankingNet(all, examples.rows, examples.labels, {}, {}, objective, refit, net_rng);
  return std::make_pair(all, kept);
}

// Completes `spec` (the quantiles and `max_watches` are already in), adds
// the network's tensors to `writer`, flushes, and loads the model back as
// the ranking server does.
absl::StatusOr<std::unique_ptr<RankingModel>> ExportRankingModel(
    RankingNet& net, bundle::RankingObjective objective, bundle::RankingModelSpec* spec,
    BundleWriter& writer) {
  const RankingNetOptions& rn = net->options();
  spec->set_video_embedding_dim(rn.video_dim);
  spec->set_channel_embedding_dim(rn.channel_dim);
  spec->set_language_embedding_dim(rn.language_dim);
  for (int h : rn.hidden_layers) spec->add_hidden_layers(h);
  spec->set_use_powers(rn.use_powers);
  SetRankingObjective(objective, spec);
  RECSYS_RETURN_IF_ERROR(net->Export(&writer));
  RECSYS_RETURN_IF_ERROR(writer.Flush());
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle, Bundle::Open(writer.dir()));
  return RankingModel::Load(*bundle);
}

}  // namespace

// Trains the ranking network on the impressions before the held-out days,
// adds it to `writer` and evaluates it (alone, and after retrieval).
absl::Status TrainRanking(const Logs& logs, const TrainingData& p,
                          const CandidateModel& candidate_model, const Retriever& retriever,
                          const TrainerOptions& options, BundleWriter& writer,
                          TrainerReport* report, RankingSplit split,
                          const std::vector<CandidateSource>* sources) {
  int64_t impressions_end = 0;
  for (const ImpressionRecord& i : logs.impressions) {
    impressions_end = std::max(impressions_end, i.time_s);
  }
  const int64_t cut_s = impressions_end - options.holdout_days * kSecondsPerDay;
  const RankingVocabularySet vocabs = CountRankingVocabularies(
      logs, cut_s, options.ranking_max_videos, options.ranking_max_channels);
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kRankingVideoVocab, vocabs.videos));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kChannelVocab, vocabs.channels));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kLanguageVocab, vocabs.languages));
  VideoCatalog catalog(logs.videos, p.video_counts, vocabs.channels, vocabs.languages,
                       &vocabs.videos);
  // The spec holds what serving reads back; examples are made from it.
  bundle::RankingModelSpec* rspec = writer.manifest()->mutable_ranking();
  rspec->set_max_watches(options.ranking_max_watches);
  std::vector<RankingPage> pages = MakeRankingPages(
      logs, p, candidate_model, catalog,
      RankingVocabularies{&vocabs.videos, &vocabs.channels, &vocabs.languages},
      rspec->max_watches(), split, cut_s, options.progress, sources);
  std::vector<RankingPage*> train_pages, eval_pages;
  // With `RankingSplit::kByUser`: each user's pages in time order.
  absl::flat_hash_map<std::string, std::vector<RankingPage*>> by_user;
  if (split == RankingSplit::kByUser) {
    for (RankingPage& page : pages) by_user[page.impressions.front()->user_id].push_back(&page);
    for (auto& [user, user_pages] : by_user) {
      std::stable_sort(user_pages.begin(), user_pages.end(), [](RankingPage* a, RankingPage* b) {
        return a->query->request_time_s < b->query->request_time_s;
      });
    }
  }
  for (RankingPage& page : pages) {
    const bool held_out = split == RankingSplit::kByUser
                              ? by_user[page.impressions.front()->user_id].back() == &page
                              : page.query->request_time_s >= cut_s;
    (held_out ? eval_pages : train_pages).push_back(&page);
  }
  if (train_pages.empty()) {
    return absl::InvalidArgumentError(
        "no impressions before the held-out day: the ranking model needs "
        "impressions.csv with more than one day of pages");
  }
  const std::vector<QuantileNormalizer> normalizers =
      FitNormalizers(train_pages, options.num_quantiles, rspec);
  // The last `ranking_validation_days` before the cut choose the epoch; the
  // network trains on the days before them.
  std::vector<RankingPage*> fit_pages, validation_pages;
  const int64_t validation_cut_s = cut_s - options.ranking_validation_days * kSecondsPerDay;
  for (RankingPage* page : train_pages) {
    bool validation = page->query->request_time_s >= validation_cut_s;
    if (split == RankingSplit::kByUser) {
      const std::vector<RankingPage*>& user_pages = by_user[page->impressions.front()->user_id];
      validation = user_pages.size() >= 3 && user_pages[user_pages.size() - 2] == page;
    }
    (validation ? validation_pages : fit_pages).push_back(page);
  }
  if (fit_pages.empty()) {  // Too short a log for a validation day.
    fit_pages = train_pages;
    validation_pages.clear();
  }
  RankingExamples examples;
  RankingInputs(fit_pages, normalizers, options.use_powers, &examples.rows, &examples.labels);
  examples.num_fit = examples.rows.size();
  RankingInputs(validation_pages, normalizers, options.use_powers, &examples.rows,
                &examples.labels);
  spdlog::info("ranking: {} training impressions on {} pages, {} validation pages, "
               "{} held-out pages",
               examples.num_fit, fit_pages.size(), validation_pages.size(), eval_pages.size());
  const RankingNetOptions rn = RankingNetShape(vocabs, options);
  auto [ranking_net, kept_epoch] =
      TrainChoosingEpochs(rn, examples, options.objective, options.seed + kRankingSeedOffset,
                          options);
  report->metrics.emplace_back("ranking/kept_epoch", kept_epoch);
  // The paper's baseline in the same run: the same network as an unweighted
  // logistic regression on clicks (CTR), scored on the held-out pages.
  std::vector<float> ctr_logits;
  if (options.objective == bundle::RANKING_OBJECTIVE_WATCH_TIME && options.ranking_ctr_baseline &&
      !eval_pages.empty()) {
    RankingNet ctr_net = TrainChoosingEpochs(rn, examples, bundle::RANKING_OBJECTIVE_CTR,
                                             options.seed + kCtrBaselineSeedOffset, options)
                             .first;
    std::vector<RankingExampleInputs> eval_rows;
    std::vector<const ImpressionRecord*> eval_labels;
    RankingInputs(eval_pages, normalizers, options.use_powers, &eval_rows, &eval_labels);
    ctr_logits = NetLogits(ctr_net, eval_rows);
  }
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<RankingModel> ranking_model,
                          ExportRankingModel(ranking_net, options.objective, rspec, writer));
  if (!eval_pages.empty()) {
    RECSYS_RETURN_IF_ERROR(
        EvaluateRanking(eval_pages, *ranking_model, ctr_logits,
                        VideoClickCounts::FromPages(train_pages), options.objective,
                        split == RankingSplit::kByUser ? "each user's last page"
                                                       : "the last days",
                        report));
  }
  RECSYS_RETURN_IF_ERROR(EvaluateTwoStage(p, retriever, *ranking_model, options, report));

  return absl::OkStatus();
}

}  // namespace recsys
