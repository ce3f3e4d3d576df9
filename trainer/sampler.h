#ifndef RECSYS_TRAINER_SAMPLER_H_
#define RECSYS_TRAINER_SAMPLER_H_

// Draws sampled-softmax negatives from a fixed proposal Q in O(1) per draw
// (Walker's alias method), so that a step's sampling does not grow with the
// corpus the way torch::multinomial's O(V) per call does.

#include <cstdint>
#include <random>
#include <vector>

#include <torch/torch.h>

namespace recsys {

class NegativeSampler {
 public:
  // `weights` [V] >= 0, not all zero (normalised here); `num_samples` draws
  // per batch, with replacement.
  NegativeSampler(const std::vector<double>& weights, int64_t num_samples, uint64_t seed);

  // Replaces `*out` with `num_samples()` draws.
  void Sample(std::vector<int64_t>* out);

  int64_t num_samples() const { return num_samples_; }
  const std::vector<double>& probabilities() const { return probabilities_; }
  // [V] float: log(S * Q(j)), each video's log expected count among the S
  // draws (what logQ correction subtracts).
  const torch::Tensor& log_q() const { return log_q_; }

 private:
  int64_t num_samples_;
  std::vector<double> probabilities_;
  std::vector<double> accept_;
  std::vector<int64_t> alias_;
  torch::Tensor log_q_;
  std::mt19937_64 rng_;
};

}  // namespace recsys

#endif  // RECSYS_TRAINER_SAMPLER_H_
