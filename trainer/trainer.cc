#include "trainer/trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>

#include <torch/torch.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/serving/retriever.h"
#include "common/serving/ann_index.h"
#include "evaluation/baselines.h"
#include "common/serving/bundle.h"
#include "common/serving/dense.h"
#include "common/features/features.h"
#include "evaluation/metrics.h"
#include "common/serving/models.h"
#include "common/base/progress.h"
#include "common/base/status_macros.h"
#include "common/features/tokenizer.h"
#include "common/logs/user_context.h"
#include "common/features/vocabulary.h"
#include "trainer/candidate_net.h"
#include "trainer/candidate_optimizer.h"
#include "trainer/examples.h"
#include "trainer/ranking_net.h"
#include "trainer/sampler.h"

namespace recsys {
namespace {

// Everything the pipeline derives from the logs before training.
struct Prepared {
  UserHistories histories;
  // The same with every earlier watch in a context, so that evaluation
  // excludes everything a user already watched (the models still read only
  // their most recent events).
  UserHistories eval_histories;
  // Per user: the held-out test and validation watches (last, second-to-last).
  absl::flat_hash_map<std::string, WatchRecord> test, validation;
  // Watches usable as labels and for counts (everything but the held-out).
  std::vector<const WatchRecord*> train_watches;
  int64_t window_end_s = 0;
  Vocabulary videos, tokens, regions, devices;
  absl::flat_hash_map<std::string, int64_t> video_counts;  // training watches
};


std::string Pct(double x) { return absl::StrFormat("%.3f", x); }

Prepared Prepare(const Logs& logs, const TrainerOptions& options) {
  Prepared p;
  UserHistories::Options recent;
  recent.max_watches = std::max(recent.max_watches, options.max_watches);
  recent.max_searches = std::max(recent.max_searches, options.max_searches);
  p.histories = UserHistories::Build(logs, recent);
  UserHistories::Options all_watches;
  all_watches.max_watches = 1 << 30;
  p.eval_histories = UserHistories::Build(logs, all_watches);
  absl::flat_hash_set<const WatchRecord*> held_out;
  for (const std::string& user : p.histories.user_ids()) {
    const std::vector<WatchRecord>& w = p.histories.watches(user);
    if (w.size() >= 3) {
      p.test[user] = w.back();
      p.validation[user] = w[w.size() - 2];
    }
  }
  absl::flat_hash_map<std::string, int64_t> token_counts, region_counts,
      device_counts;
  for (const std::string& user : p.histories.user_ids()) {
    const std::vector<WatchRecord>& w = p.histories.watches(user);
    size_t n = w.size() >= 3 ? w.size() - 2 : w.size();
    for (size_t i = 0; i < n; ++i) {
      p.train_watches.push_back(&w[i]);
      ++p.video_counts[w[i].video_id];
    }
  }
  for (const WatchRecord& w : logs.watches) {
    p.window_end_s = std::max(p.window_end_s, w.time_s);
  }
  for (const SearchRecord& s : logs.searches) {
    for (const std::string& t : QueryTokens(s.query)) ++token_counts[t];
  }
  for (const UserRecord& u : logs.users) {
    ++region_counts[u.region];
    ++device_counts[u.device];
  }
  p.videos = Vocabulary::FromCounts(p.video_counts, options.max_videos);
  p.tokens = Vocabulary::FromCounts(token_counts, options.max_tokens);
  p.regions = Vocabulary::FromCounts(region_counts, 0);
  p.devices = Vocabulary::FromCounts(device_counts, 0);
  return p;
}

CandidateFeatureOptions FeatureOptions(const TrainerOptions& options) {
  CandidateFeatureOptions f;
  f.max_watches = options.max_watches;
  f.max_searches = options.max_searches;
  for (const std::string& group : options.disabled_feature_groups) {
    if (group == "searches") f.use_searches = false;
    if (group == "example_age") f.use_example_age = false;
    if (group == "demographics") f.use_demographics = false;
  }
  return f;
}

float ExampleAgeScaleDays(const Logs& logs, const Prepared& p) {
  int64_t start = p.window_end_s;
  for (const WatchRecord& w : logs.watches) start = std::min(start, w.time_s);
  return std::max(1.0f, static_cast<float>(p.window_end_s - start) / kSecondsPerDay);
}

// Negatives drawn by training label frequency ^ alpha (uniform at 0).
NegativeSampler MakeSampler(const Prepared& p, const TrainerOptions& options) {
  const int64_t v = p.videos.size();
  std::vector<double> weights(v);
  for (int64_t i = 0; i < v; ++i) {
    const double count = p.video_counts.at(p.videos.value(i));
    weights[i] = options.sampling_alpha == 0 ? 1.0 : std::pow(count, options.sampling_alpha);
  }
  return NegativeSampler(
      weights, std::min<int64_t>(options.num_negatives, std::max<int64_t>(v - 1, 1)),
      options.seed + 1);
}

// A sparse gradient with no rows (every index in the batch was the padding
// row) has a degenerate shape that libtorch 1.13's Adagrad rejects; such a
// gradient changes nothing, so it is dropped before the step.
void DropEmptySparseGradients(torch::nn::Module& module) {
  for (torch::Tensor& p : module.parameters()) {
    const torch::Tensor& g = p.grad();
    if (g.defined() && g.is_sparse() && g._nnz() == 0) p.mutable_grad() = torch::Tensor();
  }
}

template <typename T>
std::vector<std::vector<size_t>> Batches(size_t n, int batch_size,
                                         std::mt19937_64& rng) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<size_t>> batches;
  for (size_t i = 0; i < n; i += batch_size) {
    batches.emplace_back(order.begin() + i,
                         order.begin() + std::min(n, i + batch_size));
  }
  return batches;
}

// The held-out validation watches (each user's second-to-last), scored after
// every epoch to keep the best epoch's model: features as served (serving
// example age), the target's row, and what the user watched before it
// (excluded from the ranking, as at test time).
struct ValidationSet {
  std::vector<CandidateFeatures> features;
  std::vector<int64_t> labels;
  std::vector<std::vector<int64_t>> watched;
};

ValidationSet MakeValidationSet(const Prepared& p, const CandidateFeatureOptions& features,
                                float serving_example_age, int max_users) {
  ValidationSet v;
  const CandidateVocabularies vocabs{&p.videos, &p.tokens, &p.regions, &p.devices};
  for (const std::string& user : p.histories.user_ids()) {
    if (static_cast<int>(v.labels.size()) >= max_users) break;
    auto it = p.validation.find(user);
    if (it == p.validation.end()) continue;
    const int64_t label = p.videos.Lookup(it->second.video_id);
    if (label < 0) continue;
    absl::StatusOr<UserContext> context = p.eval_histories.ContextAt(user, it->second.time_s);
    if (!context.ok()) continue;
    v.features.push_back(ExtractCandidateFeatures(*context, vocabs, features,
                                                  serving_example_age));
    v.labels.push_back(label);
    std::vector<int64_t> watched;
    for (const auto& w : context->watches()) {
      const int64_t row = p.videos.Lookup(w.video_id());
      if (row >= 0 && row != label) watched.push_back(row);
    }
    v.watched.push_back(std::move(watched));
  }
  return v;
}

// Exact full-corpus ranking of the validation targets (already-watched
// excluded); ties count against the target.
RetrievalMetrics Validate(CandidateNet& net, const ValidationSet& v) {
  RetrievalMetrics metrics({10, 50});
  torch::NoGradGuard no_grad;
  const size_t kChunk = 64;
  for (size_t start = 0; start < v.labels.size(); start += kChunk) {
    const size_t end = std::min(v.labels.size(), start + kChunk);
    std::vector<const CandidateFeatures*> rows;
    for (size_t i = start; i < end; ++i) rows.push_back(&v.features[i]);
    torch::Tensor logits = net->AllLogits(net->UserVectors(MakeCandidateBatch(rows)))
                               .contiguous();
    const int64_t n = logits.size(1);
    for (size_t i = start; i < end; ++i) {
      float* row = logits.data_ptr<float>() + (i - start) * n;
      for (int64_t w : v.watched[i]) row[w] = -std::numeric_limits<float>::infinity();
      const float target = row[v.labels[i]];
      int64_t rank = 0;
      for (int64_t j = 0; j < n; ++j) rank += (j != v.labels[i] && row[j] >= target);
      metrics.AddRank(rank);
    }
  }
  return metrics;
}

// Trains for up to `options.candidate_epochs` and keeps the weights of the
// epoch with the best validation HR@50 (the last epoch when there is no
// validation set), stopping once `options.patience` epochs in a row have not
// improved it; returns the kept epoch (1-based).
int TrainCandidateNet(CandidateNet& net, const std::vector<CandidateExample>& examples,
                      NegativeSampler sampler, const ValidationSet& validation,
                      const TrainerOptions& options, std::mt19937_64& rng) {
  CandidateOptimizer optimizer(net, options.candidate_learning_rate);
  int best_epoch = options.candidate_epochs;
  double best_hr = -1;
  std::vector<torch::Tensor> best_weights;
  for (int epoch = 0; epoch < options.candidate_epochs; ++epoch) {
    net->train();
    auto batches = Batches<CandidateExample>(examples.size(), options.batch_size, rng);
    ProgressBar bar(absl::StrCat("candidates epoch ", epoch + 1, "/",
                                 options.candidate_epochs),
                    examples.size(), "ex", options.progress);
    double loss_sum = 0;
    int64_t done = 0;
    std::vector<const CandidateFeatures*> rows;
    std::vector<int64_t> labels, sampled;
    for (size_t b = 0; b < batches.size(); ++b) {
      rows.clear();
      labels.clear();
      for (size_t i : batches[b]) {
        rows.push_back(&examples[i].features);
        labels.push_back(examples[i].label);
      }
      sampler.Sample(&sampled);
      const float loss =
          optimizer.Step(rows, labels, sampled, sampler.log_q(), options.logq_correction);
      loss_sum += static_cast<double>(loss) * rows.size();
      done += rows.size();
      bar.Update(done, absl::StrFormat("loss %.4f", loss_sum / done));
    }
    std::string summary = absl::StrFormat("loss %.4f", loss_sum / std::max<int64_t>(done, 1));
    net->eval();
    if (!validation.labels.empty()) {
      RetrievalMetrics m = Validate(net, validation);
      absl::StrAppend(&summary, absl::StrFormat("  validation HR@50 %.3f NDCG@10 %.3f",
                                                m.hit_rate(50), m.ndcg(10)));
      if (options.keep_best_epoch && m.hit_rate(50) > best_hr) {
        best_hr = m.hit_rate(50);
        best_epoch = epoch + 1;
        best_weights.clear();
        for (const torch::Tensor& t : net->parameters()) best_weights.push_back(t.detach().clone());
      }
    }
    bar.Finish(summary);
    if (options.keep_best_epoch && options.patience > 0 && best_hr >= 0 &&
        epoch + 1 - best_epoch >= options.patience && epoch + 1 < options.candidate_epochs) {
      std::fprintf(stderr, "candidate generation: stopped after epoch %d (no better "
                           "validation HR@50 for %d epochs)\n", epoch + 1, options.patience);
      break;
    }
  }
  if (!best_weights.empty()) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> params = net->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_weights[i]);
  }
  net->eval();
  return best_epoch;
}

