// Unit tests of the Jinja interpreter: expected strings are what Python jinja2 3.1 renders
// with transformers' settings (trim_blocks, lstrip_blocks, loopcontrols).
#include <gtest/gtest.h>

#include "template/jinja.h"

using whale::Template;

namespace {

std::string render(const std::string& src,
                   const nlohmann::ordered_json& ctx = nlohmann::ordered_json::object()) {
  auto t = Template::parse(src);
  if (!t.ok()) return "PARSE ERROR: " + t.error().message;
  auto r = t->render(ctx);
  if (!r.ok()) return "ERROR: " + r.error().message;
  return *r;
}

TEST(Jinja, PrintAndLiterals) {
  EXPECT_EQ(render("a{{ 1 }}b{{ 'x' }}{{ \"y\" }}"), "a1bxy");
  EXPECT_EQ(render("{{ [1, 'a', none, true, 1.5, {'k': 'v'}] }}"),
            "[1, 'a', None, True, 1.5, {'k': 'v'}]");
  EXPECT_EQ(render("{{ ('a',) }}{{ (1, 2) }}"), "('a',)(1, 2)");
  EXPECT_EQ(render("{{ \"it's\" }} {{ [\"it's\"] }}"), "it's [\"it's\"]");
  EXPECT_EQ(render("{{ 'a\\nb\\t\\u00e9\\x41' }}"), "a\nb\téA");
  EXPECT_EQ(render("{{ none }}{{ True }}{{ false }}"), "NoneTrueFalse");
  EXPECT_EQ(render("{{ 'ab' 'cd' }}"), "abcd");
}

TEST(Jinja, PythonFloatPrinting) {
  EXPECT_EQ(render("{{ 1e16 }} {{ 1e-5 }} {{ 0.1 }} {{ 1.0 }} {{ 3/2 }} {{ 1e15 }} {{ 0.0001 }}"),
            "1e+16 1e-05 0.1 1.0 1.5 1000000000000000.0 0.0001");
  EXPECT_EQ(render("{{ 2**10 }} {{ 2**-1 }} {{ 7//2 }} {{ -7//2 }} {{ -7 % 3 }} {{ 7.5 // 2 }}"),
            "1024 0.5 3 -4 2 3.0");
  EXPECT_EQ(render("{{ 0.1 + 0.2 }}"), "0.30000000000000004");
}

TEST(Jinja, Operators) {
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 'a' ~ 1 ~ none }} {{ 'ab' * 3 }}"),
            "7 9 a1None ababab");
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 'b' in 'abc' }} {{ 1 not in [1] }} {{ 'k' in {'k': 1} }}"),
            "True True False True");
  EXPECT_EQ(render("{{ 1 == 1.0 }} {{ 1 == true }} {{ [1, 2] == [1, 2] }} {{ 'a' != 'a' }}"),
            "True True True False");
  EXPECT_EQ(render("{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not 0 }} {{ 'yes' if 1 else 'no' }}"),
            "x y True yes");
  EXPECT_EQ(render("{{ -3|abs }} {{ - 2 ** 2 }}"), "3 4");
  EXPECT_EQ(render("[{{ 'a' if false }}]"), "[]");
}

TEST(Jinja, Slicing) {
  nlohmann::ordered_json ctx = {{"s", "héllo"}, {"l", {1, 2, 3, 4, 5}}};
  EXPECT_EQ(render("{{ s[1:3] }} {{ s[::-1] }} {{ s[-2:] }} {{ s[1] }} {{ s|length }}", ctx),
            "él olléh lo é 5");
  EXPECT_EQ(render("{{ l[1:4:2] }} {{ l[::-1] }} {{ l[-2] }} {{ l[10:] }} {{ l[:-3] }}", ctx),
            "[2, 4] [5, 4, 3, 2, 1] 4 [] [1, 2]");
}

