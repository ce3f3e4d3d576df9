#include "common/base/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

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
  std::fprintf(stderr, "%s%-22s [%s] %3.0f%% %9.0f %s/s  %s %5.1fs  %s%s",
               tty_ ? "\r\033[K" : "", label_.c_str(), bar.c_str(),
               100 * fraction, rate, unit_.c_str(), final ? "took" : "eta",
               final ? seconds : eta, status_.c_str(),
               (final || !tty_) ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace recsys
