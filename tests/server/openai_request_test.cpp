// Request parsing: accepted shapes, and for each bad field the status (400 shape / 422 range)
// and the param it names; hostile bodies are errors, never exceptions. Rate limiter windows.
#include <gtest/gtest.h>

#include <random>

#include "server/openai_request.h"
#include "server/rate_limiter.h"

namespace whale::server {
namespace {

CompletionRequest ok(const std::string& body, bool chat = true) {
  auto r = parse_completion_request(body, chat);
  if (auto* e = std::get_if<ApiError>(&r)) {
    ADD_FAILURE() << body << " -> " << e->message;
    return {};
  }
  return std::get<CompletionRequest>(r);
}

ApiError err(const std::string& body, bool chat = true) {
  auto r = parse_completion_request(body, chat);
  if (auto* e = std::get_if<ApiError>(&r)) return *e;
  ADD_FAILURE() << body << " was accepted";
  return {};
}

TEST(OpenAiRequest, ChatFields) {
  auto r = ok(R"({"model":"m","messages":[{"role":"system","content":"s"},
      {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
      {"role":"assistant","content":null,"reasoning_content":"x"}],
      "temperature":0.5,"top_p":0.9,"max_tokens":7,"stop":"END","seed":3,"stream":true,
      "stream_options":{"include_usage":true},"logprobs":true,"top_logprobs":2,
      "presence_penalty":1,"frequency_penalty":-1,"response_format":{"type":"json_object"},
      "logit_bias":{"5":-100}})");
  EXPECT_EQ(r.messages[1]["content"], "a\nb");
  EXPECT_EQ(r.messages[2]["content"], "");
  EXPECT_FALSE(r.messages[2].contains("reasoning_content"));
  EXPECT_FLOAT_EQ(r.temperature, 0.5f);
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(r.stops, std::vector<std::string>{"END"});
  EXPECT_EQ(r.seed, 3u);
  EXPECT_TRUE(r.stream && r.include_usage && r.json_object);
  EXPECT_EQ(r.top_logprobs, 2);
  ASSERT_EQ(r.logit_bias.size(), 1u);
  EXPECT_EQ(r.logit_bias[0].first, 5);
  auto c = ok(R"({"prompt":["x"],"suffix":"y","logprobs":3,"stop":["a","b"]})", false);
  EXPECT_EQ(c.prompt, "x");
  EXPECT_EQ(*c.suffix, "y");
  EXPECT_EQ(c.top_logprobs, 3);
  EXPECT_EQ(c.stops.size(), 2u);
}

TEST(OpenAiRequest, Errors) {
  struct Case {
    const char* body;
    int status;
    const char* param;
  };
  const Case cases[] = {
      {"", 400, ""},
      {"[1]", 400, ""},
      {"{\"messages\": 3}", 400, "messages"},
      {"{}", 400, "messages"},
      {"{\"messages\": []}", 422, "messages"},
      {R"({"messages":[{"role":"wizard","content":"x"}]})", 422, "messages[0].role"},
      {R"({"messages":[{"content":"x"}]})", 400, "messages[0].role"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", 422,
       "messages[0].content"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":3})", 422, "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", 400, "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})", 422, "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1.5})", 400, "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":2})", 422, "n"},
      {R"({"messages":[{"role":"user","content":"x"}],"seed":-1})", 422, "seed"},
      {R"({"messages":[{"role":"user","content":"x"}],"seed":18446744073709551615})", 422, "seed"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", 400, "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})", 422, "top_logprobs"},
      {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"a":1}})", 400, "logit_bias"},
      {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"1":101}})", 422, "logit_bias"},
      {R"({"messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}})", 422,
       "response_format"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", 400, "stream"},
  };
  for (const auto& c : cases) {
    ApiError e = err(c.body);
    EXPECT_EQ(e.status, c.status) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_FALSE(e.message.empty());
    EXPECT_TRUE(e.to_json()["error"].contains("type"));
  }
  EXPECT_EQ(err("{\"prompt\": 5}", false).status, 400);
  EXPECT_EQ(err("{}", false).param, "prompt");
}

TEST(OpenAiRequest, RandomBytesNeverThrow) {
  std::mt19937 rng(7);
  const std::string base = R"({"messages":[{"role":"user","content":"x"}],"stop":["a"],"top_p":1})";
  for (int i = 0; i < 2000; ++i) {
    std::string s = base;
    for (int k = 0; k < 3; ++k) s[rng() % s.size()] = char(rng() % 256);
    EXPECT_NO_THROW((void)parse_completion_request(s, true));
    EXPECT_NO_THROW((void)parse_completion_request(s, false));
  }
}

TEST(RateLimiter, RequestsAndTokensPerMinute) {
  RateLimiter rl;
  auto t0 = RateLimiter::Clock::now();
  EXPECT_EQ(rl.admit(1, 2, 0, t0), 0);
  EXPECT_EQ(rl.admit(1, 2, 0, t0), 0);
  EXPECT_GE(rl.admit(1, 2, 0, t0), 59);  // third in the same minute
  EXPECT_EQ(rl.admit(2, 2, 0, t0), 0);   // other keys are separate
  EXPECT_EQ(rl.admit(1, 2, 0, t0 + std::chrono::seconds(61)), 0);
  rl.add_tokens(3, 100, t0);
  EXPECT_GE(rl.admit(3, 0, 100, t0 + std::chrono::seconds(1)), 1);
  EXPECT_EQ(rl.admit(3, 0, 101, t0 + std::chrono::seconds(1)), 0);
  EXPECT_EQ(rl.admit(3, 0, 100, t0 + std::chrono::seconds(61)), 0);
  EXPECT_EQ(rl.admit(4, 0, 0, t0), 0);  // unlimited
}

}  // namespace
}  // namespace whale::server
