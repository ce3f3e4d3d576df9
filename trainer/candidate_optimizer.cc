#include "trainer/candidate_optimizer.h"

#include <chrono>
#include <cmath>

#include "trainer/torch_status.h"

// The embedding loops below are the step's hot spots: cloned for AVX-512 and
// AVX2 (the best runs, chosen at load), built with -O3 -fno-math-errno
// (trainer/BUILD) so that sqrt vectorises.
#define RECSYS_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace recsys {
namespace {

RECSYS_VECTOR_CLONES
void AdagradRow(const float* g, float* w, float* acc, int64_t dim, float learning_rate) {
  for (int64_t d = 0; d < dim; ++d) {
    acc[d] += g[d] * g[d];
    w[d] -= learning_rate * g[d] / (std::sqrt(acc[d]) + 1e-10f);
  }
}

// out[d] += scale * x[d]
RECSYS_VECTOR_CLONES
void Axpy(float scale, const float* x, float* out, int64_t dim) {
  for (int64_t d = 0; d < dim; ++d) out[d] += scale * x[d];
}

torch::Tensor LongTensor(const std::vector<int64_t>& v) {
  return torch::from_blob(const_cast<int64_t*>(v.data()),
                          {static_cast<int64_t>(v.size())}, torch::kLong)
      .clone();
}

}  // namespace

CandidateOptimizer::Table::Table(const torch::Tensor& w)
    : weight(w), sum(torch::zeros_like(w)), dim(w.size(1)), slot(w.size(0), -1) {}

int64_t CandidateOptimizer::Table::Local(int64_t row) {
  int32_t& s = slot[row];
  if (s < 0) {
    s = static_cast<int32_t>(rows.size());
    rows.push_back(row);
  }
  return s;
}

void CandidateOptimizer::Table::ApplyAndClear(float learning_rate) {
  float* w = weight.data_ptr<float>();
  float* acc = sum.data_ptr<float>();
  for (size_t u = 0; u < rows.size(); ++u) {
    AdagradRow(grad.data() + u * dim, w + rows[u] * dim, acc + rows[u] * dim, dim,
               learning_rate);
    slot[rows[u]] = -1;
  }
  rows.clear();
}

void CandidateOptimizer::Table::Clear() {
  for (int64_t row : rows) slot[row] = -1;
  rows.clear();
}

absl::Status CandidateOptimizer::ExchangeRows(const std::vector<Table*>& tables,
                                              ProcessGroup& group) {
  const int world = group.world_size(), n = static_cast<int>(tables.size());
  // Every rank's number of used rows per table, then all rows and
  // gradients, table by table and rank by rank, each rank writing its own
  // parts (an all-gather made of sums of zero-padded parts).
  std::vector<torch::Tensor> counts{torch::zeros({world, n}, torch::kLong)};
  for (int t = 0; t < n; ++t) {
    counts[0][group.rank()][t] = static_cast<int64_t>(tables[t]->rows.size());
  }
  if (absl::Status s = group.AllReduceSum(counts); !s.ok()) return s;
  const torch::Tensor c = counts[0].contiguous();
  const int64_t* count = c.data_ptr<int64_t>();  // [rank][table]
  // Offsets of (table t, rank r)'s part in the ids and in the gradients.
  std::vector<int64_t> id_at(n * world), grad_at(n * world);
  int64_t ids_total = 0, grads_total = 0;
  for (int t = 0; t < n; ++t) {
    for (int r = 0; r < world; ++r) {
      id_at[t * world + r] = ids_total;
      grad_at[t * world + r] = grads_total;
      ids_total += count[r * n + t];
      grads_total += count[r * n + t] * tables[t]->dim;
    }
  }
  std::vector<torch::Tensor> ids{torch::zeros({ids_total}, torch::kLong)};
  std::vector<torch::Tensor> grads{torch::zeros({grads_total})};
  int64_t* id = ids[0].data_ptr<int64_t>();
  float* g = grads[0].data_ptr<float>();
  for (int t = 0; t < n; ++t) {
    const Table& table = *tables[t];
    std::copy(table.rows.begin(), table.rows.end(), id + id_at[t * world + group.rank()]);
    std::copy(table.grad.begin(), table.grad.end(), g + grad_at[t * world + group.rank()]);
  }
  if (absl::Status s = group.AllReduceSum(ids); !s.ok()) return s;
  if (absl::Status s = group.AllReduceSum(grads); !s.ok()) return s;
  const float scale = 1.0f / static_cast<float>(world);
  for (int t = 0; t < n; ++t) {
    Table& table = *tables[t];
    const int64_t dim = table.dim;
    table.Clear();
    std::vector<int64_t> local;
    for (int r = 0; r < world; ++r) {
      const int64_t begin = id_at[t * world + r], end = begin + count[r * n + t];
      for (int64_t j = begin; j < end; ++j) local.push_back(table.Local(id[j]));
    }
    table.grad.assign(table.rows.size() * dim, 0.0f);
    size_t k = 0;
    for (int r = 0; r < world; ++r) {
      const float* part = g + grad_at[t * world + r];
      for (int64_t j = 0; j < count[r * n + t]; ++j, ++k) {
        Axpy(scale, part + j * dim, table.grad.data() + local[k] * dim, dim);
      }
    }
  }
  return absl::OkStatus();
}

