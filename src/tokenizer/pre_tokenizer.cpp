#include "tokenizer/pre_tokenizer.h"

#include "tokenizer/unicode.h"

namespace whale {
namespace {

// GPT-2's pattern, used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct Piece {
  uint32_t begin, end;  // relative to the word
  bool flag;            // a match (before behaviors) / to be removed (after)
};

// All matches of `re` in text, with the gaps between them (Hugging Face's find_matches over
// Oniguruma's find_iter: an empty match right where the previous match ended is skipped).
void find_matches(const Regex& re, std::span<const uint32_t> text, std::vector<Piece>& out) {
  out.clear();
  size_t prev = 0, from = 0;
  bool have_last = false;
  size_t last_end = 0;
  while (from <= text.size()) {
    size_t b, e;
    if (!re.search(text, from, b, e)) break;
    if (b == e && have_last && last_end == e) {
      ++from;
      continue;
    }
    from = e;
    have_last = true;
    last_end = e;
    if (prev != b) out.push_back({uint32_t(prev), uint32_t(b), false});
    out.push_back({uint32_t(b), uint32_t(e), true});
    prev = e;
  }
  if (prev != text.size()) out.push_back({uint32_t(prev), uint32_t(text.size()), false});
}

void find_digits(std::span<const uint32_t> text, std::vector<Piece>& out) {
  out.clear();
  uint32_t last = 0;
  for (uint32_t i = 0; i < text.size(); ++i) {
    if (!((unicode::kNumber >> unicode::category(text[i])) & 1)) continue;
    if (last < i) out.push_back({last, i, false});
    out.push_back({i, i + 1, true});
    last = i + 1;
  }
  if (last < text.size()) out.push_back({last, uint32_t(text.size()), false});
}

// Turns (range, is_match) into (range, remove) according to the behavior (HF semantics).
void apply_behavior(SplitBehavior b, std::vector<Piece>& p) {
  switch (b) {
    case SplitBehavior::Removed:
      return;
    case SplitBehavior::Isolated:
      for (auto& x : p) x.flag = false;
      return;
    case SplitBehavior::Contiguous:
    case SplitBehavior::MergedWithPrevious: {
      std::vector<Piece> out;
      bool prev_match = false;
      for (const auto& x : p) {
        bool join = b == SplitBehavior::Contiguous ? x.flag == prev_match : (x.flag && !prev_match);
        if (join && !out.empty())
          out.back().end = x.end;
        else
          out.push_back({x.begin, x.end, false});
        prev_match = x.flag;
      }
      p = std::move(out);
      return;
    }
    case SplitBehavior::MergedWithNext: {
      std::vector<Piece> out;
      bool prev_match = false;
      for (size_t k = p.size(); k-- > 0;) {
        const auto& x = p[k];
        if (x.flag && !prev_match && !out.empty())
          out.back().begin = x.begin;
        else
          out.push_back({x.begin, x.end, false});
        prev_match = x.flag;
      }
      p.assign(out.rbegin(), out.rend());
      return;
    }
  }
}

Result<SplitBehavior> parse_behavior(const std::string& s) {
  if (s == "Removed") return SplitBehavior::Removed;
  if (s == "Isolated") return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (s == "Contiguous") return SplitBehavior::Contiguous;
  return make_error("tokenizer: unknown Split behavior \"%s\"", s.substr(0, 40).c_str());
}

bool get_bool(const nlohmann::json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j.at(key).get<bool>();
}

Status add_steps(const nlohmann::json& j, std::vector<PreTokenizer::Step>& steps, int depth) {
  if (j.is_null()) return Status::Ok();
  if (depth > 16) return make_error("tokenizer: pre_tokenizer nested too deeply");
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    return make_error("tokenizer: pre_tokenizer must be an object with a \"type\"");
  std::string type = j["type"].get<std::string>();
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array())
      return make_error("tokenizer: Sequence pre_tokenizer needs a \"pretokenizers\" array");
    for (const auto& s : j["pretokenizers"]) WHALE_TRY(add_steps(s, steps, depth + 1));
    return Status::Ok();
  }
  if (type == "Split") {
    const auto& pat = j.at("pattern");
    auto behavior = parse_behavior(j.at("behavior").get<std::string>());
    if (!behavior.ok()) return behavior.error();
    PreTokenizer::Step s;
    if (pat.contains("Regex")) {
      auto re = Regex::compile(pat.at("Regex").get<std::string>());
      if (!re.ok()) return make_error("tokenizer: Split pattern: %s", re.error().message.c_str());
      s.regex = std::move(re).value();
    } else if (pat.contains("String")) {
      s.regex = Regex::literal(pat.at("String").get<std::string>());
    } else {
      return make_error("tokenizer: Split pattern must be {\"Regex\": ...} or {\"String\": ...}");
    }
    s.behavior = behavior.value();
    s.invert = get_bool(j, "invert", false);
    steps.push_back(std::move(s));
    return Status::Ok();
  }
  if (type == "Digits") {
    PreTokenizer::Step s;
    s.kind = PreTokenizer::Step::Digits;
    s.individual_digits = get_bool(j, "individual_digits", false);
    steps.push_back(std::move(s));
    return Status::Ok();
  }
  if (type == "ByteLevel") {
    steps.push_back(PreTokenizer::byte_level_step(get_bool(j, "add_prefix_space", true),
                                                  get_bool(j, "use_regex", true)));
    return Status::Ok();
  }
  return make_error(
      "tokenizer: pre_tokenizer \"%s\" is not supported (supported: Sequence, Split, "
      "Digits, ByteLevel)",
      type.substr(0, 40).c_str());
}

}  // namespace

