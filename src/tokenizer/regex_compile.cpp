// Regex parser (Oniguruma Ruby-syntax subset, see regex.h) and compiler to the backtracking
// program of regex_program.h.
#include <algorithm>
#include <memory>
#include <string>

#include "tokenizer/regex.h"
#include "tokenizer/regex_program.h"
#include "tokenizer/unicode.h"

namespace whale {
namespace regex_detail {
namespace {

constexpr int kInfinite = -1;
constexpr size_t kMaxInsts = 200000;  // after expanding counted repeats
constexpr int kMaxCount = 1000;       // largest n or m in {n,m}
constexpr int kMaxDepth = 200;        // group nesting

struct Node {
  enum Kind { Empty, Lit, Set, Any, Concat, Alt, Repeat, Look, Atomic, Assert } kind = Empty;
  uint32_t cp = 0;
  bool icase = false;
  uint32_t cls = 0;
  std::vector<std::unique_ptr<Node>> kids;
  int min = 0, max = 0;
  bool greedy = true;
  bool negate = false, behind = false;
  Op assert_op = Op::Bol;
};
using NodePtr = std::unique_ptr<Node>;

NodePtr make(Node::Kind k) {
  auto n = std::make_unique<Node>();
  n->kind = k;
  return n;
}

// Names accepted in \p{...}: general categories only (Oniguruma ignores case, spaces, '_', '-').
bool property_mask(std::string name, uint32_t& mask) {
  using namespace unicode;
  std::string n;
  for (char c : name)
    if (c != ' ' && c != '_' && c != '-') n += char(std::tolower(static_cast<unsigned char>(c)));
  struct P {
    const char* a;
    const char* b;
    uint32_t m;
  };
  static const P table[] = {
      {"l", "letter", kLetter},
      {"lu", "uppercaseletter", bit(Lu)},
      {"ll", "lowercaseletter", bit(Ll)},
      {"lt", "titlecaseletter", bit(Lt)},
      {"lm", "modifierletter", bit(Lm)},
      {"lo", "otherletter", bit(Lo)},
      {"lc", "casedletter", bit(Lu) | bit(Ll) | bit(Lt)},
      {"m", "mark", kMark},
      {"mn", "nonspacingmark", bit(Mn)},
      {"mc", "spacingmark", bit(Mc)},
      {"me", "enclosingmark", bit(Me)},
      {"n", "number", kNumber},
      {"nd", "decimalnumber", bit(Nd)},
      {"nl", "letternumber", bit(Nl)},
      {"no", "othernumber", bit(No)},
      {"p", "punctuation", kPunct},
      {"pc", "connectorpunctuation", bit(Pc)},
      {"pd", "dashpunctuation", bit(Pd)},
      {"ps", "openpunctuation", bit(Ps)},
      {"pe", "closepunctuation", bit(Pe)},
      {"pi", "initialpunctuation", bit(Pi)},
      {"pf", "finalpunctuation", bit(Pf)},
      {"po", "otherpunctuation", bit(Po)},
      {"s", "symbol", kSymbol},
      {"sm", "mathsymbol", bit(Sm)},
      {"sc", "currencysymbol", bit(Sc)},
      {"sk", "modifiersymbol", bit(Sk)},
      {"so", "othersymbol", bit(So)},
      {"z", "separator", kSeparator},
      {"zs", "spaceseparator", bit(Zs)},
      {"zl", "lineseparator", bit(Zl)},
      {"zp", "paragraphseparator", bit(Zp)},
      {"c", "other", kOther},
      {"cc", "control", bit(Cc)},
      {"cf", "format", bit(Cf)},
      {"cs", "surrogate", bit(Cs)},
      {"co", "privateuse", bit(Co)},
      {"cn", "unassigned", bit(Cn)},
      {"any", "any", (1u << kCategoryCount) - 1},
  };
  for (const auto& p : table)
    if (n == p.a || n == p.b) {
      mask = p.m;
      return true;
    }
  return false;
}

class Parser {
 public:
  Parser(std::vector<uint32_t> cps, Program& prog) : s_(std::move(cps)), prog_(prog) {}