torch::Tensor CandidateOptimizer::BagMeans(const Table& table, const Bags& bags) {
  const int64_t b = bags.offsets.size() - 1, dim = table.dim;
  torch::Tensor means = torch::zeros({b, dim});
  const float* w = table.weight.data_ptr<float>();
  float* out = means.data_ptr<float>();
  for (int64_t i = 0; i < b; ++i) {
    const int64_t begin = bags.offsets[i], end = bags.offsets[i + 1];
    if (begin == end) continue;
    float* o = out + i * dim;
    for (int64_t j = begin; j < end; ++j) {
      Axpy(1.0f, w + table.rows[bags.local[j]] * dim, o, dim);
    }
    const float scale = 1.0f / (end - begin);
    for (int64_t d = 0; d < dim; ++d) o[d] *= scale;
  }
  return means.requires_grad_(true);
}

void CandidateOptimizer::BackwardBags(const torch::Tensor& means, const Bags& bags,
                                      Table* table) {
  const int64_t dim = table->dim;
  if (!means.grad().defined()) return;
  torch::Tensor g = means.grad().contiguous();
  const float* gm = g.data_ptr<float>();
  for (size_t i = 0; i + 1 < bags.offsets.size(); ++i) {
    const int64_t begin = bags.offsets[i], end = bags.offsets[i + 1];
    if (begin == end) continue;
    const float scale = 1.0f / (end - begin);
    for (int64_t j = begin; j < end; ++j) {
      Axpy(scale, gm + i * dim, table->grad.data() + bags.local[j] * dim, dim);
    }
  }
}

CandidateOptimizer::CandidateOptimizer(CandidateNet net, float learning_rate,
                                       ProcessGroup* group)
    : net_(net),
      learning_rate_(learning_rate),
      group_(group != nullptr && group->world_size() > 1 ? group : nullptr),
      tower_optimizer_(net->TowerParameters(), torch::optim::AdagradOptions(learning_rate)),
      watches_(net->watch_embedding()->weight),
      tokens_(net->token_embedding()->weight),
      regions_(net->region_embedding()->weight),
      devices_(net->device_embedding()->weight),
      video_vectors_(net->video_embedding()->weight),
      video_biases_(net->video_bias()->weight) {}

CandidateOptimizer::TowerInputs CandidateOptimizer::AssembleTowerInputs(
    const std::vector<const CandidateFeatures*>& rows) {
  const int64_t b = rows.size();
  TowerInputs in;
  // Input bags over shifted tables (row = id + 1; row 0, padding / OOV, is
  // never read or written).
  auto add = [](int32_t id, Table& table, Bags& bags) {
    if (id >= 0) bags.local.push_back(table.Local(id + 1));
  };
  Bags* all_bags[] = {&in.watch_bags, &in.recent_bags, &in.token_bags, &in.region_bags,
                      &in.device_bags};
  const bool use_recent = net_->options().use_recent;
  torch::Tensor dense = torch::empty({b, kNumCandidateDense});
  float* dense_out = dense.data_ptr<float>();
  for (int64_t i = 0; i < b; ++i) {
    const CandidateFeatures& f = *rows[i];
    for (Bags* bags : all_bags) bags->offsets.push_back(bags->local.size());
    for (int32_t id : f.watch_ids) add(id, watches_, in.watch_bags);
    if (use_recent) {
      for (int32_t id : f.recent_ids) add(id, watches_, in.recent_bags);
    }
    for (int32_t id : f.token_ids) add(id, tokens_, in.token_bags);
    add(f.region, regions_, in.region_bags);
    add(f.device, devices_, in.device_bags);
    for (int j = 0; j < kNumCandidateDense; ++j) dense_out[i * kNumCandidateDense + j] = f.dense[j];
  }
  for (Bags* bags : all_bags) bags->offsets.push_back(bags->local.size());
  in.blocks.watch_bag = BagMeans(watches_, in.watch_bags);
  in.blocks.recent_bag = use_recent ? BagMeans(watches_, in.recent_bags)
                                    : torch::zeros({b, 0});
  in.blocks.token_bag = BagMeans(tokens_, in.token_bags);
  in.blocks.region = BagMeans(regions_, in.region_bags);
  in.blocks.device = BagMeans(devices_, in.device_bags);
  in.blocks.dense = dense;
  in.x = CandidateTowerInput(in.blocks);
  return in;
}