// The recall of the ANN index's top `num_candidates` against exact search,
// over the first `max_users` held-out users (1 for an exact index).
absl::StatusOr<float> MeasureAnnRecall(const Prepared& p, const CandidateModel& model,
                                       const AnnIndex& ann, int num_candidates,
                                       int max_users) {
  if (ann.factory() == "Flat") return 1.0f;
  std::vector<float> vectors = model.AnnVectors();
  AnnIndex::Options exact_options;
  exact_options.factory = "Flat";
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<AnnIndex> exact,
                          AnnIndex::Build(vectors.data(), p.videos.size(),
                                          model.output_dim() + 1, exact_options));
  int64_t hits = 0, total = 0;
  int users = 0;
  for (const std::string& user : p.histories.user_ids()) {
    auto it = p.test.find(user);
    if (it == p.test.end()) continue;
    if (++users > max_users) break;
    std::vector<float> query =
        model.AnnQuery(*p.histories.ContextAt(user, it->second.time_s));
    RECSYS_ASSIGN_OR_RETURN(std::vector<Neighbor> truth,
                            exact->Search(query.data(), num_candidates));
    RECSYS_ASSIGN_OR_RETURN(std::vector<Neighbor> approx,
                            ann.Search(query.data(), num_candidates));
    absl::flat_hash_set<int64_t> got;
    for (const Neighbor& n : approx) got.insert(n.row);
    for (const Neighbor& n : truth) hits += got.contains(n.row);
    total += truth.size();
  }
  return total > 0 ? static_cast<float>(hits) / total : 1.0f;
}