  Result<NodePtr> parse() {
    auto n = parse_alt(false, 0);
    if (!n.ok()) return n.error();
    if (i_ < s_.size()) return err("unmatched ')'");
    return std::move(n).value();
  }

 private:
  std::vector<uint32_t> s_;
  size_t i_ = 0;
  Program& prog_;

  Error err(const char* what) const { return make_error("regex: %s at position %zu", what, i_); }
  bool at(uint32_t c) const { return i_ < s_.size() && s_[i_] == c; }
  bool at_str(const char* lit) const {
    for (size_t k = 0; lit[k]; ++k)
      if (i_ + k >= s_.size() || s_[i_ + k] != uint32_t(static_cast<unsigned char>(lit[k])))
        return false;
    return true;
  }

  Result<NodePtr> parse_alt(bool icase, int depth) {
    if (depth > kMaxDepth) return err("groups nested too deeply");
    auto alt = make(Node::Alt);
    while (true) {
      auto c = parse_concat(icase, depth);
      if (!c.ok()) return c.error();
      alt->kids.push_back(std::move(c).value());
      if (!at('|')) break;
      ++i_;
    }
    if (alt->kids.size() == 1) return std::move(alt->kids[0]);
    return alt;
  }

  Result<NodePtr> parse_concat(bool& icase_in, int depth) {
    bool icase = icase_in;
    auto cat = make(Node::Concat);
    while (i_ < s_.size() && !at('|') && !at(')')) {
      // (?i) / (?-i): applies to the rest of the enclosing group, alternatives included.
      if (at_str("(?i)") || at_str("(?-i)")) {
        bool on = s_[i_ + 2] == 'i';
        i_ += on ? 4 : 5;
        auto rest = parse_alt(on, depth + 1);
        if (!rest.ok()) return rest.error();
        cat->kids.push_back(std::move(rest).value());
        break;
      }
      auto atom = parse_atom(icase, depth);
      if (!atom.ok()) return atom.error();
      auto q = parse_quantifiers(std::move(atom).value());
      if (!q.ok()) return q.error();
      cat->kids.push_back(std::move(q).value());
    }
    if (cat->kids.size() == 1) return std::move(cat->kids[0]);
    if (cat->kids.empty()) return make(Node::Empty);
    return cat;
  }

  // Parses {n}, {n,}, {,m}, {n,m} at i_; false (i_ unchanged) when it is not one (then '{' is
  // a literal, as in Oniguruma).
  bool parse_interval(int& mn, int& mx) {
    size_t j = i_ + 1;
    auto number = [&](int& v) {
      size_t start = j;
      long long x = 0;
      while (j < s_.size() && s_[j] >= '0' && s_[j] <= '9') {
        x = std::min<long long>(x * 10 + (s_[j] - '0'), 1 << 30);
        ++j;
      }
      v = int(x);
      return j > start;
    };
    int a = 0, b = 0;
    bool has_a = number(a);
    if (j < s_.size() && s_[j] == '}') {
      if (!has_a) return false;
      mn = mx = a;
    } else if (j < s_.size() && s_[j] == ',') {
      ++j;
      bool has_b = number(b);
      if (j >= s_.size() || s_[j] != '}' || (!has_a && !has_b)) return false;
      mn = has_a ? a : 0;
      mx = has_b ? b : kInfinite;
    } else {
      return false;
    }
    i_ = j + 1;
    return true;
  }

