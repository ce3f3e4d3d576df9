#ifndef RECSYS_TRAINER_DISTRIBUTED_OPTIONS_H_
#define RECSYS_TRAINER_DISTRIBUTED_OPTIONS_H_

// Where a data-parallel trainer process stands in its group: the trainer's
// --world_size --rank --master_addr --master_port (trainer/process_group.h
// joins the group). Without libtorch, so that the trainer's options can
// hold it.

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace recsys {

struct DistributedOptions {
  // 1: this process alone (no group).
  int world_size = 1;
  int rank = 0;
  // Where rank 0 serves the rendezvous store (every rank connects there).
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // How long to wait for every rank to join, and for any one collective.
  absl::Duration timeout = absl::Seconds(300);
};

// InvalidArgument naming the flag (--world_size, --rank, --master_addr,
// --master_port) when out of range.
absl::Status ValidateDistributedOptions(const DistributedOptions& options);

}  // namespace recsys

#endif  // RECSYS_TRAINER_DISTRIBUTED_OPTIONS_H_