TEST(Jinja, StringMethods) {
  EXPECT_EQ(render("{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\na\\n'.lstrip('\\n') }}|"
                   "{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}"),
            "a b|a|a\n|['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']");
  EXPECT_EQ(render("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} "
                   "{{ 'aXa'.replace('a', 'b') }} {{ 'Hi'.upper() }}{{ 'Hi'.lower() }} "
                   "{{ 'hello world'.title() }} {{ 'abcb'.find('b') }} {{ 'abcb'.count('b') }}"),
            "True True bXb HIhi Hello World 1 2");
  EXPECT_EQ(render("{{ 'x</think>y</think>z'.split('</think>')[-1] }}"), "z");
  EXPECT_EQ(render("{{ '{} and {name}'.format(1, name='n') }} {{ '-'.join(['a', 'b']) }}"),
            "1 and n a-b");
}

TEST(Jinja, DictMethods) {
  nlohmann::ordered_json ctx = {{"d", {{"b", 1}, {"a", 2}}}};
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.keys()|list }}"
                   "{{ d.values()|list }}{{ d.get('a') }}{{ d.get('z', 'none') }}{{ d.get('z') }}",
                   ctx),
            "b=1;a=2;['b', 'a'][1, 2]2noneNone");
}

TEST(Jinja, IfElifElseAndTests) {
  EXPECT_EQ(render("{% if x is defined %}d{% elif y %}y{% else %}e{% endif %}", {{"y", 1}}), "y");
  EXPECT_EQ(
      render(
          "{{ none is none }} {{ 1 is number }} {{ 'a' is string }} {{ {} is mapping }} "
          "{{ [] is iterable }} {{ x is undefined }} {{ 3 is odd }} {{ 4 is divisibleby 2 }} "
          "{{ 'a' is equalto 'a' }} {{ true is true }} {{ 1 is not false }} {{ 'a' is in 'abc' }}"),
      "True True True True True True True True True True True True");
}

TEST(Jinja, ForLoops) {
  EXPECT_EQ(render("{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}"
                   "{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.cycle('o', 'e') }} "
                   "{% endfor %}"),
            "10TrueFalse33o 21FalseFalse32e 32FalseTrue31o ");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in range(10) if x is odd %}{{ x }}{{ loop.length }},{% endfor %}"),
            "15,35,55,75,95,");
  EXPECT_EQ(render("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}"
                   "{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
            "013");
  EXPECT_EQ(render("{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}"), "37");
  EXPECT_EQ(render("{% for c in 'hé' %}[{{ c }}]{% endfor %}"), "[h][é]");
}

TEST(Jinja, ScopingAndNamespace) {
  // A set inside a loop does not leak out and restarts from the outer value each iteration.
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }}|"
                   "{% endfor %}{{ x }}"),
            "111|111|1");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}"
                   "{% endfor %}{{ ns.n }}"),
            "3");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}"), "12");
  EXPECT_EQ(render("{% set x %}in {{ 1 }}{% endset %}[{{ x }}]"), "[in 1]");
}

TEST(Jinja, MacrosAndCall) {
  EXPECT_EQ(render("{% macro greet(name, p='Hi') %}{{ p }} {{ name }}{% endmacro %}"
                   "{{ greet('a') }}/{{ greet('b', p='Yo') }}"),
            "Hi a/Yo b");
  EXPECT_EQ(
      render("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}in{% endcall %}"),
      "[in]");
}