  Result<NodePtr> parse_quantifiers(NodePtr atom) {
    while (i_ < s_.size()) {
      int mn, mx;
      bool interval = false;
      if (at('?'))
        mn = 0, mx = 1, ++i_;
      else if (at('*'))
        mn = 0, mx = kInfinite, ++i_;
      else if (at('+'))
        mn = 1, mx = kInfinite, ++i_;
      else if (at('{') && parse_interval(mn, mx))
        interval = true;
      else
        break;
      if (mn > kMaxCount || mx > kMaxCount) return err("repeat count too large");
      if (mx != kInfinite && mx < mn) return err("bad repeat range {n,m} with m < n");
      if (atom->kind == Node::Assert || atom->kind == Node::Look)
        return err("quantifier after an assertion is not supported");
      auto rep = make(Node::Repeat);
      rep->min = mn;
      rep->max = mx;
      bool possessive = false;
      if (at('?')) {
        rep->greedy = false;
        ++i_;
      } else if (at('+') && !interval) {  // Ruby syntax: {n,m}+ is a repeat of a repeat
        possessive = true;
        ++i_;
      }
      rep->kids.push_back(std::move(atom));
      if (possessive) {
        atom = make(Node::Atomic);
        atom->kids.push_back(std::move(rep));
      } else {
        atom = std::move(rep);
      }
    }
    return atom;
  }

  Result<NodePtr> parse_group(bool icase, int depth) {
    ++i_;  // '('
    auto close = [&](NodePtr n) -> Result<NodePtr> {
      if (!at(')')) return err("missing ')'");
      ++i_;
      return n;
    };
    if (!at('?')) {  // capturing group: captures are not used, treat as a plain group
      auto body = parse_alt(icase, depth + 1);
      if (!body.ok()) return body.error();
      return close(std::move(body).value());
    }
    ++i_;
    NodePtr wrap;
    if (at(':')) {
      ++i_;
    } else if (at('=') || at('!')) {
      wrap = make(Node::Look);
      wrap->negate = at('!');
      ++i_;
    } else if (at_str("<=") || at_str("<!")) {
      wrap = make(Node::Look);
      wrap->behind = true;
      wrap->negate = s_[i_ + 1] == '!';
      i_ += 2;
    } else if (at('>')) {
      wrap = make(Node::Atomic);
      ++i_;
    } else if (at('<') || at('\'')) {  // named group: treat as a plain group
      uint32_t end = at('<') ? '>' : '\'';
      ++i_;
      while (i_ < s_.size() && s_[i_] != end) ++i_;
      if (i_ >= s_.size()) return err("unterminated group name");
      ++i_;
    } else if (at('i') || at('-')) {
      bool on = at('i');
      i_ += on ? 1 : 2;
      if (!on && (i_ > s_.size() || s_[i_ - 1] != 'i')) return err("unsupported group option");
      if (!at(':')) return err("unsupported group option (only i is supported)");
      ++i_;
      icase = on;
    } else {
      return err("unsupported group construct (?...)");
    }
    auto body = parse_alt(icase, depth + 1);
    if (!body.ok()) return body.error();
    if (!wrap) return close(std::move(body).value());
    wrap->kids.push_back(std::move(body).value());
    return close(std::move(wrap));
  }

  Result<NodePtr> literal(uint32_t cp, bool icase) {
    auto n = make(Node::Lit);
    n->cp = icase ? unicode::case_fold(cp) : cp;
    n->icase = icase;
    return n;
  }

  Result<NodePtr> set_node(CharClass cls, bool icase) {
    cls.icase = icase;
    auto n = make(Node::Set);
    n->cls = uint32_t(prog_.classes.size());
    prog_.classes.push_back(std::move(cls));
    return n;
  }

  Result<NodePtr> parse_atom(bool icase, int depth) {
    uint32_t c = s_[i_];
    switch (c) {
      case '(':
        return parse_group(icase, depth);
      case '[': {
        auto cls = parse_class(depth);
        if (!cls.ok()) return cls.error();
        return set_node(std::move(cls).value(), icase);
      }
      case '.':
        ++i_;
        return make(Node::Any);
      case '^':
      case '$': {
        ++i_;
        auto n = make(Node::Assert);
        n->assert_op = c == '^' ? Op::Bol : Op::Eol;
        return n;
      }
      case '*':
      case '+':
      case '?':
        return err("quantifier without anything to repeat");
      case '\\':
        return parse_escape(icase);
      default:
        ++i_;
        return literal(c, icase);
    }
  }

