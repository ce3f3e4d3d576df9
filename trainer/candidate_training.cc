#include "trainer/candidate_training.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/progress.h"
#include "common/features/features.h"
#include "evaluation/metrics.h"
#include "trainer/best_epoch.h"
#include "trainer/candidate_optimizer.h"
#include "trainer/process_group.h"
#include "trainer/sampler.h"
#include "trainer/torch_status.h"
#include "trainer/training_loop.h"

namespace recsys {
namespace {

// The largest `n` over the group's ranks (collective).
size_t MaxOverRanks(ProcessGroup& group, size_t n) {
  std::vector<torch::Tensor> each{torch::zeros({group.world_size()}, torch::kLong)};
  each[0][group.rank()] = static_cast<int64_t>(n);
  ThrowIfError(group.AllReduceSum(each));
  return static_cast<size_t>(each[0].max().item<int64_t>());
}

// The negative sampler's seed is `TrainerOptions::seed` plus this.
constexpr uint64_t kSamplerSeedOffset = 1;

// `options` must be valid (`TrainerOptions::Validate`).
CandidateFeatureOptions FeatureOptions(const TrainerOptions& options) {
  CandidateFeatureOptions f;
  f.max_watches = options.max_watches;
  f.max_searches = options.max_searches;
  f.recent_watches = options.recent_watches;
  for (bundle::FeatureGroup group : options.disabled_feature_groups) {
    DisableFeatureGroup(group, &f).IgnoreError();  // checked by Validate()
  }
  return f;
}

// Negatives drawn by training label frequency ^ alpha (uniform at 0).
NegativeSampler MakeSampler(const TrainingData& p, const TrainerOptions& options) {
  const int64_t v = p.videos.size();
  std::vector<double> weights(v);
  for (int64_t i = 0; i < v; ++i) {
    const double count = p.video_counts.at(p.videos.value(i));
    weights[i] = options.sampling_alpha == 0 ? 1.0 : std::pow(count, options.sampling_alpha);
  }
  return NegativeSampler(
      weights, std::min<int64_t>(options.num_negatives, std::max<int64_t>(v - 1, 1)),
      options.seed + kSamplerSeedOffset);
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

ValidationSet MakeValidationSet(const TrainingData& p, const CandidateFeatureOptions& features,
                                float serving_example_age, int max_users) {
  ValidationSet v;
  const CandidateVocabularies vocabs{&p.videos, &p.tokens, &p.regions, &p.devices};
  for (const std::string& user : p.histories.user_ids()) {
    if (static_cast<int>(v.labels.size()) >= max_users) break;
    auto it = p.validation.find(user);
    if (it == p.validation.end()) continue;
    const int64_t label = p.videos.Lookup(it->second.video_id);
    if (label < 0) continue;
    absl::StatusOr<UserContext> context = p.eval_histories.ContextBefore(it->second);
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
  // Users per matrix product: 64, fewer when their logits would pass 16 MB
  // (at 1M videos a 64-user block was 256 MB, allocated, zeroed and freed
  // per block: page faults, not FLOPs, took most of the validation).
  constexpr int64_t kMaxLogits = int64_t{1} << 22;
  const size_t kChunk = static_cast<size_t>(
      std::clamp<int64_t>(kMaxLogits / std::max<int64_t>(1, net->options().num_videos), 1, 64));
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
// improved it; fills the kept epoch (1-based), the epochs run and the kept
// epoch's validation scores in `out`.
void TrainCandidateNet(CandidateNet& net, const std::vector<CandidateExample>& examples,
                       NegativeSampler sampler, const ValidationSet& validation,
                       const TrainerOptions& options, std::mt19937_64& rng,
                       ProcessGroup* group, CandidateTraining* out) {
  std::vector<std::pair<double, double>> scores;  // HR@50, NDCG@10 by epoch
  CandidateOptimizer optimizer(net, options.candidate_learning_rate, group);
  BestEpochKeeper keeper(options.candidate_epochs, options.patience);
  for (int epoch = 0; epoch < options.candidate_epochs; ++epoch) {
    net->train();
    auto batches = Batches(examples.size(), options.batch_size, rng);
    // Data-parallel: every rank takes as many steps as the rank with the
    // most batches (each step is collective), going round its own again.
    const size_t steps = group != nullptr ? MaxOverRanks(*group, batches.size()) : batches.size();
    // The examples this process steps through (a data-parallel rank going
    // round its batches again counts them again).
    int64_t to_do = 0;
    for (size_t b = 0; b < steps; ++b) to_do += batches[b % batches.size()].size();
    ProgressBar bar(absl::StrCat("candidates epoch ", epoch + 1, "/",
                                 options.candidate_epochs),
                    to_do, "ex", options.progress);
    double loss_sum = 0;
    int64_t done = 0;
    std::vector<const CandidateFeatures*> rows;
    std::vector<int64_t> labels, sampled;
    for (size_t b = 0; b < steps; ++b) {
      rows.clear();
      labels.clear();
      for (size_t i : batches[b % batches.size()]) {
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
      if (options.keep_best_epoch) keeper.Offer(epoch + 1, m.hit_rate(50), *net);
      scores.emplace_back(m.hit_rate(50), m.ndcg(10));
    }
    out->epochs_run = epoch + 1;
    bar.Finish(summary);
    if (keeper.ShouldStop(epoch + 1)) {
      spdlog::info("candidate generation: stopped after epoch {} (no better "
                   "validation HR@50 for {} epochs)", epoch + 1, options.patience);
      break;
    }
  }
  if (group != nullptr) {
    spdlog::info("candidate generation: rank {} of {}: {} steps, {:.2f} s in collectives "
                 "({:.2f} ms a step, waiting for the other ranks included)",
                 group->rank(), group->world_size(), optimizer.steps(),
                 optimizer.collective_seconds(),
                 1e3 * optimizer.collective_seconds() / std::max<int64_t>(optimizer.steps(), 1));
  }
  out->kept_epoch = keeper.Restore(*net);
  net->eval();
  if (out->kept_epoch >= 1 && out->kept_epoch <= static_cast<int>(scores.size())) {
    std::tie(out->validation_hr50, out->validation_ndcg10) = scores[out->kept_epoch - 1];
  }
}

}  // namespace

CandidateTraining TrainCandidateModel(const Logs& logs, const TrainingData& p,
                                      const TrainerOptions& options, std::mt19937_64& rng) {
  CandidateTraining out;
  const float scale_days = ExampleAgeScaleDays(logs, p);
  ExampleOptions& example_options = out.example_options;
  example_options.max_examples_per_user = options.max_examples_per_user;
  example_options.random_holdout = options.example_inputs == ExampleInputs::kRandomHoldout;
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
  // Data-parallel: this rank's share of the users (a hash of the ID).
  const DistributedOptions& d = options.distributed;
  std::vector<const WatchRecord*> my_watches;
  if (d.world_size > 1) {
    for (const WatchRecord* w : p.train_watches) {
      if (std::hash<std::string>()(w->user_id) % d.world_size == static_cast<size_t>(d.rank)) {
        my_watches.push_back(w);
      }
    }
  }
  std::vector<CandidateExample> examples = MakeRollbackExamples(
      example_options.random_holdout ? holdout_histories : p.histories,
      d.world_size > 1 ? my_watches : p.train_watches,
      CandidateVocabularies{&p.videos, &p.tokens, &p.regions, &p.devices},
      example_options, rng);
  spdlog::info("candidate generation: {} examples, {} videos, {} search tokens",
               examples.size(), p.videos.size(), p.tokens.size());
  CandidateNetOptions cn;
  cn.num_videos = p.videos.size();
  cn.num_tokens = p.tokens.size();
  cn.num_regions = p.regions.size();
  cn.num_devices = p.devices.size();
  cn.embedding_dim = options.embedding_dim;
  cn.hidden_layers = options.candidate_hidden;
  cn.output_dim = options.output_dim;
  cn.use_recent = example_options.features.recent_watches > 0;
  out.net = CandidateNet(cn);
  const ValidationSet validation = MakeValidationSet(
      p, example_options.features, ScaledExampleAge(options.serving_example_age_days, scale_days),
      options.max_validation_users);
  std::unique_ptr<ProcessGroup> group;
  if (d.world_size > 1) {
    absl::StatusOr<std::unique_ptr<ProcessGroup>> joined = ProcessGroup::Join(d);
    ThrowIfError(joined.status());
    group = std::move(*joined);
    // Every replica starts from rank 0's weights.
    std::vector<torch::Tensor> weights;
    for (const torch::Tensor& w : out.net->parameters()) weights.push_back(w);
    ThrowIfError(group->Broadcast(weights));
    spdlog::info("candidate generation: rank {} of {}: {} examples of its users", d.rank,
                 d.world_size, examples.size());
    if (examples.empty()) {
      ThrowIfError(absl::FailedPreconditionError(absl::StrCat(
          "rank ", d.rank, " of ", d.world_size,
          " has no training examples: fewer users than ranks?")));
    }
  }
  TrainCandidateNet(out.net, examples, MakeSampler(p, options), validation, options, rng,
                    group.get(), &out);
  spdlog::info("candidate generation: kept epoch {} (best validation HR@50)", out.kept_epoch);
  return out;
}

}  // namespace recsys