// Vocabulary indices of `candidates` (all in the vocabulary: they come from
// the ANN over it).
std::vector<int64_t> Rows(const Prepared& p, const std::vector<Candidate>& candidates) {
  std::vector<int64_t> rows;
  rows.reserve(candidates.size());
  for (const Candidate& c : candidates) rows.push_back(p.videos.Lookup(c.video_id()));
  return rows;
}

// Ranks the corpus for each held-out user through the serving retrieval
// path (`Retriever`: user tower, ANN, already-watched excluded) and compares
// with most-popular.
absl::Status EvaluateCandidates(const Prepared& p, const Retriever& retriever,
                                const std::string& ann_factory, float ann_recall,
                                const TrainerOptions& options, TrainerReport* report) {
  std::vector<int> ks = {10, 50, 100, 500};
  RetrievalMetrics dnn(ks), popular(ks), recent(ks), knn(ks);
  // Baselines fitted on the same training watches, scored in the same run.
  const MostPopular most_popular = MostPopular::Fit(p.train_watches, p.videos);
  const RecentPopular recent_popular =
      RecentPopular::Fit(p.train_watches, p.videos, p.window_end_s + 1, 7);
  ItemKnn::Options knn_options;
  knn_options.window = options.knn_window;
  knn_options.last_watches = options.knn_last_watches;
  knn_options.max_neighbours = options.knn_neighbours;
  const ItemKnn item_knn = ItemKnn::Fit(p.train_watches, p.videos, knn_options);
  for (const std::string& user : p.histories.user_ids()) {
    auto it = p.test.find(user);
    if (it == p.test.end()) continue;
    const WatchRecord& target = it->second;
    UserContext context = *p.eval_histories.ContextAt(user, target.time_s);
    RECSYS_ASSIGN_OR_RETURN(std::vector<Candidate> candidates,
                            retriever.Retrieve(context, 500));
    const int64_t label = p.videos.Lookup(target.video_id);
    dnn.Add(Rows(p, candidates), label);
    popular.Add(most_popular.Recommend(context, 500), label);
    recent.Add(recent_popular.Recommend(context, 500), label);
    knn.Add(item_knn.Recommend(context, 500), label);
  }
  std::string& s = report->summary;
  absl::StrAppend(&s, absl::StrFormat(
      "Candidate generation: each user's held-out last watch, ranked among %d "
      "videos (%lld users, already-watched excluded)\n",
      p.videos.size(), static_cast<long long>(dnn.count())));
  absl::StrAppend(&s, absl::StrFormat("  %-14s %7s %7s %7s %7s %8s %7s\n", "model",
                                      "HR@10", "HR@50", "HR@100", "HR@500",
                                      "NDCG@10", "MRR"));
  for (auto [name, m] : {std::pair<const char*, RetrievalMetrics*>{"dnn", &dnn},
                         {"most-popular", &popular},
                         {"recent-popular", &recent},
                         {"item-knn", &knn}}) {
    absl::StrAppend(&s, absl::StrFormat("  %-14s %7s %7s %7s %7s %8s %7s\n", name,
                                        Pct(m->hit_rate(10)), Pct(m->hit_rate(50)),
                                        Pct(m->hit_rate(100)), Pct(m->hit_rate(500)),
                                        Pct(m->ndcg(10)), Pct(m->mrr())));
    for (int k : ks) {
      report->metrics.emplace_back(absl::StrCat("candidate/", name, "/hr@", k),
                                   m->hit_rate(k));
    }
    report->metrics.emplace_back(absl::StrCat("candidate/", name, "/ndcg@10"),
                                 m->ndcg(10));
    report->metrics.emplace_back(absl::StrCat("candidate/", name, "/mrr"), m->mrr());
  }
  absl::StrAppend(&s, absl::StrFormat("  ANN index %s: recall of the exact top %d = %.4f\n",
                                      ann_factory, options.num_candidates, ann_recall));
  report->metrics.emplace_back("candidate/ann_recall", ann_recall);
  return absl::OkStatus();
}