  // Escapes shared by classes and the top level. Returns 1: a code point in cp; 2: a set in cls;
  // 0: not one of these (i_ unchanged).
  Result<int> parse_common_escape(uint32_t& cp, CharClass& cls, bool in_class) {
    if (i_ + 1 >= s_.size()) return err("pattern ends with '\\'");
    uint32_t e = s_[i_ + 1];
    auto hex_digits = [&](size_t from, size_t max_n, size_t& used) -> long long {
      long long v = 0;
      used = 0;
      while (used < max_n && from + used < s_.size() &&
             std::isxdigit(int(s_[from + used] < 128 ? s_[from + used] : 0))) {
        v = v * 16 + (std::isdigit(int(s_[from + used]))
                          ? s_[from + used] - '0'
                          : (std::tolower(int(s_[from + used])) - 'a' + 10));
        ++used;
      }
      return v;
    };
    switch (e) {
      case 't':
        cp = '\t';
        i_ += 2;
        return 1;
      case 'n':
        cp = '\n';
        i_ += 2;
        return 1;
      case 'r':
        cp = '\r';
        i_ += 2;
        return 1;
      case 'f':
        cp = '\f';
        i_ += 2;
        return 1;
      case 'v':
        cp = '\v';
        i_ += 2;
        return 1;
      case 'a':
        cp = 7;
        i_ += 2;
        return 1;
      case 'e':
        cp = 27;
        i_ += 2;
        return 1;
      case 'x': {
        size_t used;
        if (i_ + 2 < s_.size() && s_[i_ + 2] == '{') {
          long long v = hex_digits(i_ + 3, 8, used);
          if (!used || i_ + 3 + used >= s_.size() || s_[i_ + 3 + used] != '}' || v > 0x10FFFF)
            return err("bad \\x{...} escape");
          cp = uint32_t(v);
          i_ += 4 + used;
          return 1;
        }
        long long v = hex_digits(i_ + 2, 2, used);
        if (!used) return err("bad \\x escape");
        cp = uint32_t(v);
        i_ += 2 + used;
        return 1;
      }
      case 'u': {
        size_t used;
        long long v = hex_digits(i_ + 2, 4, used);
        if (used != 4) return err("bad \\u escape (needs 4 hex digits)");
        cp = uint32_t(v);
        i_ += 6;
        return 1;
      }
      case 's':
      case 'S':
        cls.white_space = true;
        cls.negate = e == 'S';
        i_ += 2;
        return 2;
      case 'd':
      case 'D':
        cls.categories = unicode::bit(unicode::Nd);
        cls.negate = e == 'D';
        i_ += 2;
        return 2;
      case 'w':
      case 'W':
        cls.categories = unicode::kLetter | unicode::kMark | unicode::bit(unicode::Nd) |
                         unicode::bit(unicode::Pc);
        cls.negate = e == 'W';
        i_ += 2;
        return 2;
      case 'h':
      case 'H':
        cls.ranges = {{'0', '9'}, {'A', 'F'}, {'a', 'f'}};
        cls.negate = e == 'H';
        i_ += 2;
        return 2;
      case 'p':
      case 'P': {
        size_t j = i_ + 2;
        if (j >= s_.size() || s_[j] != '{') return err("\\p needs {Name}");
        ++j;
        bool neg = e == 'P';
        if (j < s_.size() && s_[j] == '^') neg = !neg, ++j;
        std::string name;
        while (j < s_.size() && s_[j] != '}' && name.size() < 64)
          name += char(s_[j] < 128 ? s_[j] : '?'), ++j;
        if (j >= s_.size() || s_[j] != '}') return err("unterminated \\p{...}");
        uint32_t mask;
        if (!property_mask(name, mask))
          return make_error(
              "regex: unsupported property \\p{%s} (only general categories are supported)",
              name.c_str());
        cls.categories = mask;
        cls.negate = neg;
        i_ = j + 1;
        return 2;
      }
      case 'b':
        if (in_class) {
          cp = 8;
          i_ += 2;
          return 1;
        }
        return 0;
      default:
        break;
    }
    if (e < 128 && !std::isalnum(int(e))) {  // escaped punctuation / space: itself
      cp = e;
      i_ += 2;
      return 1;
    }
    if (e >= 128) {
      cp = e;
      i_ += 2;
      return 1;
    }
    return 0;
  }

