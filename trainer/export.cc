#include "trainer/export.h"

#include <chrono>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/base/status_macros.h"
#include "common/serving/ann_index.h"
#include "common/serving/covisitation.h"
#include "trainer/ann_export.h"
#include "trainer/covisitation.h"

namespace recsys {
namespace {

// The ANN recall is measured on the first this many held-out users.
constexpr int kAnnRecallUsers = 200;

// The contexts of the first `max_users` held-out users, before their test
// watch: the users the ANN index's recall is measured on.
absl::StatusOr<std::vector<UserContext>> HeldOutContexts(const TrainingData& p, int max_users) {
  std::vector<UserContext> contexts;
  for (const std::string& user : p.histories.user_ids()) {
    if (static_cast<int>(contexts.size()) >= max_users) break;
    auto it = p.test.find(user);
    if (it == p.test.end()) continue;
    RECSYS_ASSIGN_OR_RETURN(UserContext context, p.histories.ContextBefore(it->second));
    contexts.push_back(std::move(context));
  }
  return contexts;
}

// Builds the co-visitation table from the training watches and adds it to
// `writer` (nothing when `options.covisit_neighbours` is 0).
absl::Status ExportCovisitation(const TrainingData& p, const TrainerOptions& options,
                                BundleWriter& writer) {
  if (options.covisit_neighbours <= 0) {
    spdlog::info("co-visitation table: none (--covisit_neighbours=0)");
    return absl::OkStatus();
  }
  const auto start = std::chrono::steady_clock::now();
  CovisitationOptions covisit_options;
  covisit_options.window = options.covisit_window;
  covisit_options.max_neighbours = options.covisit_neighbours;
  RECSYS_ASSIGN_OR_RETURN(CovisitationTable table,
                          BuildCovisitation(p.train_watches, p.videos, covisit_options));
  RECSYS_RETURN_IF_ERROR(AddCovisitation(table, options.covisit_window, options.covisit_share,
                                         options.covisit_seeds, writer));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info(
      "co-visitation table: {} videos, {} neighbours in all (at most {} each, window {}), "
      "built and written in {:.2f} s",
      table.num_videos(), table.num_entries(), table.max_neighbours(), options.covisit_window,
      seconds);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BundleWriter>> CreateBundleWriter(const TrainingData& p,
                                                                 const TrainerOptions& options) {
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<BundleWriter> writer,
                          BundleWriter::Create(options.bundles_dir));
  bundle::BundleManifest& manifest = *writer->manifest();
  manifest.set_training_data(options.training_data);
  manifest.set_training_window_end_s(p.window_end_s);
  for (const auto& [k, v] : options.hyperparameters) {
    (*manifest.mutable_hyperparameters())[k] = v;
  }
  return writer;
}

absl::StatusOr<ExportedCandidateModel> ExportCandidateModel(const Logs& logs,
                                                            const TrainingData& p,
                                                            const CandidateTraining& trained,
                                                            const TrainerOptions& options,
                                                            BundleWriter& writer) {
  bundle::BundleManifest& manifest = *writer.manifest();
  const CandidateNetOptions& cn = trained.net->options();
  const ExampleOptions& example_options = trained.example_options;
  bundle::CandidateModelSpec* cspec = manifest.mutable_candidate();
  cspec->set_embedding_dim(cn.embedding_dim);
  cspec->set_output_dim(cn.output_dim);
  for (int h : cn.hidden_layers) cspec->add_hidden_layers(h);
  cspec->set_region_dim(cn.region_dim);
  cspec->set_device_dim(cn.device_dim);
  cspec->set_max_watches(example_options.features.max_watches);
  cspec->set_max_searches(example_options.features.max_searches);
  cspec->set_recent_watches(example_options.features.recent_watches);
  SetDisabledFeatureGroups(options.disabled_feature_groups, cspec);
  cspec->set_serving_example_age_days(options.serving_example_age_days);
  cspec->set_example_age_scale_days(example_options.age_scale_days);
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
  CandidateNet net = trained.net;  // shares the module
  RECSYS_RETURN_IF_ERROR(net->Export(&writer));
  RECSYS_RETURN_IF_ERROR(writer.Flush());

  auto interim = Bundle::Open(writer.dir());
  if (!interim.ok()) return interim.status();
  ExportedCandidateModel out;
  RECSYS_ASSIGN_OR_RETURN(out.model, CandidateModel::Load(**interim));
  const CandidateModel* candidate_model = out.model.get();

  AnnIndex::Options ann_options;
  ann_options.factory = options.ann_factory;
  RECSYS_ASSIGN_OR_RETURN(std::vector<UserContext> recall_contexts,
                          HeldOutContexts(p, kAnnRecallUsers));
  RECSYS_ASSIGN_OR_RETURN(ExportedAnnIndex ann,
                          ExportAnnIndex(*candidate_model, recall_contexts,
                                         options.num_candidates, ann_options,
                                         options.ann_target_recall, writer));
  out.ann_recall = ann.recall;
  out.ann_factory = ann.index->factory();
  RECSYS_RETURN_IF_ERROR(ExportCovisitation(p, options, writer));
  RECSYS_RETURN_IF_ERROR(writer.Flush());
  // Evaluation retrieves through the serving code, from the bundle itself.
  interim = Bundle::Open(writer.dir());
  if (!interim.ok()) return interim.status();
  Retriever::Options retriever_options;
  retriever_options.ann = ann_options;
  // The nprobe the export just chose, read back from the manifest as the
  // servers read it (ServingNprobe).
  retriever_options.ann.nprobe = 0;
  retriever_options.covisit_share = options.covisit_share;
  retriever_options.covisit_seeds = options.covisit_seeds;
  RECSYS_ASSIGN_OR_RETURN(out.retriever, Retriever::Load(**interim, retriever_options));
  return out;
}

absl::StatusOr<std::string> CommitBundle(const TrainerReport& report, BundleWriter& writer) {
  for (const auto& [name, value] : report.metrics) {
    bundle::Metric* m = writer.manifest()->add_metrics();
    m->set_name(name);
    m->set_value(value);
  }
  return writer.Commit();
}

}  // namespace recsys
