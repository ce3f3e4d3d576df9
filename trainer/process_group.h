#ifndef RECSYS_TRAINER_PROCESS_GROUP_H_
#define RECSYS_TRAINER_PROCESS_GROUP_H_

// Data-parallel training's communication (issue 15): libtorch's c10d
// `ProcessGroupGloo` from Debian's libtorch-dev (built with Gloo; the
// headers come from libgloo-dev), with a `TCPStore` rendezvous at
// master_addr:master_port that rank 0 serves. N trainer processes, one
// group; each call is collective (every rank makes it, in the same order).

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trainer/distributed_options.h"

namespace recsys {

class ProcessGroup {
 public:
  // Joins the group: rank 0 serves the store, every rank waits until all
  // world_size ranks have joined. Unavailable (naming the address and what
  // to check) when the group does not form within the timeout.
  static absl::StatusOr<std::unique_ptr<ProcessGroup>> Join(const DistributedOptions& options);
  ~ProcessGroup();

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }

  // Sums each tensor (CPU, float; any shapes, one collective for all)
  // element-wise over the ranks in place, then divides by world_size: the
  // mean of the ranks' dense gradients.
  absl::Status AllReduceMean(std::vector<torch::Tensor>& tensors);
  // Sums in place (counts, losses).
  absl::Status AllReduceSum(std::vector<torch::Tensor>& tensors);
  // Every rank's `tensors` become rank `root`'s (same shapes on every rank).
  absl::Status Broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  // Returns when every rank has called it.
  absl::Status Barrier();

 private:
  struct Impl;
  ProcessGroup(DistributedOptions options, std::unique_ptr<Impl> impl);

  DistributedOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace recsys

#endif  // RECSYS_TRAINER_PROCESS_GROUP_H_