  Result<NodePtr> parse_escape(bool icase) {
    uint32_t cp = 0;
    CharClass cls;
    auto r = parse_common_escape(cp, cls, false);
    if (!r.ok()) return r.error();
    if (r.value() == 1) return literal(cp, icase);
    if (r.value() == 2) return set_node(std::move(cls), icase);
    uint32_t e = s_[i_ + 1];
    auto assertion = [&](Op op) -> Result<NodePtr> {
      i_ += 2;
      auto n = make(Node::Assert);
      n->assert_op = op;
      return n;
    };
    switch (e) {
      case 'A':
        return assertion(Op::Bos);
      case 'z':
        return assertion(Op::Eos);
      case 'Z':
        return assertion(Op::EosNl);
      case 'b':
        return assertion(Op::WordBoundary);
      case 'B':
        return assertion(Op::NotWordBoundary);
      default:
        break;
    }
    char buf[8] = {'\\', char(e < 128 ? e : '?'), 0};
    return make_error("regex: unsupported escape %s at position %zu", buf, i_);
  }

  Result<CharClass> parse_class(int depth) {
    if (depth > kMaxDepth) return err("classes nested too deeply");
    ++i_;  // '['
    CharClass cls;
    if (at('^')) cls.negate = true, ++i_;
    bool first = true;
    while (true) {
      if (i_ >= s_.size()) return err("missing ']'");
      uint32_t c = s_[i_];
      if (c == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      if (at_str("[:")) return err("POSIX bracket classes [:name:] are not supported");
      if (at_str("&&")) return err("class intersection && is not supported");
      if (c == '[') {
        auto sub = parse_class(depth + 1);
        if (!sub.ok()) return sub.error();
        cls.parts.push_back(std::move(sub).value());
        continue;
      }
      uint32_t lo;
      if (c == '\\') {
        CharClass sub;
        auto r = parse_common_escape(lo, sub, true);
        if (!r.ok()) return r.error();
        if (r.value() == 0) return err("unsupported escape in a character class");
        if (r.value() == 2) {
          cls.parts.push_back(std::move(sub));
          continue;
        }
      } else {
        lo = c;
        ++i_;
      }
      uint32_t hi = lo;
      if (at('-') && i_ + 1 < s_.size() && s_[i_ + 1] != ']') {
        ++i_;
        if (at('[')) return err("bad character class range");
        if (at('\\')) {
          CharClass sub;
          auto r = parse_common_escape(hi, sub, true);
          if (!r.ok()) return r.error();
          if (r.value() != 1) return err("bad character class range");
        } else {
          hi = s_[i_++];
        }
        if (hi < lo) return err("character class range out of order");
      }
      cls.ranges.emplace_back(lo, hi);
    }
    return cls;
  }
};

// ---- compiler

bool nullable(const Node& n) {
  switch (n.kind) {
    case Node::Lit:
    case Node::Set:
    case Node::Any:
      return false;
    case Node::Concat:
      for (const auto& k : n.kids)
        if (!nullable(*k)) return false;
      return true;
    case Node::Alt:
      for (const auto& k : n.kids)
        if (nullable(*k)) return true;
      return false;
    case Node::Repeat:
      return n.min == 0 || nullable(*n.kids[0]);
    case Node::Atomic:
      return nullable(*n.kids[0]);
    default:
      return true;
  }
}

// Longest match length in code points, or -1 when unbounded.
long long max_length(const Node& n) {
  switch (n.kind) {
    case Node::Lit:
    case Node::Set:
    case Node::Any:
      return 1;
    case Node::Concat: {
      long long t = 0;
      for (const auto& k : n.kids) {
        long long m = max_length(*k);
        if (m < 0) return -1;
        t += m;
      }
      return t;
    }
    case Node::Alt: {
      long long t = 0;
      for (const auto& k : n.kids) {
        long long m = max_length(*k);
        if (m < 0) return -1;
        t = std::max(t, m);
      }
      return t;
    }
    case Node::Repeat: {
      if (n.max == kInfinite) return max_length(*n.kids[0]) == 0 ? 0 : -1;
      long long m = max_length(*n.kids[0]);
      return m < 0 ? -1 : m * n.max;
    }
    case Node::Atomic:
      return max_length(*n.kids[0]);
    default:
      return 0;
  }
}

class Compiler {
 public:
  explicit Compiler(Program& p) : p_(p) {}