TEST(Jinja, Filters) {
  nlohmann::ordered_json ctx = {
      {"users",
       {{{"name", "b"}, {"age", 3}}, {{"name", "A"}, {"age", 1}}, {{"name", "c"}, {"age", 2}}}}};
  EXPECT_EQ(render("{{ users|map(attribute='name')|join(',') }} {{ users|selectattr('age', 'gt', "
                   "1)|list|length }} "
                   "{{ users|rejectattr('age', 'equalto', 1)|map(attribute='age')|list }} "
                   "{{ users|sort(attribute='name')|map(attribute='name')|join }}",
                   ctx),
            "b,A,c 2 [3, 2] Abc");
  EXPECT_EQ(render("{{ [3, 1, 2]|sort }} {{ [1, 2, 1]|unique|list }} {{ [1, 2]|reverse|list }} "
                   "{{ [1, 2]|first }}{{ [1, 2]|last }} {{ 'ab'|upper }} {{ ' x '|trim }}|"
                   "{{ 'hello world'|title }} {{ 'x'|capitalize }} {{ 'aa'|replace('a', 'b') }}"),
            "[1, 2, 3] [1, 2] [2, 1] 12 AB x|Hello World X bb");
  EXPECT_EQ(
      render("{{ x|default('d') }} {{ ''|default('d', true) }} {{ '3'|int + 1 }} {{ '2.5'|float }} "
             "{{ 3.7|int }} {{ {'b': 1, 'a': 2}|dictsort }} {{ {'a': 1}|items|list }} "
             "{{ 'a b c'|wordcount }} {{ [1, 2, 3]|sum }} {{ [4, 2]|min }}"),
      "d d 4 2.5 3 [('a', 2), ('b', 1)] [('a', 1)] 3 6 2");
  EXPECT_EQ(render("{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}"),
            "a\n  b\n\n  c|  a\n  b");
  EXPECT_EQ(
      render("{{ [1, 'a']|string }} {{ 1|string }} {{ '<&>'|e }} {{ [1, 2]|select('odd')|list }}"),
      "[1, 'a'] 1 &lt;&amp;&gt; [1]");
}

TEST(Jinja, ToJsonLikeTransformers) {
  nlohmann::ordered_json ctx = {{"x", {{"b", {1, 2.5, nullptr, true}}, {"a", "é<>'\""}}}};
  EXPECT_EQ(render("{{ x|tojson }}", ctx), "{\"b\": [1, 2.5, null, true], \"a\": \"é<>'\\\"\"}");
  EXPECT_EQ(render("{{ x|tojson(indent=2) }}", ctx),
            "{\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"a\": \"é<>'\\\"\"\n}");
  EXPECT_EQ(render("{{ {'b': 1, 'a': {}}|tojson(sort_keys=true) }} {{ [1, "
                   "2]|tojson(separators=(',', ':')) }}"),
            "{\"a\": {}, \"b\": 1} [1,2]");
}

TEST(Jinja, UndefinedSemantics) {
  EXPECT_EQ(
      render("[{{ nothing }}]{{ nothing|length }}{% for x in nothing %}x{% endfor %}{{ m.a }}",
             {{"m", nlohmann::ordered_json::object()}}),
      "[]0");
  EXPECT_EQ(render("{{ nothing.attr }}"),
            "ERROR: template error at line 1: 'nothing' is undefined");
  EXPECT_EQ(render("{{ m.a.b }}", {{"m", nlohmann::ordered_json::object()}}),
            "ERROR: template error at line 1: 'dict object' has no attribute 'a'");
  EXPECT_EQ(render("{{ nothing + 1 }}"), "ERROR: template error at line 1: 'nothing' is undefined");
}

TEST(Jinja, WhitespaceControl) {
  EXPECT_EQ(render("a  {{- 'b' -}}  \n c"), "abc");
  EXPECT_EQ(render("{% if true %}\nyes\n{% endif %}\nafter"), "yes\nafter");    // trim_blocks
  EXPECT_EQ(render("    {% if true %}\n    x\n    {% endif %}\n"), "    x\n");  // lstrip_blocks
  EXPECT_EQ(render("  {%+ if true %}x{% endif %}"), "  x");  // '+' disables lstrip
  EXPECT_EQ(render("{% if true +%}\nx{% endif %}"), "\nx");  // '+' disables trim
  EXPECT_EQ(render("a\n  {{ 'v' }}\n"), "a\n  v");  // no lstrip for {{ }}; one trailing \n dropped
  EXPECT_EQ(render("a {#- c -#} b {# c #}\nc"), "ab c");
  EXPECT_EQ(render("x\r\ny"), "x\ny");
  EXPECT_EQ(render("{% raw %}{{ not parsed }}{% endraw %}"), "{{ not parsed }}");
  EXPECT_EQ(render("{%- for i in [1, 2] %}\n  {{- i }}\n{%- endfor %}"), "12");
}

