// The JSON object recognizer behind response_format json_object: every prefix of a valid object
// is accepted and only the whole object is complete; invalid text is refused at the first bad
// byte; the token mask keeps exactly the tokens whose bytes continue the object.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

#include "runtime/json_constraint.h"

namespace whale {
namespace {

bool accepts(std::string_view s, bool* complete = nullptr) {
  JsonPrefix p;
  bool ok = p.feed(s);
  if (complete) *complete = p.complete();
  return ok;
}

void expect_valid_object(const std::string& doc) {
  for (size_t i = 0; i <= doc.size(); ++i) {
    bool complete = false;
    ASSERT_TRUE(accepts(doc.substr(0, i), &complete)) << "prefix " << i << " of " << doc;
    EXPECT_EQ(complete, i == doc.size()) << doc.substr(0, i);
  }
  EXPECT_FALSE(accepts(doc + "x"));  // nothing after the object
}

TEST(JsonPrefix, ValidObjects) {
  for (const char* doc :
       {"{}", R"({"a":1})",
        R"({ "a" : [1, -2.5e+3, 0, 0.0, 1E9, true, false, null, "x\"\u00e9\n"], "b": {}})",
        "{\"k\":\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x90\xb3\"}", R"({"a":[[],[{}],{"b":[]}]})",
        "{\n  \"a\": 1\n}"})
    expect_valid_object(doc);
}

TEST(JsonPrefix, InvalidText) {
  for (const char* bad : {"[]",
                          " {}",
                          "\"s\"",
                          "1",
                          "{a:1}",
                          "{\"a\" 1}",
                          "{\"a\":01}",
                          "{\"a\":1,}",
                          "{,}",
                          "{\"a\":tru}",
                          "{\"a\":-}",
                          "{\"a\":1.}",
                          "{\"a\":1e}",
                          "{\"a\":\"\\x\"}",
                          "{\"a\":\"\\u12G4\"}",
                          "{\"a\":\"\x01\"}",
                          "{\"a\":\"\xff\"}",
                          "{\"a\":\"\xc3(\"}",
                          "{\"a\":[1 2]}",
                          "{\"a\":]}",
                          "{}}"}) {
    JsonPrefix p;
    bool ok = p.feed(bad);
    EXPECT_FALSE(ok && p.complete()) << bad;
    // Refused, or a still-open prefix only where the text really is one ("{\"a\":-" etc. are
    // checked to fail once the bad byte arrives).
    if (ok) ADD_FAILURE() << "accepted: " << bad;
  }
  // Whitespace runs are bounded.
  EXPECT_TRUE(accepts("{" + std::string(JsonPrefix::kMaxWhitespace, ' ')));
  EXPECT_FALSE(accepts("{" + std::string(JsonPrefix::kMaxWhitespace + 1, ' ')));
}

// Random documents from nlohmann's serializer (compact and indented) are accepted byte by byte.
TEST(JsonPrefix, RandomDocuments) {
  std::mt19937 rng(11);
  std::function<nlohmann::json(int)> make = [&](int depth) -> nlohmann::json {
    int kind = int(rng() % (depth > 3 ? 5 : 7));
    switch (kind) {
      case 0:
        return nullptr;
      case 1:
        return bool(rng() & 1);
      case 2:
        return int64_t(rng()) - int64_t(1u << 31);
      case 3:
        return std::ldexp(double(rng()) / 4294967296.0 - 0.5, int(rng() % 60) - 30);
      case 4:
        return std::string("t\"\\\n\x7f\xc3\xa9 ") + std::to_string(rng() % 100);
      case 5: {
        nlohmann::json a = nlohmann::json::array();
        for (int i = int(rng() % 4); i > 0; --i) a.push_back(make(depth + 1));
        return a;
      }
      default: {
        nlohmann::json o = nlohmann::json::object();
        for (int i = int(rng() % 4); i > 0; --i)
          o["k" + std::to_string(rng() % 50)] = make(depth + 1);
        return o;
      }
    }
  };
  for (int i = 0; i < 200; ++i) {
    nlohmann::json o = nlohmann::json::object();
    o["root"] = make(0);
    expect_valid_object(o.dump());
    expect_valid_object(o.dump(2));
  }
}

TEST(JsonConstraint, MaskKeepsContinuations) {
  std::vector<std::string> vocab = {"", "{", "}", "\"a\"", ":", "1", " ", "x", "{\"", "]"};
  JsonConstraint c(&vocab);
  std::vector<float> logits(vocab.size() + 1, 0.0f);  // one id past the table: masked
  ASSERT_TRUE(c.mask(logits));
  auto allowed = [&] {
    std::vector<int> ids;
    for (size_t i = 0; i < logits.size(); ++i)
      if (!std::isinf(logits[i])) ids.push_back(int(i));
    return ids;
  };
  EXPECT_EQ(allowed(), (std::vector<int>{1, 8}));
  c.accept(1);
  std::fill(logits.begin(), logits.end(), 0.0f);
  ASSERT_TRUE(c.mask(logits));
  EXPECT_EQ(allowed(), (std::vector<int>{2, 3, 6}));
  c.accept(2);
  EXPECT_TRUE(c.complete());
  std::fill(logits.begin(), logits.end(), 0.0f);
  EXPECT_FALSE(c.mask(logits));  // nothing continues a complete object
}

}  // namespace
}  // namespace whale