PreTokenizer::Step PreTokenizer::byte_level_step(bool add_prefix_space, bool use_regex) {
  Step s;
  s.kind = Step::ByteLevel;
  s.add_prefix_space = add_prefix_space;
  s.use_regex = use_regex;
  if (use_regex) s.regex = Regex::compile(kGpt2Pattern).value();
  return s;
}

Result<PreTokenizer::Step> PreTokenizer::split_step(std::string_view regex, SplitBehavior behavior,
                                                    bool invert) {
  auto re = Regex::compile(regex);
  if (!re.ok()) return re.error();
  Step s;
  s.regex = std::move(re).value();
  s.behavior = behavior;
  s.invert = invert;
  return s;
}

Result<PreTokenizer> PreTokenizer::from_steps(std::vector<Step> steps) {
  PreTokenizer p;
  p.steps_ = std::move(steps);
  for (const auto& s : p.steps_) p.byte_level_ = p.byte_level_ || s.kind == Step::ByteLevel;
  return p;
}

Result<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& j) {
  std::vector<Step> steps;
  WHALE_TRY(add_steps(j, steps, 0));
  return from_steps(std::move(steps));
}

void PreTokenizer::run(WordList& wl) const {
  thread_local std::vector<std::pair<uint32_t, uint32_t>> next;
  thread_local std::vector<Piece> pieces;
  for (const Step& step : steps_) {
    next.clear();
    for (auto [off, len] : wl.words) {
      if (step.kind == Step::ByteLevel && step.add_prefix_space && wl.buf[off] != ' ') {
        // Prepend a space: the prefixed word is appended to the buffer as a copy.
        uint32_t at = uint32_t(wl.buf.size());
        wl.buf.reserve(wl.buf.size() + len + 1);
        wl.buf.push_back(' ');
        for (uint32_t k = 0; k < len; ++k) wl.buf.push_back(wl.buf[off + k]);
        off = at;
        len += 1;
      }
      std::span<const uint32_t> text(wl.buf.data() + off, len);
      if (step.kind == Step::Digits) {
        find_digits(text, pieces);
        apply_behavior(step.individual_digits ? SplitBehavior::Isolated : SplitBehavior::Contiguous,
                       pieces);
      } else if (step.kind == Step::Split || step.use_regex) {
        find_matches(step.regex, text, pieces);
        if (step.invert)
          for (auto& p : pieces) p.flag = !p.flag;
        apply_behavior(step.kind == Step::Split ? step.behavior : SplitBehavior::Isolated, pieces);
      } else {
        next.emplace_back(off, len);
        continue;
      }
      for (const auto& p : pieces)
        if (!p.flag && p.end > p.begin) next.emplace_back(off + p.begin, p.end - p.begin);
    }
    wl.words.swap(next);
  }
}

}  // namespace whale