TEST(Jinja, ErrorsNameTheLine) {
  EXPECT_EQ(
      render("line1\n{{ 'a' + none }}"),
      "ERROR: template error at line 2: unsupported operand types for +: 'str' and 'NoneType'");
  EXPECT_EQ(render("\n\n{{ 'a' + 1 }}"),
            "ERROR: template error at line 3: unsupported operand types for +: 'str' and 'int'");
  EXPECT_EQ(render("{{ [1] + 'a' }}"),
            "ERROR: template error at line 1: unsupported operand types for +: 'list' and 'str'");
  EXPECT_EQ(render("{{ {} + 'a' }}"),
            "ERROR: template error at line 1: unsupported operand types for +: 'dict' and 'str'");
  EXPECT_EQ(render("\n{{ foo() }}"), "ERROR: template error at line 2: 'foo' is undefined");
  EXPECT_EQ(render("{{ 1 / 0 }}"), "ERROR: template error at line 1: division by zero");
  EXPECT_EQ(render("{{ raise_exception('bad role') }}"),
            "ERROR: template error at line 1: bad role");
  EXPECT_EQ(render("{% for x in none %}{% endfor %}"),
            "ERROR: template error at line 1: 'NoneType' object is not iterable");
  EXPECT_EQ(
      render("{{ [].append(1) }}"),
      "ERROR: template error at line 1: access to attribute 'append' of 'list' object is unsafe.");
  EXPECT_EQ(render("{% if %}"),
            "PARSE ERROR: template error at line 1: unexpected end of statement block");
  EXPECT_EQ(render("{% for x in y %}"),
            "PARSE ERROR: template error at line 1: unexpected end of template; expected one of: "
            "'else', 'endfor'");
  EXPECT_EQ(render("{{ x|nosuchfilter }}"),
            "PARSE ERROR: template error at line 1: No filter named 'nosuchfilter'.");
  EXPECT_EQ(render("{% foo %}"),
            "PARSE ERROR: template error at line 1: Encountered unknown tag 'foo'.");
  EXPECT_EQ(render("{{ 'unterminated }}"),
            "PARSE ERROR: template error at line 1: unexpected end of string");
}

TEST(Jinja, HostileTemplatesAreBounded) {
  std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
  EXPECT_NE(render("{{ " + deep + " }}").find("too deep"), std::string::npos);
  EXPECT_NE(render("{{ " + std::string(5000, '[') + " }}").find("expected '}}'"),
            std::string::npos);
  std::string nested;
  for (int i = 0; i < 1000; ++i) nested += "{% if true %}";
  EXPECT_NE(render(nested).find("too deep"), std::string::npos);
  EXPECT_NE(render("{{ range(1000000)|length }}").find("Range too big"), std::string::npos);
  // A quadratic loop stops at the step limit (a small one here, to keep the test fast).
  auto loops = Template::parse(
      "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}");
  ASSERT_TRUE(loops.ok());
  whale::TemplateLimits small;
  small.max_steps = 100000;
  auto r = loops->render(nlohmann::ordered_json::object(), small);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("step limit"), std::string::npos);
  EXPECT_NE(render("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}").find("recursion"),
            std::string::npos);
  EXPECT_NE(render("{{ 'x' * 1000000000 }}").find("too large"), std::string::npos);
  EXPECT_NE(render("{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}"
                   "{% set ns.s = ns.s + ns.s %}{% endfor %}")
                .find("too large"),
            std::string::npos);
}

}  // namespace