  Status emit_all(const Node& n) {
    WHALE_TRY(emit(n));
    p_.insts.push_back({Op::Match});
    return Status::Ok();
  }

 private:
  Program& p_;

  size_t add(Inst in) {
    p_.insts.push_back(in);
    return p_.insts.size() - 1;
  }

  Status sub_program(const Node& body, bool anchored_end, uint32_t& index) {
    Program sub;  // its Class instructions index the root program's classes
    Compiler c(sub);
    WHALE_TRY(c.emit(body));
    if (anchored_end) sub.insts.push_back({Op::Eos});
    sub.insts.push_back({Op::Match});
    if (sub.insts.size() + p_.insts.size() > kMaxInsts)
      return make_error("regex: pattern too large");
    index = uint32_t(p_.subs.size());
    p_.subs.push_back(std::move(sub));
    return Status::Ok();
  }

  Status emit(const Node& n) {
    if (p_.insts.size() > kMaxInsts) return make_error("regex: pattern too large");
    switch (n.kind) {
      case Node::Empty:
        return Status::Ok();
      case Node::Lit:
        add({n.icase ? Op::CharFold : Op::Char, false, n.cp});
        return Status::Ok();
      case Node::Set:
        add({Op::Class, false, n.cls});
        return Status::Ok();
      case Node::Any:
        add({Op::Any});
        return Status::Ok();
      case Node::Assert:
        add({n.assert_op});
        return Status::Ok();
      case Node::Concat:
        for (const auto& k : n.kids) WHALE_TRY(emit(*k));
        return Status::Ok();
      case Node::Alt: {
        std::vector<size_t> jumps;
        for (size_t i = 0; i < n.kids.size(); ++i) {
          size_t split = 0;
          if (i + 1 < n.kids.size()) split = add({Op::Split});
          WHALE_TRY(emit(*n.kids[i]));
          if (i + 1 < n.kids.size()) {
            jumps.push_back(add({Op::Jmp}));
            p_.insts[split].x = uint32_t(split + 1);
            p_.insts[split].y = uint32_t(p_.insts.size());
          }
        }
        for (size_t j : jumps) p_.insts[j].x = uint32_t(p_.insts.size());
        return Status::Ok();
      }
      case Node::Look: {
        uint32_t idx;
        long long behind_len = 0;
        if (n.behind) {
          behind_len = max_length(*n.kids[0]);
          if (behind_len < 0) return make_error("regex: lookbehind must have a bounded length");
        }
        WHALE_TRY(sub_program(*n.kids[0], n.behind, idx));
        add({Op::Look, n.negate, idx, n.behind ? uint32_t(behind_len + 1) : 0});
        return Status::Ok();
      }
      case Node::Atomic: {
        uint32_t idx;
        WHALE_TRY(sub_program(*n.kids[0], false, idx));
        add({Op::Atomic, false, idx});
        return Status::Ok();
      }
      case Node::Repeat:
        return emit_repeat(n);
    }
    return Status::Ok();
  }

