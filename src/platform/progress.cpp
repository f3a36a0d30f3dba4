#include "platform/progress.h"

#include <unistd.h>

#include <algorithm>

namespace whale {

namespace {
constexpr double kPlainIntervalSeconds = 5.0;  // plain-line mode: at most one line per 5 s...
constexpr double kTtyIntervalSeconds = 0.1;    // ...terminal mode: redraw at most 10 times/s
constexpr int kBarWidth = 30;
}  // namespace

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string format_duration(double s) {
  char buf[32];
  if (s < 0 || s != s) return "?";
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) / 60) % 60);
  }
  return buf;
}

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      start_(Clock::now()),
      last_report_(start_),
      out_(stderr),
      interactive_(isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() {
  finish();
}

void Progress::set_output(std::FILE* out, bool interactive) {
  out_ = out;
  interactive_ = interactive;
}

void Progress::reset(uint64_t total) {
  total_ = total;
  done_ = 0;
  last_tenth_ = 0;
  start_ = last_report_ = Clock::now();
}

void Progress::advance(uint64_t n) {
  set(done_ + n);
}

void Progress::set(uint64_t done) {
  if (finished_) return;
  done_ = std::min(done, total_);
  auto now = Clock::now();
  double since = std::chrono::duration<double>(now - last_report_).count();
  int tenth = total_ ? int(done_ * 10 / total_) : 10;
  bool due = interactive_ ? since >= kTtyIntervalSeconds
                          : (since >= kPlainIntervalSeconds || tenth > last_tenth_);
  if (!due) return;
  last_report_ = now;
  last_tenth_ = tenth;
  report(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  report(true);
}

std::string Progress::format_amount(double v) const {
  if (unit_ == "B") return format_bytes(v);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.0f%s%s", v, unit_.empty() ? "" : " ", unit_.c_str());
  return buf;
}

void Progress::report(bool final) {
  if (!enabled_ || !out_) return;
  double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  double frac = total_ ? double(done_) / double(total_) : 1.0;
  double rate = elapsed > 0 ? double(done_) / elapsed : 0.0;
  double left = rate > 0 ? double(total_ - done_) / rate : -1.0;
  std::string rate_s = format_amount(rate) + "/s";
  if (interactive_) {
    int filled = int(frac * kBarWidth);
    std::string bar(size_t(filled), '#');
    bar.append(size_t(kBarWidth - filled), '.');
    // \r + erase-to-end-of-line redraws in place; the final report ends the line.
    std::fprintf(out_, "\r\033[K%s [%s] %5.1f%% %s %s", label_.c_str(), bar.c_str(), frac * 100.0,
                 rate_s.c_str(),
                 final ? ("in " + format_duration(elapsed)).c_str()
                       : ("left " + format_duration(left)).c_str());
    if (final) std::fputc('\n', out_);
  } else if (final) {
    std::fprintf(out_, "%s: done, %s in %s (%s)\n", label_.c_str(),
                 format_amount(double(done_)).c_str(), format_duration(elapsed).c_str(),
                 rate_s.c_str());
  } else {
    std::fprintf(out_, "%s: %.0f%% (%s of %s), %s, %s left\n", label_.c_str(), frac * 100.0,
                 format_amount(double(done_)).c_str(), format_amount(double(total_)).c_str(),
                 rate_s.c_str(), format_duration(left).c_str());
  }
  std::fflush(out_);
}

}  // namespace whale