// One page of impressions with everything the ranking net needs.
struct RankingPage {
  std::unique_ptr<RankingQuery> query;
  UserContext context;
  std::vector<Candidate> candidates;
  std::vector<RankingCandidateFeatures> raw;
  std::vector<const ImpressionRecord*> impressions;
};

std::vector<RankingPage> MakeRankingPages(const Logs& logs, const Prepared& p,
                                          const CandidateModel& candidate_model,
                                          const VideoCatalog& catalog,
                                          const RankingVocabularies& vocabs,
                                          const TrainerOptions& options) {
  absl::flat_hash_map<std::string, size_t> page_index;
  std::vector<std::vector<const ImpressionRecord*>> grouped;
  for (const ImpressionRecord& i : logs.impressions) {
    auto [it, inserted] = page_index.try_emplace(i.page_id, grouped.size());
    if (inserted) grouped.emplace_back();
    grouped[it->second].push_back(&i);
  }
  std::vector<RankingPage> pages;
  pages.reserve(grouped.size());
  ProgressBar bar("ranking features", grouped.size(), "pages", options.progress);
  for (auto& rows : grouped) {
    std::sort(rows.begin(), rows.end(),
              [](auto* a, auto* b) { return a->position < b->position; });
    RankingPage page;
    const ImpressionRecord& first = *rows.front();
    absl::StatusOr<UserContext> context = p.histories.ContextAt(first.user_id, first.time_s);
    if (!context.ok()) continue;
    page.context = std::move(*context);
    // The retrieval score is what candidate generation would give at
    // serving: the serving model's logit.
    std::vector<float> u = candidate_model.UserVector(candidate_model.Features(page.context));
    page.query = std::make_unique<RankingQuery>(ExtractRankingQuery(
        page.context, vocabs, catalog, 50, first.time_s));
    for (const ImpressionRecord* r : rows) {
      Candidate c;
      c.set_video_id(r->video_id);
      int32_t id = candidate_model.videos().Lookup(r->video_id);
      c.set_retrieval_score(id == Vocabulary::kOov ? 0.0f : candidate_model.Logit(u, id));
      c.set_source(SOURCE_DNN);
      page.raw.push_back(ExtractRankingCandidate(*page.query, c, vocabs, catalog));
      page.candidates.push_back(std::move(c));
      page.impressions.push_back(r);
    }
    pages.push_back(std::move(page));
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
      RankingExampleInputs in;
      in.query = page->query.get();
      in.video = page->raw[i].video;
      in.channel = page->raw[i].channel;
      in.language = page->raw[i].language;
      in.normalized.resize(NormalizedWidth(use_powers));
      NormalizeRankingContinuous(page->raw[i], normalizers, use_powers,
                                 in.normalized.data());
      rows->push_back(std::move(in));
      labels->push_back(page->impressions[i]);
    }
  }
}

