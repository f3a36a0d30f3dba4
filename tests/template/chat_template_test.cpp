#include <gtest/gtest.h>

#include "platform/mapped_file.h"
#include "template/chat_template.h"

namespace {

using whale::ChatTemplateInputs;

TEST(ChatTemplate, TokenizerConfigForms) {
  auto c = whale::parse_tokenizer_config(
      R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}],
          "bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>", "unk_token": null})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->chat_template, "D");
  EXPECT_EQ(c->bos_token, "<s>");
  EXPECT_EQ(c->eos_token, "</s>");
  EXPECT_FALSE(c->special_tokens.contains("unk_token"));
  EXPECT_FALSE(whale::parse_tokenizer_config("[1]").ok());
  EXPECT_FALSE(whale::parse_tokenizer_config("{\"chat_template\": [{\"name\": 3}]}").ok());
  EXPECT_FALSE(whale::parse_tokenizer_config("{\"chat_template\": 5}").ok());
}

TEST(ChatTemplate, DeepSeekV3RendersConversation) {
  auto src = whale::read_text_file(std::string(WHALE_SOURCE_DIR) +
                                   "/tests/data/templates/deepseek-v3.jinja");
  ASSERT_TRUE(src.ok());
  ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(
      R"([{"role": "system", "content": "S"}, {"role": "user", "content": "hi"},
          {"role": "assistant", "content": "yo"}, {"role": "user", "content": "q"}])");
  in.bos_token = "<｜begin▁of▁sentence｜>";
  in.add_generation_prompt = true;
  auto r = whale::render_chat(*src, in);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r,
            "<｜begin▁of▁sentence｜>S<｜User｜>hi<｜Assistant｜>yo<｜end▁of▁sentence｜><｜User｜>q<"
            "｜Assistant｜>");
}

TEST(ChatTemplate, BuiltinTemplatesRender) {
  for (const char* arch : {"deepseek2", "qwen2", "llama"}) {
    const char* t = whale::builtin_chat_template(arch);
    ASSERT_NE(t, nullptr) << arch;
    ChatTemplateInputs in;
    in.messages = nlohmann::ordered_json::parse(
        R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<think>r</think>ok"}])");
    in.bos_token = "<bos>";
    in.add_generation_prompt = true;
    auto r = whale::render_chat(t, in);
    ASSERT_TRUE(r.ok()) << arch << ": " << r.error().message;
    EXPECT_NE(r->find("hi"), std::string::npos) << arch;
  }
  EXPECT_EQ(whale::builtin_chat_template("gpt2"), nullptr);
}

}  // namespace
