#include "common/base/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace recsys {

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit,
                         bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(std::max<int64_t>(total, 1)),
      enabled_(enabled),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!finished_) Finish(status_);
}

void ProgressBar::Update(int64_t done, const std::string& status) {
  done_ = std::min(done, total_);
  status_ = status;
  auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ >= std::chrono::milliseconds(200)) Draw(false);
  } else if (int decile = static_cast<int>(10 * done_ / total_);
             decile > last_decile_) {
    last_decile_ = decile;
    Draw(false);
  }
}

void ProgressBar::Finish(const std::string& status) {
  if (finished_) return;
  done_ = total_;
  status_ = status;
  Draw(true);
  finished_ = true;
}

void ProgressBar::Draw(bool final) {
  if (!enabled_) return;
  last_draw_ = std::chrono::steady_clock::now();
  double seconds =
      std::chrono::duration<double>(last_draw_ - start_).count();
  double fraction = static_cast<double>(done_) / total_;
  double rate = seconds > 0 ? done_ / seconds : 0;
  double eta = rate > 0 ? (total_ - done_) / rate : 0;
  constexpr int kWidth = 24;
  int filled = static_cast<int>(fraction * kWidth);
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  const std::string line =
      fmt::format("{:<22} [{}] {:3.0f}% {:9.0f} {}/s  {} {:5.1f}s  {}", label_, bar,
                  100 * fraction, rate, unit_, final ? "took" : "eta", final ? seconds : eta,
                  status_);
  if (!tty_) {
    spdlog::info("{}", line.substr(0, line.find_last_not_of(' ') + 1));
    return;
  }
  // A terminal's bar is redrawn in place, not logged.
  std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace recsys
