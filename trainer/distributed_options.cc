#include "trainer/distributed_options.h"

#include "absl/strings/str_cat.h"

namespace recsys {

absl::Status ValidateDistributedOptions(const DistributedOptions& o) {
  if (o.world_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--world_size must be at least 1, got ", o.world_size));
  }
  if (o.rank < 0 || o.rank >= o.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("--rank must be in [0, --world_size=",
                                                   o.world_size, "), got ", o.rank));
  }
  if (o.master_addr.empty()) {
    return absl::InvalidArgumentError("--master_addr is empty (rank 0's host name or IP)");
  }
  if (o.master_port < 1 || o.master_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--master_port must be in [1, 65535], got ", o.master_port));
  }
  if (o.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the group's timeout must be positive");
  }
  return absl::OkStatus();
}

}  // namespace recsys
