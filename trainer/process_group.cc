#include "trainer/process_group.h"

#include <chrono>
#include <utility>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "trainer/torch_status.h"

namespace recsys {

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(DistributedOptions options, std::unique_ptr<Impl> impl)
    : options_(std::move(options)), impl_(std::move(impl)) {}

ProcessGroup::~ProcessGroup() = default;

absl::StatusOr<std::unique_ptr<ProcessGroup>> ProcessGroup::Join(
    const DistributedOptions& options) {
  if (absl::Status s = ValidateDistributedOptions(options); !s.ok()) return s;
  const std::string where = absl::StrCat(options.master_addr, ":", options.master_port);
  const auto timeout = std::chrono::milliseconds(absl::ToInt64Milliseconds(options.timeout));
  auto impl = std::make_unique<Impl>();
  absl::Status joined = CatchTorchErrors("joining the process group", [&]() -> absl::Status {
    c10d::TCPStoreOptions store;
    store.port = static_cast<uint16_t>(options.master_port);
    store.isServer = options.rank == 0;
    store.numWorkers = options.world_size;
    store.waitWorkers = false;  // the group's own rendezvous waits for every rank
    store.timeout = timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store);
    auto gloo = c10d::ProcessGroupGloo::Options::create();
    gloo->timeout = timeout;
    // Gloo's own connections: on this machine's loopback when the group is
    // (master on 127.x / localhost), else on the address this host's name
    // resolves to (each pod's own, in a Kubernetes Indexed Job).
    const bool loopback = options.master_addr == "localhost" ||
                          absl::StartsWith(options.master_addr, "127.");
    gloo->devices.push_back(loopback
                                ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                : c10d::ProcessGroupGloo::createDefaultDevice());
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, options.rank,
                                                              options.world_size, gloo);
    return absl::OkStatus();
  });
  if (!joined.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "rank ", options.rank, " of ", options.world_size, " could not join the group at ",
        where, " within ", absl::FormatDuration(options.timeout),
        " (is rank 0 running and reachable there, and are all --world_size ranks started?): ",
        joined.message()));
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(options, std::move(impl)));
}

namespace {

// The tensors as one flat buffer, and back.
torch::Tensor Flatten(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  flat.reserve(tensors.size());
  for (const torch::Tensor& t : tensors) flat.push_back(t.reshape({-1}));
  return torch::cat(flat);
}

void Unflatten(const torch::Tensor& buffer, std::vector<torch::Tensor>& tensors) {
  int64_t offset = 0;
  for (torch::Tensor& t : tensors) {
    const int64_t n = t.numel();
    t.copy_(buffer.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

}  // namespace

absl::Status ProcessGroup::AllReduceSum(std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return absl::OkStatus();
  return CatchTorchErrors("all-reduce", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    // One collective for all of them: Gloo reduces a list of same-shaped
    // tensors (one per device), so the tensors travel as one flat buffer.
    std::vector<torch::Tensor> buffer{Flatten(tensors)};
    impl_->group->allreduce(buffer)->wait();
    Unflatten(buffer[0], tensors);
    return absl::OkStatus();
  });
}

absl::Status ProcessGroup::AllReduceMean(std::vector<torch::Tensor>& tensors) {
  if (absl::Status s = AllReduceSum(tensors); !s.ok()) return s;
  if (world_size() > 1) {
    torch::NoGradGuard no_grad;
    for (torch::Tensor& t : tensors) t.div_(world_size());
  }
  return absl::OkStatus();
}

absl::Status ProcessGroup::Broadcast(std::vector<torch::Tensor>& tensors, int root) {
  if (tensors.empty()) return absl::OkStatus();
  return CatchTorchErrors("broadcast", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> buffer{Flatten(tensors)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    impl_->group->broadcast(buffer, options)->wait();
    Unflatten(buffer[0], tensors);
    return absl::OkStatus();
  });
}

absl::Status ProcessGroup::Barrier() {
  return CatchTorchErrors("barrier", [&]() -> absl::Status {
    impl_->group->barrier()->wait();
    return absl::OkStatus();
  });
}

}  // namespace recsys
