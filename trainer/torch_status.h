#ifndef RECSYS_TRAINER_TORCH_STATUS_H_
#define RECSYS_TRAINER_TORCH_STATUS_H_

// libtorch reports errors by throwing `c10::Error`; our APIs return
// `absl::Status`. `CatchTorchErrors` is the trainer's boundary between the
// two: nothing libtorch throws leaves the trainer's top-level functions.

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace recsys {

// The status for a libtorch error raised while doing `what`: Internal,
// "<what> failed in libtorch: <message without the C++ backtrace>".
absl::Status TorchErrorStatus(absl::string_view what, const c10::Error& error);

// Runs `fn` (returning `absl::StatusOr<T>` or `absl::Status`) and returns
// its result, or, when it throws, an Internal status naming `what` and the
// exception's message.
template <typename Fn>
auto CatchTorchErrors(absl::string_view what, Fn&& fn) -> decltype(fn()) {
  try {
    return std::forward<Fn>(fn)();
  } catch (const c10::Error& e) {
    return TorchErrorStatus(what, e);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, " failed: ", e.what()));
  }
}

// The other way, for code deep inside a training loop that cannot return a
// status (e.g. a failed collective of data-parallel training): throws
// `std::runtime_error` with the status's message when it is not OK, for
// `CatchTorchErrors` at the trainer's boundary to return.
inline void ThrowIfError(const absl::Status& status) {
  if (!status.ok()) throw std::runtime_error(std::string(status.message()));
}

}  // namespace recsys

#endif  // RECSYS_TRAINER_TORCH_STATUS_H_