torch::Tensor CandidateOptimizer::UserVectors(
    const std::vector<const CandidateFeatures*>& rows) {
  torch::NoGradGuard no_grad;
  TowerInputs in = AssembleTowerInputs(rows);
  for (Table* t : {&watches_, &tokens_, &regions_, &devices_}) t->Clear();
  return net_->Tower(in.x);
}

float CandidateOptimizer::Step(const std::vector<const CandidateFeatures*>& rows,
                               const std::vector<int64_t>& labels,
                               const std::vector<int64_t>& sampled,
                               const torch::Tensor& log_q, bool logq_correction) {
  const int64_t b = rows.size(), s = sampled.size();
  TowerInputs in = AssembleTowerInputs(rows);

  // Output rows of the labels and the sampled negatives.
  const int64_t dim = video_vectors_.dim;
  std::vector<int64_t> label_local(b), sampled_local(s);
  torch::Tensor v_pos = torch::empty({b, dim}), v_neg = torch::empty({s, dim});
  torch::Tensor b_pos = torch::empty({b}), b_neg = torch::empty({s});
  const float* vw = video_vectors_.weight.data_ptr<float>();
  const float* bw = video_biases_.weight.data_ptr<float>();
  auto gather = [&](const std::vector<int64_t>& ids, std::vector<int64_t>& local,
                    torch::Tensor& v, torch::Tensor& bias) {
    float* vo = v.data_ptr<float>();
    float* bo = bias.data_ptr<float>();
    for (size_t i = 0; i < ids.size(); ++i) {
      local[i] = video_vectors_.Local(ids[i]);
      std::copy(vw + ids[i] * dim, vw + (ids[i] + 1) * dim, vo + i * dim);
      bo[i] = bw[ids[i]];
    }
    v.requires_grad_(true);
    bias.requires_grad_(true);
  };
  gather(labels, label_local, v_pos, b_pos);
  gather(sampled, sampled_local, v_neg, b_neg);

  torch::Tensor label_t = LongTensor(labels), sampled_t = LongTensor(sampled);
  torch::Tensor logits = SampledLogitsFromRows(
      net_->Tower(in.x), v_pos, b_pos, v_neg, b_neg, label_t, sampled_t,
      log_q.index_select(0, label_t), log_q.index_select(0, sampled_t), logq_correction);
  torch::Tensor loss = -torch::log_softmax(logits, 1).select(1, 0).mean();

  tower_optimizer_.zero_grad();
  loss.backward();
  using Clock = std::chrono::steady_clock;
  ++steps_;
  if (group_ != nullptr) {
    const Clock::time_point t0 = Clock::now();
    std::vector<torch::Tensor> dense;
    for (const torch::Tensor& p : tower_optimizer_.param_groups()[0].params()) {
      if (p.grad().defined()) dense.push_back(p.grad());
    }
    ThrowIfError(group_->AllReduceMean(dense));
    collective_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  tower_optimizer_.step();

  for (Table* t : {&watches_, &tokens_, &regions_, &devices_}) {
    t->grad.assign(t->rows.size() * t->dim, 0.0f);
  }
  BackwardBags(in.blocks.watch_bag, in.watch_bags, &watches_);
  if (net_->options().use_recent) {
    BackwardBags(in.blocks.recent_bag, in.recent_bags, &watches_);
  }
  BackwardBags(in.blocks.token_bag, in.token_bags, &tokens_);
  BackwardBags(in.blocks.region, in.region_bags, &regions_);
  BackwardBags(in.blocks.device, in.device_bags, &devices_);
  // Output rows: the video vectors and biases share the used-row list.
  video_vectors_.grad.assign(video_vectors_.rows.size() * dim, 0.0f);
  video_biases_.grad.assign(video_vectors_.rows.size(), 0.0f);
  auto scatter = [&](const torch::Tensor& v, const torch::Tensor& bias,
                     const std::vector<int64_t>& local) {
    torch::Tensor gv = v.grad().contiguous(), gb = bias.grad().contiguous();
    const float* pv = gv.data_ptr<float>();
    const float* pb = gb.data_ptr<float>();
    for (size_t i = 0; i < local.size(); ++i) {
      Axpy(1.0f, pv + i * dim, video_vectors_.grad.data() + local[i] * dim, dim);
      video_biases_.grad[local[i]] += pb[i];
    }
  };
  scatter(v_pos, b_pos, label_local);
  scatter(v_neg, b_neg, sampled_local);
  video_biases_.rows = video_vectors_.rows;
  const std::vector<Table*> tables{&watches_,       &tokens_,      &regions_,
                                   &devices_,       &video_vectors_, &video_biases_};
  // (The biases share the vectors' row list; exchanged as a table of their
  // own, they come back in the same merged order.)
  if (group_ != nullptr) {
    const Clock::time_point t0 = Clock::now();
    ThrowIfError(ExchangeRows(tables, *group_));
    collective_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  for (Table* t : tables) t->ApplyAndClear(learning_rate_);
  return loss.item<float>();
}

}  // namespace recsys

