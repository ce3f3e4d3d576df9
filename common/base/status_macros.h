#ifndef RECSYS_COMMON_BASE_STATUS_MACROS_H_
#define RECSYS_COMMON_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the `absl::Status` of `expr` from the enclosing function when it
// is not OK.
#define RECSYS_RETURN_IF_ERROR(expr)                  \
  do {                                                \
    const absl::Status recsys_status_ = (expr);       \
    if (!recsys_status_.ok()) return recsys_status_;  \
  } while (0)

#define RECSYS_STATUS_CONCAT_INNER(a, b) a##b
#define RECSYS_STATUS_CONCAT(a, b) RECSYS_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an `absl::StatusOr<T>`); returns its status from the
// enclosing function when not OK, else moves its value into `lhs` (which
// may be a declaration: `RECSYS_ASSIGN_OR_RETURN(Tensor t, ReadTensor());`).
#define RECSYS_ASSIGN_OR_RETURN(lhs, expr)                                  \
  RECSYS_ASSIGN_OR_RETURN_IMPL(RECSYS_STATUS_CONCAT(recsys_or_, __LINE__),  \
                               lhs, expr)
#define RECSYS_ASSIGN_OR_RETURN_IMPL(var, lhs, expr) \
  auto var = (expr);                                 \
  if (!var.ok()) return var.status();                \
  lhs = std::move(*var)

#endif  // RECSYS_COMMON_BASE_STATUS_MACROS_H_
