#include "server/rate_limiter.h"

namespace whale::server {
namespace {
constexpr auto kWindow = std::chrono::seconds(60);
double until(RateLimiter::Clock::time_point t, RateLimiter::Clock::time_point now) {
  return std::max(1.0, std::chrono::duration<double>(t + kWindow - now).count());
}
}  // namespace

void RateLimiter::expire(Window& w, Clock::time_point now) {
  while (!w.requests.empty() && now - w.requests.front() >= kWindow) w.requests.pop_front();
  while (!w.tokens.empty() && now - w.tokens.front().first >= kWindow) {
    w.token_sum -= w.tokens.front().second;
    w.tokens.pop_front();
  }
}

double RateLimiter::admit(int64_t key, int64_t rpm, int64_t tpm, Clock::time_point now) {
  if (rpm <= 0 && tpm <= 0) return 0;
  std::lock_guard lock(mu_);
  Window& w = windows_[key];
  expire(w, now);
  if (rpm > 0 && int64_t(w.requests.size()) >= rpm) return until(w.requests.front(), now);
  if (tpm > 0 && w.token_sum >= tpm) return until(w.tokens.front().first, now);
  w.requests.push_back(now);
  return 0;
}

void RateLimiter::add_tokens(int64_t key, int64_t tokens, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Window& w = windows_[key];
  expire(w, now);
  w.tokens.push_back({now, tokens});
  w.token_sum += tokens;
}

}  // namespace whale::server