// The libtorch network's logits for `rows` (a baseline that is evaluated
// but not exported; the exported model is scored through the serving code).
std::vector<float> NetLogits(RankingNet& net, const std::vector<RankingExampleInputs>& rows) {
  torch::NoGradGuard no_grad;
  std::vector<float> out;
  for (size_t start = 0; start < rows.size(); start += 1024) {
    std::vector<const RankingExampleInputs*> batch;
    for (size_t i = start; i < std::min(rows.size(), start + 1024); ++i) batch.push_back(&rows[i]);
    torch::Tensor logits = net->Logits(MakeRankingBatch(batch)).contiguous();
    out.insert(out.end(), logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
  }
  return out;
}

// The paper's weighted per-user loss of `net` on `rows`, which hold whole
// pages in order (RankingInputs), `labels` alike.
double PerUserLoss(RankingNet& net, const std::vector<RankingExampleInputs>& rows,
                   const std::vector<const ImpressionRecord*>& labels) {
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
int TrainRankingNet(RankingNet& net, const std::vector<RankingExampleInputs>& rows,
                    const std::vector<const ImpressionRecord*>& labels,
                    const std::vector<RankingExampleInputs>& validation_rows,
                    const std::vector<const ImpressionRecord*>& validation_labels,
                    const std::string& objective, const TrainerOptions& options,
                    std::mt19937_64& rng) {
  torch::optim::Adagrad optimizer(
      net->parameters(), torch::optim::AdagradOptions(options.ranking_learning_rate));
  int best_epoch = options.ranking_epochs;
  double best_loss = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_weights;
  for (int epoch = 0; epoch < options.ranking_epochs; ++epoch) {
    net->train();
    auto batches = Batches<RankingExampleInputs>(rows.size(), options.batch_size, rng);
    ProgressBar bar(absl::StrCat("ranking (", objective, ") epoch ", epoch + 1, "/",
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
    if (validation_loss < best_loss) {
      best_loss = validation_loss;
      best_epoch = epoch + 1;
      best_weights.clear();
      for (const torch::Tensor& t : net->parameters()) best_weights.push_back(t.detach().clone());
    } else if (options.patience > 0 && epoch + 1 - best_epoch >= options.patience) {
      break;
    }
  }
  if (!best_weights.empty()) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> params = net->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_weights[i]);
  }
  net->eval();
  return best_epoch;
}

// Orders the held-out pages by the exported model (through the serving
// code), by retrieval score and, when given, by the CTR baseline's logits
// (one per impression, pages in order); prints the paper's weighted
// per-user loss, AUC and the model's calibration by deciles.
absl::Status EvaluateRanking(const std::vector<RankingPage*>& pages,
                             const RankingModel& model, const std::vector<float>& ctr_logits,
                             const std::string& objective, TrainerReport* report) {
  std::vector<std::vector<ScoredImpression>> by_model, by_retrieval, by_ctr;
  std::vector<float> model_scores, retrieval_scores, predicted, observed;
  std::vector<bool> clicked;
  size_t next_ctr = 0;
  for (RankingPage* page : pages) {
    std::vector<float> logits =
        model.Logits(page->context, page->candidates, page->query->request_time_s);
    std::vector<ScoredImpression> m, r, c;
    for (size_t i = 0; i < logits.size(); ++i) {
      const ImpressionRecord& imp = *page->impressions[i];
      float retrieval = page->candidates[i].retrieval_score();
      m.push_back({logits[i], imp.clicked, imp.watch_seconds});
      r.push_back({retrieval, imp.clicked, imp.watch_seconds});
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
  }
  std::string& s = report->summary;
  absl::StrAppend(&s, absl::StrFormat(
      "Ranking: held-out last day, %zu pages, %zu impressions\n", pages.size(),
      model_scores.size()));
  absl::StrAppend(&s, absl::StrFormat("  %-24s %22s %7s\n", "order by",
                                      "weighted per-user loss", "AUC"));
  std::vector<float> ctr_scores(ctr_logits.begin(), ctr_logits.end());
  std::vector<std::tuple<std::string, std::string, decltype(&by_model), std::vector<float>*>> rows = {
      {"ranking model", "model", &by_model, &model_scores},
      {"retrieval score", "retrieval", &by_retrieval, &retrieval_scores}};
  if (!ctr_logits.empty()) rows.push_back({"CTR model (unweighted)", "ctr", &by_ctr, &ctr_scores});
  for (const auto& [name, key, scored, scores] : rows) {
    double loss = WeightedPerUserLoss(*scored).loss();
    absl::StatusOr<double> auc = Auc(*scores, clicked);
    double auc_value = auc.ok() ? *auc : 0.5;
    absl::StrAppend(&s, absl::StrFormat("  %-24s %22s %7s\n", name, Pct(loss),
                                        Pct(auc_value)));
    report->metrics.emplace_back(absl::StrCat("ranking/", key, "/weighted_loss"), loss);
    report->metrics.emplace_back(absl::StrCat("ranking/", key, "/auc"), auc_value);
  }
  // exp(logit) of a click model is click odds, not watch time.
  if (objective != "watch_time") return absl::OkStatus();
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
absl::Status EvaluateTwoStage(const Prepared& p, const Retriever& retriever,
                              const RankingModel& ranking_model,
                              const TrainerOptions& options, TrainerReport* report) {
  RetrievalMetrics two_stage({10, 50});
  for (const std::string& user : p.histories.user_ids()) {
    auto it = p.test.find(user);
    if (it == p.test.end()) continue;
    const WatchRecord& target = it->second;
    UserContext context = *p.eval_histories.ContextAt(user, target.time_s);
    RECSYS_ASSIGN_OR_RETURN(std::vector<Candidate> candidates,
                            retriever.Retrieve(context, options.num_candidates));
    std::vector<int64_t> rows = Rows(p, candidates);
    std::vector<float> logits = ranking_model.Logits(context, candidates, target.time_s);
    std::vector<size_t> order(rows.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return logits[a] > logits[b]; });
    std::vector<int64_t> ranked;
    for (size_t i : order) ranked.push_back(rows[i]);
    two_stage.Add(ranked, p.videos.Lookup(target.video_id));
  }
  absl::StrAppend(&report->summary, absl::StrFormat(
      "Two stages (top %d retrieved, then ranked): held-out last watch HR@10 %s, "
      "HR@50 %s\n",
      options.num_candidates, Pct(two_stage.hit_rate(10)), Pct(two_stage.hit_rate(50))));
  report->metrics.emplace_back("two_stage/hr@10", two_stage.hit_rate(10));
  report->metrics.emplace_back("two_stage/hr@50", two_stage.hit_rate(50));
  return absl::OkStatus();
}

// Trains the ranking network on the impressions before the held-out days,
// adds it to `writer` and evaluates it (alone, and after retrieval).
absl::Status TrainRanking(const Logs& logs, const Prepared& p,
                          const CandidateModel& candidate_model, const Retriever& retriever,
                          const TrainerOptions& options, BundleWriter& writer,
                          TrainerReport* report) {
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
  VideoCatalog catalog(logs.videos, p.video_counts, vocabs.channels, vocabs.languages);
  std::vector<RankingPage> pages = MakeRankingPages(
      logs, p, candidate_model, catalog,
      RankingVocabularies{&vocabs.videos, &vocabs.channels, &vocabs.languages}, options);
  std::vector<RankingPage*> train_pages, eval_pages;
  for (RankingPage& page : pages) {
    (page.query->request_time_s < cut_s ? train_pages : eval_pages).push_back(&page);
  }
  if (train_pages.empty()) {
    return absl::InvalidArgumentError(
        "no impressions before the held-out day: the ranking model needs "
        "impressions.csv with more than one day of pages");
  }
  std::vector<QuantileNormalizer> normalizers;
  bundle::RankingModelSpec* rspec = writer.manifest()->mutable_ranking();
  for (int f = 0; f < kNumRankingContinuous; ++f) {
    std::vector<float> values;
    for (RankingPage* page : train_pages) {
      for (const RankingCandidateFeatures& r : page->raw) values.push_back(r.raw[f]);
    }
    normalizers.push_back(QuantileNormalizer::Fit(std::move(values), options.num_quantiles));
    bundle::QuantileSpec* q = rspec->add_quantiles();
    q->set_feature(RankingContinuousName(f));
    for (float b : normalizers.back().boundaries()) q->add_boundaries(b);
  }
  // The last `ranking_validation_days` before the cut choose the epoch; the
  // network trains on the days before them.
  std::vector<RankingPage*> fit_pages, validation_pages;
  const int64_t validation_cut_s = cut_s - options.ranking_validation_days * kSecondsPerDay;
  for (RankingPage* page : train_pages) {
    (page->query->request_time_s < validation_cut_s ? fit_pages : validation_pages)
        .push_back(page);
  }
  if (fit_pages.empty()) {  // Too short a log for a validation day.
    fit_pages = train_pages;
    validation_pages.clear();
  }
  std::vector<RankingExampleInputs> rows, validation_rows;
  std::vector<const ImpressionRecord*> labels, validation_labels;
  RankingInputs(fit_pages, normalizers, options.use_powers, &rows, &labels);
  RankingInputs(validation_pages, normalizers, options.use_powers, &validation_rows,
                &validation_labels);
  std::fprintf(stderr,
               "ranking: %zu training impressions on %zu pages, %zu validation pages, "
               "%zu held-out pages\n",
               rows.size(), fit_pages.size(), validation_pages.size(), eval_pages.size());
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
  std::fprintf(stderr,
               "ranking: vocabularies from clicked impressions: %lld videos (dim %d), "
               "%lld channels (dim %d), %lld languages (dim %d)\n",
               static_cast<long long>(rn.num_videos), rn.video_dim,
               static_cast<long long>(rn.num_channels), rn.channel_dim,
               static_cast<long long>(rn.num_languages), rn.language_dim);
  rn.hidden_layers = options.ranking_hidden;
  rn.use_powers = options.use_powers;
  // Chooses the epoch count on the validation days, then (the validation
  // days being the freshest training data) trains a fresh network on all
  // training days for that many epochs.
  std::vector<RankingExampleInputs> all_rows = rows;
  std::vector<const ImpressionRecord*> all_labels = labels;
  all_rows.insert(all_rows.end(), validation_rows.begin(), validation_rows.end());
  all_labels.insert(all_labels.end(), validation_labels.begin(), validation_labels.end());
  auto train = [&](const std::string& objective, uint64_t seed) {
    torch::manual_seed(seed);
    std::mt19937_64 net_rng(seed);
    RankingNet net(rn);
    const int kept = TrainRankingNet(net, rows, labels, validation_rows, validation_labels,
                                     objective, options, net_rng);
    if (validation_rows.empty()) return std::make_pair(net, kept);
    std::fprintf(stderr,
                 "ranking (%s): kept epoch %d (lowest validation weighted per-user loss); "
                 "training again on all %zu training impressions for %d epochs\n",
                 objective.c_str(), kept, all_rows.size(), kept);
    TrainerOptions refit = options;
    refit.ranking_epochs = kept;
    torch::manual_seed(seed);
    net_rng.seed(seed);
    RankingNet all(rn);
    TrainRankingNet(all, all_rows, all_labels, {}, {}, objective, refit, net_rng);
    return std::make_pair(all, kept);
  };
  auto [ranking_net, kept_epoch] = train(options.objective, options.seed + 3);
  report->metrics.emplace_back("ranking/kept_epoch", kept_epoch);
  // The paper's baseline in the same run: the same network as an unweighted
  // logistic regression on clicks (CTR), scored on the held-out pages.
  std::vector<float> ctr_logits;
  if (options.objective == "watch_time" && options.ranking_ctr_baseline && !eval_pages.empty()) {
    RankingNet ctr_net = train("ctr", options.seed + 2).first;
    std::vector<RankingExampleInputs> eval_rows;
    std::vector<const ImpressionRecord*> eval_labels;
    RankingInputs(eval_pages, normalizers, options.use_powers, &eval_rows, &eval_labels);
    ctr_logits = NetLogits(ctr_net, eval_rows);
  }
  rspec->set_video_embedding_dim(rn.video_dim);
  rspec->set_channel_embedding_dim(rn.channel_dim);
  rspec->set_language_embedding_dim(rn.language_dim);
  for (int h : rn.hidden_layers) rspec->add_hidden_layers(h);
  rspec->set_max_watches(50);
  rspec->set_use_powers(rn.use_powers);
  rspec->set_objective(options.objective);
  RECSYS_RETURN_IF_ERROR(ranking_net->Export(&writer));
  RECSYS_RETURN_IF_ERROR(writer.Flush());

  auto interim = Bundle::Open(writer.dir());
  if (!interim.ok()) return interim.status();
  auto ranking_model = RankingModel::Load(**interim);
  if (!ranking_model.ok()) return ranking_model.status();
  if (!eval_pages.empty()) {
    RECSYS_RETURN_IF_ERROR(EvaluateRanking(eval_pages, **ranking_model, ctr_logits, options.objective, report));
  }
  RECSYS_RETURN_IF_ERROR(EvaluateTwoStage(p, retriever, **ranking_model, options, report));

  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainerReport> Train(const Logs& logs, const TrainerOptions& options) {
  if (logs.watches.empty()) {
    return absl::InvalidArgumentError("the logs hold no watches: nothing to train on");
  }
  for (const std::string& group : options.disabled_feature_groups) {
    if (group != "searches" && group != "example_age" && group != "demographics") {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown feature group '", group,
          "': use searches, example_age or demographics"));
    }
  }
  if (options.example_inputs != "rollback" && options.example_inputs != "random_holdout") {
    return absl::InvalidArgumentError(absl::StrCat(
        "example_inputs must be 'rollback' or 'random_holdout', got '",
        options.example_inputs, "'"));
  }
  if (options.objective != "watch_time" && options.objective != "ctr") {
    return absl::InvalidArgumentError(absl::StrCat(
        "objective must be 'watch_time' or 'ctr', got '", options.objective, "'"));
  }
  if (options.ranking_epochs < 1 || options.ranking_validation_days < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ranking_epochs must be >= 1 and ranking_validation_days >= 0, got ",
        options.ranking_epochs, " and ", options.ranking_validation_days));
  }
  if (!(options.ranking_dim_per_log2 > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ranking_dim_per_log2 must be > 0, got ", options.ranking_dim_per_log2));
  }
  torch::manual_seed(options.seed);
  torch::set_num_threads(std::max(1, options.num_threads));
  SetBlasThreads(options.num_threads);
  std::mt19937_64 rng(options.seed);
  TrainerReport report;

  Prepared p = Prepare(logs, options);
  if (p.videos.size() < 2) {
    return absl::InvalidArgumentError("fewer than 2 distinct watched videos");
  }
  const float scale_days = ExampleAgeScaleDays(logs, p);

  // --- Candidate generation -------------------------------------------------
  ExampleOptions example_options;
  example_options.max_examples_per_user = options.max_examples_per_user;
  example_options.random_holdout = options.example_inputs == "random_holdout";
  example_options.features = FeatureOptions(options);
  example_options.window_end_s = p.window_end_s;
  example_options.age_scale_days = scale_days;
  // A random hold-out's inputs come from the whole (training) history; the
  // held-out test and validation watches are never among them.
  UserHistories holdout_histories;
  if (example_options.random_holdout) {
    Logs train_only;
    train_only.users = logs.users;
    for (const WatchRecord* w : p.train_watches) train_only.watches.push_back(*w);
    train_only.searches = logs.searches;
    holdout_histories = UserHistories::Build(train_only);
  }
  std::vector<CandidateExample> examples = MakeRollbackExamples(
      example_options.random_holdout ? holdout_histories : p.histories, p.train_watches,
      CandidateVocabularies{&p.videos, &p.tokens, &p.regions, &p.devices},
      example_options, rng);
  std::fprintf(stderr,
               "candidate generation: %zu examples, %d videos, %d search tokens\n",
               examples.size(), p.videos.size(), p.tokens.size());
  CandidateNetOptions cn;
  cn.num_videos = p.videos.size();
  cn.num_tokens = p.tokens.size();
  cn.num_regions = p.regions.size();
  cn.num_devices = p.devices.size();
  cn.embedding_dim = options.embedding_dim;
  cn.hidden_layers = options.candidate_hidden;
  cn.output_dim = options.output_dim;
  CandidateNet candidate_net(cn);
  const ValidationSet validation = MakeValidationSet(
      p, example_options.features, options.serving_example_age_days / scale_days,
      options.max_validation_users);
  const int kept_epoch = TrainCandidateNet(candidate_net, examples, MakeSampler(p, options),
                                           validation, options, rng);
  std::fprintf(stderr, "candidate generation: kept epoch %d (best validation HR@50)\n",
               kept_epoch);
  report.metrics.emplace_back("candidate/kept_epoch", kept_epoch);

  auto writer_or = BundleWriter::Create(options.bundles_dir);
  if (!writer_or.ok()) return writer_or.status();
  BundleWriter& writer = **writer_or;
  bundle::BundleManifest& manifest = *writer.manifest();
  manifest.set_training_data(options.training_data);
  manifest.set_training_window_end_s(p.window_end_s);
  for (const auto& [k, v] : options.hyperparameters) {
    (*manifest.mutable_hyperparameters())[k] = v;
  }
  bundle::CandidateModelSpec* cspec = manifest.mutable_candidate();
  cspec->set_embedding_dim(cn.embedding_dim);
  cspec->set_output_dim(cn.output_dim);
  for (int h : cn.hidden_layers) cspec->add_hidden_layers(h);
  cspec->set_region_dim(cn.region_dim);
  cspec->set_device_dim(cn.device_dim);
  cspec->set_max_watches(example_options.features.max_watches);
  cspec->set_max_searches(example_options.features.max_searches);
  for (const std::string& group : options.disabled_feature_groups) {
    cspec->add_disabled_feature_groups(group);
  }
  cspec->set_serving_example_age_days(options.serving_example_age_days);
  cspec->set_example_age_scale_days(scale_days);
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kVideoVocab, p.videos));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kTokenVocab, p.tokens));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kRegionVocab, p.regions));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kDeviceVocab, p.devices));
  RECSYS_RETURN_IF_ERROR(writer.AddVideos(logs.videos));
  {
    std::vector<float> popularity;
    for (const VideoRecord& v : logs.videos) {
      auto it = p.video_counts.find(v.video_id);
      popularity.push_back(it == p.video_counts.end() ? 0.0f : it->second);
    }
    RECSYS_RETURN_IF_ERROR(writer.AddTensor(kCatalogPopularity,
                                     {static_cast<int64_t>(popularity.size())},
                                     popularity.data()));
  }
  RECSYS_RETURN_IF_ERROR(candidate_net->Export(&writer));
  RECSYS_RETURN_IF_ERROR(writer.Flush());

  auto interim = Bundle::Open(writer.dir());
  if (!interim.ok()) return interim.status();
  auto candidate_model = CandidateModel::Load(**interim);
  if (!candidate_model.ok()) return candidate_model.status();

  AnnIndex::Options ann_options;
  ann_options.factory = options.ann_factory;
  std::vector<float> ann_vectors = (*candidate_model)->AnnVectors();
  auto ann = AnnIndex::Build(ann_vectors.data(), p.videos.size(),
                             (*candidate_model)->output_dim() + 1, ann_options);
  if (!ann.ok()) return ann.status();
  const std::string ann_file = "ann.faiss";
  RECSYS_RETURN_IF_ERROR((*ann)->Save(writer.dir() + "/" + ann_file));
  RECSYS_ASSIGN_OR_RETURN(
      float ann_recall,
      MeasureAnnRecall(p, **candidate_model, **ann, options.num_candidates, 200));
  bundle::AnnSpec* ann_spec = manifest.mutable_ann();
  ann_spec->set_factory((*ann)->factory());
  ann_spec->set_file(ann_file);
  ann_spec->set_num_vectors((*ann)->size());
  ann_spec->set_dimension((*ann)->dimension());
  ann_spec->set_recall(ann_recall);
  ann_spec->set_recall_at(options.num_candidates);
  RECSYS_RETURN_IF_ERROR(writer.Flush());
  // Evaluation retrieves through the serving code, from the bundle itself.
  interim = Bundle::Open(writer.dir());
  if (!interim.ok()) return interim.status();
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Retriever> retriever,
                          Retriever::Load(**interim, ann_options));
  RECSYS_RETURN_IF_ERROR(EvaluateCandidates(p, *retriever, (*ann)->factory(), ann_recall,
                                            options, &report));

  // --- Ranking --------------------------------------------------------------
  if (logs.impressions.empty() || !options.train_ranking) {
    absl::StrAppend(&report.summary,
                    logs.impressions.empty()
                        ? "Ranking: not trained (the logs have no impressions); the "
                          "bundle serves candidate generation only\n"
                        : "Ranking: not trained (--train_ranking=false)\n");
  } else {
    RECSYS_RETURN_IF_ERROR(TrainRanking(logs, p, **candidate_model, *retriever, options,
                                        writer, &report));
  }

  for (const auto& [name, value] : report.metrics) {
    bundle::Metric* m = manifest.add_metrics();
    m->set_name(name);
    m->set_value(value);
  }
  auto committed = writer.Commit();
  if (!committed.ok()) return committed.status();
  report.bundle_dir = *committed;
  return report;
}

}  // namespace recsys
