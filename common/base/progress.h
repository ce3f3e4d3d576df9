#ifndef RECSYS_COMMON_BASE_PROGRESS_H_
#define RECSYS_COMMON_BASE_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace recsys {

// A progress bar on stderr for long work: percentage, items per second,
// ETA and a caller-supplied status (e.g. the running loss). Redraws in place
// at most every 200 ms on a terminal; elsewhere (logs, CI) logs an info line
// through spdlog every 10% (so in the log's format, e.g. JSON lines).
// Not thread-safe: one owner updates it.
class ProgressBar {
 public:
  // A disabled bar draws nothing (for scripts: `--progress=false`).
  ProgressBar(std::string label, int64_t total, std::string unit = "it",
              bool enabled = true);
  ~ProgressBar();

  // Sets the number of items done so far and an optional status text.
  void Update(int64_t done, const std::string& status = "");
  // Draws the final state and a newline.
  void Finish(const std::string& status = "");

 private:
  void Draw(bool final);

  std::string label_, unit_, status_;
  int64_t total_ = 0, done_ = 0;
  bool enabled_ = true, tty_ = false, finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_BASE_PROGRESS_H_