  // One optional copy: greedy tries the body first.
  size_t emit_split(bool greedy) { return add({Op::Split, greedy}); }
  void patch_split(size_t at, size_t body, size_t skip, bool greedy) {
    p_.insts[at].x = uint32_t(greedy ? body : skip);
    p_.insts[at].y = uint32_t(greedy ? skip : body);
    p_.insts[at].neg = false;
  }

  Status emit_repeat(const Node& n) {
    const Node& body = *n.kids[0];
    for (int i = 0; i < n.min; ++i) WHALE_TRY(emit(body));
    if (n.max == kInfinite) {
      bool empty_check = nullable(body);
      uint32_t slot = p_.n_slots;
      if (empty_check) ++p_.n_slots;
      size_t loop = emit_split(n.greedy);
      if (empty_check) add({Op::Mark, false, slot});
      WHALE_TRY(emit(body));
      size_t check = empty_check ? add({Op::Check, false, slot}) : 0;
      add({Op::Jmp, false, uint32_t(loop)});
      size_t exit = p_.insts.size();
      patch_split(loop, loop + 1, exit, n.greedy);
      if (empty_check) p_.insts[check].y = uint32_t(exit);
      return Status::Ok();
    }
    // (body (body (...)?)?)? : each further copy is only tried after the previous matched.
    std::vector<size_t> splits;
    for (int i = n.min; i < n.max; ++i) {
      splits.push_back(emit_split(n.greedy));
      WHALE_TRY(emit(body));
      if (p_.insts.size() > kMaxInsts) return make_error("regex: pattern too large");
    }
    size_t exit = p_.insts.size();
    for (size_t s : splits) patch_split(s, s + 1, exit, n.greedy);
    return Status::Ok();
  }
};

void finalize_classes(Program& p) {
  // The 8 KiB BMP cache is built for the first classes only, which bounds the memory and time a
  // hostile pattern with thousands of classes can take; the others use the slow path.
  for (size_t i = 0; i < p.classes.size() && i < 64; ++i) p.classes[i].finalize();
}

}  // namespace
}  // namespace regex_detail

Result<Regex> Regex::compile(std::string_view pattern) {
  using namespace regex_detail;
  if (!unicode::is_valid_utf8(pattern)) return make_error("regex: pattern is not valid UTF-8");
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < pattern.size();) cps.push_back(unicode::decode_utf8(pattern, i));
  auto prog = std::make_shared<Program>();
  Parser parser(std::move(cps), *prog);
  auto ast = parser.parse();
  if (!ast.ok()) return ast.error();
  Compiler compiler(*prog);
  WHALE_TRY(compiler.emit_all(*ast.value()));
  finalize_classes(*prog);
  Regex r;
  r.program_ = std::move(prog);
  r.pattern_ = std::string(pattern);
  return r;
}

Regex Regex::literal(std::string_view text) {
  using namespace regex_detail;
  auto prog = std::make_shared<Program>();
  std::string_view valid = text;
  std::string fixed;
  if (!unicode::is_valid_utf8(text)) valid = fixed = unicode::to_valid_utf8(text);
  for (size_t i = 0; i < valid.size();)
    prog->insts.push_back({Op::Char, false, unicode::decode_utf8(valid, i)});
  prog->insts.push_back({Op::Match});
  Regex r;
  r.program_ = std::move(prog);
  r.pattern_ = std::string(text);
  return r;
}

}  // namespace whale
