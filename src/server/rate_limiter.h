// Per-key requests-per-minute and tokens-per-minute limits over a sliding 60 s window.
// Thread-safe; memory per key is bounded by its limit (one entry per request in the window).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace whale::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // Admits one request of key `key` (rpm / tpm 0: unlimited) and returns 0, or returns the
  // seconds until it could be admitted.
  double admit(int64_t key, int64_t rpm, int64_t tpm, Clock::time_point now = Clock::now());
  // Adds tokens used by a finished request of `key`.
  void add_tokens(int64_t key, int64_t tokens, Clock::time_point now = Clock::now());

 private:
  struct Window {
    std::deque<Clock::time_point> requests;
    std::deque<std::pair<Clock::time_point, int64_t>> tokens;
    int64_t token_sum = 0;
  };
  void expire(Window& w, Clock::time_point now);
  std::mutex mu_;
  std::unordered_map<int64_t, Window> windows_;
};

}  // namespace whale::server
