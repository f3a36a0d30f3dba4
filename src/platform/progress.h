// Progress reporting for long work (convert, quantize, loading weights).
// On a terminal (stderr is a tty) it draws one updating line: a bar, percent, rate and time
// left. Otherwise (logs, CI, pipes) it prints a plain line at most every few seconds or every
// 10 percent, so logs stay readable. Reporting goes to stderr; stdout stays clean for results.
//
//   Progress p("quantize", total_bytes, "B");
//   p.advance(n);   // as work completes
//   p.finish();     // final line (also done by the destructor)
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace whale {

class Progress {
 public:
  // unit "B" prints sizes as KiB/MiB/GiB; any other unit prints plain counts.
  Progress(std::string label, uint64_t total, std::string unit = "");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(uint64_t n);
  void reset(uint64_t total);  // new total, count back to zero (when the total is known late)
  void set(uint64_t done);
  void finish();

  // Tests and callers that want silence (e.g. --quiet) can turn output off or redirect it.
  void set_output(std::FILE* out, bool interactive);
  void set_enabled(bool enabled) { enabled_ = enabled; }

 private:
  using Clock = std::chrono::steady_clock;
  void report(bool final);
  std::string format_amount(double v) const;

  std::string label_;
  uint64_t total_;
  std::string unit_;
  uint64_t done_ = 0;
  Clock::time_point start_;
  Clock::time_point last_report_;
  int last_tenth_ = 0;  // plain mode: last 10% step that was printed
  std::FILE* out_;
  bool interactive_;
  bool enabled_ = true;
  bool finished_ = false;
};

// "1.5 GiB", "12 s", ... (shared with other human-facing output)
std::string format_bytes(double bytes);
std::string format_duration(double seconds);

}  // namespace whale
