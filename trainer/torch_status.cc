#include "trainer/torch_status.h"

namespace recsys {

absl::Status TorchErrorStatus(absl::string_view what, const c10::Error& error) {
  return absl::InternalError(
      absl::StrCat(what, " failed in libtorch: ", error.what_without_backtrace()));
}

}  // namespace recsys
