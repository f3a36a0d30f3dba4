#!/usr/bin/env python3
"""Writes tests/data/tokenizer/corpus.jsonl: hard strings for tokenizer comparisons (one JSON
string per line, control characters escaped). Deterministic; rerun after editing the lists."""
import json
import os
import random

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

corpus = [
    "",
    " ",
    "  ",
    "\n",
    "\n\n\n",
    "\r\n",
    "\r\n\r\n",
    "\t",
    "Hello world",
    " Hello world",
    "Hello world ",
    "Hello world   ",
    "   leading spaces",
    "trailing newline\n",
    "line one\nline two\r\nline three\rline four",
    "Hello\n\n\nworld",
    "a  b   c    d     e",
    "tabs\tand\t\tmore\ttabs",
    "mixed \t \n \r\n whitespace \u3000 ideographic \u00a0 nbsp",
    "It's, we'll, they're, I've, I'm, he'd, she's",
    "IT'S WE'LL THEY'RE I'VE I'M HE'D",
    "It\u2019s curly, don\u2019t",
    "'s 's 'S 'll 'LL 'Re 're 'rE",
    "don'tdon't'tis",
    "\u017f's long s: it'\u017f",
    "The quick brown fox jumps over the lazy dog.",
    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
    "https://example.com/path/to/page?query=1&b=two#anchor",
    "mailto:someone@example.org, ftp://files.example.net/pub",
    "user@example.com",
    "0",
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "123456",
    "1234567",
    "12345678901234567890",
    "3.14159265358979",
    "1,234,567.89",
    "1.234.567,89",
    "1 234 567",
    "-42 +17 1e10 6.02e23 0x1F 0b1011",
    "2024-01-15T12:34:56Z",
    "Phone: +1 (555) 123-4567",
    "\u0661\u0662\u0663 Arabic-Indic digits \u06f4\u06f5",
    "\u0967\u0968\u0969 Devanagari digits",
    "\uff11\uff12\uff13 fullwidth digits",
    "\u2460\u2461 circled \u00bd \u00b2 superscript",
    "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u6563\u6b65\u5427\u3002",
    "\u65b0\u534e\u793e\u5317\u4eac1\u670815\u65e5\u7535\uff08\u8bb0\u8005\u5f20\u4e09\uff09\u56fd\u5bb6\u7edf\u8ba1\u5c40\u4eca\u5929\u53d1\u5e03\u6570\u636e\u663e\u793a\uff0c2023\u5e74\u56fd\u5185\u751f\u4ea7\u603b\u503c\u6bd4\u4e0a\u5e74\u589e\u957f5.2%\u3002",
    "\u4e2d\u6587English\u6df7\u5408mixed\u6587\u672ctext",
    "\u300a\u7ea2\u697c\u68a6\u300b\u662f\u4e2d\u56fd\u53e4\u5178\u5c0f\u8bf4\u2014\u2014\u201c\u56db\u5927\u540d\u8457\u201d\u4e4b\u4e00\u3002",
    "\u6771\u4eac\u90fd\u6e0b\u8c37\u533a\u3067\u30e9\u30fc\u30e1\u30f3\u3092\u98df\u3079\u307e\u3057\u305f\u3002",
    "\u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a\u3068\u6f22\u5b57",
    "\uff8a\uff9d\uff76\uff78\uff76\uff80\uff76\uff85 halfwidth katakana",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\uc785\ub2c8\ub2e4. \uc11c\uc6b8\ud2b9\ubcc4\uc2dc",
    "\u1112\u1161\u11ab\u1100\u1173\u11af conjoining jamo",
    "\u0627\u0644\u0633\u0644\u0627\u0645 \u0639\u0644\u064a\u0643\u0645 \u0648\u0631\u062d\u0645\u0629 \u0627\u0644\u0644\u0647",
    "\u0645\u064f\u062d\u064e\u0645\u0651\u064e\u062f harakat",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd niqqud",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01",
    "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439, \u043c\u0438\u0440! \u041f\u0420\u0418\u0412\u0415\u0422",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",
    "\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0 Georgian",
    "\u0531\u0562\u0563 Armenian \u1200\u1208 Ethiopic \u13a0\u13a1 Cherokee",
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u",
    "e\u0301 combining acute vs \u00e9 precomposed",
    "A\u030a \u212b angstrom \u00c5",
    "\u0301 lone combining mark at start",
    "a\u0301\u0302\u0303\u0304\u0305 stacked marks",
    "\u0323\u0307 marks out of canonical order q\u0307\u0323",
    "\u1e9b\u0323 long s with dots",
    "\ufb01 ligature \ufb03 \u01c4 \u01c5 \u01c6",
    "\u2126 ohm \u212a kelvin",
    "\U0001F600\U0001F603\U0001F604",
    "emoji \U0001F44D\U0001F3FD skin tone",
    "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 family ZWJ",
    "\U0001F3F3\ufe0f\u200d\U0001F308 rainbow flag",
    "\U0001F1FA\U0001F1F8\U0001F1EF\U0001F1F5\U0001F1E8\U0001F1F3 flags",
    "\U0001F469\U0001F3FE\u200d\U0001F4BB technologist",
    "\u2764\ufe0f \u2764 heart with and without VS16",
    "#\ufe0f\u20e3 keycap",
    "\U0001F9D1\u200d\U0001F91d\u200d\U0001F9D1",
    "def foo(x):\n    return x * 2\n",
    "int main(void) {\n\tprintf(\"hi\\n\");\n\treturn 0;\n}\n",
    "    if (a && b || !c) { x += y << 2; }",
    "const f = (a, b) => a ?? b?.c ?? [];",
    "SELECT * FROM users WHERE id = 42;",
    "<html><body><div class=\"x\">Hi</div></body></html>",
    "{\"key\": [1, 2, {\"nested\": null}], \"b\": true}",
    "$ ls -la | grep '^d' > out.txt 2>&1",
    "#include <stdio.h>\n#define MAX(a,b) ((a)>(b)?(a):(b))",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "\\n \\t \\\\ escaped backslashes",
    "snake_case_identifier camelCaseIdentifier PascalCase SCREAMING_CASE",
    "a.b.c.d e-f-g h/i/j k:l:m",
    "!!!???...,,,;;;",
    "---===+++***",
    "(((nested))) [[brackets]] {{braces}}",
    "\u201cquoted\u201d \u2018single\u2019 \u00abguillemets\u00bb \u300ccorner\u300d",
    "\u00a9\u00ae\u2122 \u20ac100 \u00a350 \u00a51000 $5",
    "\u2200x\u2208\u211d: x\u00b2 \u2265 0 \u2211\u220f\u222b",
    "<\uff5cbegin\u2581of\u2581sentence\uff5c>Hello",
    "<\uff5cend\u2581of\u2581sentence\uff5c>",
    "<\uff5cUser\uff5c>hi<\uff5cAssistant\uff5c>hello<\uff5cend\u2581of\u2581sentence\uff5c>",
    "<think>\nreasoning here\n</think>\n\nanswer",
    "<think></think>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
    "<|endoftext|>",
    "<|im_start|><|im_start|>",
    "<|im_start",
    "<|unknown_special|>",
    "text<|im_end|>text",
    " <|im_start|> spaced ",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<\uff5cfim\u2581begin\uff5c>code<\uff5cfim\u2581hole\uff5c>more<\uff5cfim\u2581end\uff5c>",
    "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>",
    "<|reserved_special_token_5|>",
    "<<|im_end|>>",
    "\x00",
    "a\x00b",
    "\x00\x00\x00",
    "\x01\x02\x03\x04\x05\x06\x07\x08",
    "\x0b\x0c\x0e\x0f\x10\x1b[31mred\x1b[0m",
    "\x1c\x1d\x1e\x1f separators",
    "\x7f delete \u0080\u0085\u009f C1 controls",
    "\u200b zero width space \u200c\u200d \ufeff BOM",
    "\u2028 line sep \u2029 para sep",
    "\u00ad soft hyphen",
    "\ufffd replacement char \ufffd\ufffd",
    "\uffff\ufffe noncharacters \U0010FFFF \U000E0001",
    "\ue000 private use \U000F0000",
    "\U0001D400\U0001D401 math bold \U0001D7CE digits",
    "\U00020000\U0002A6D6 CJK ext B",
    "\u00c0\u00c1\u00c2\u00c3\u00c4\u00c5\u00c6\u00c7\u00c8\u00c9",
    "na\u00efve caf\u00e9 r\u00e9sum\u00e9 co\u00f6perate",
    "Stra\u00dfe \u1e9e GROSSES",
    "\u0130stanbul \u0131\u0131 dotless",
    "supercalifragilisticexpialidocious" * 3,
    "a" * 300,
    "ab" * 200,
    " " * 100,
    "\n" * 50,
    "x" + " " * 17 + "y",
    "1" * 100,
    "\u4e00" * 120,
    "\U0001F600" * 40,
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "antidisestablishmentarianism" + "ism" * 20,
    "thisisaverylongwordwithoutanyspacesthatgoesonandonandonforever" * 2,
    "ALLCAPSWORDSTHATARELONG AND SHORT ONES",
    "MiXeD CaSe WoRdS",
    "hello\u3000\u4e16\u754c",
    "end with space ",
    " start with space",
    "  two spaces both ends  ",
    "word\n",
    "\nword",
    " \n \n ",
    "\t\n\t\n",
    "a\r\rb",
    "\r",
    "x \r\n y",
    "email: test.user+tag@sub.domain.co.uk",
    "C:\\Users\\name\\file.txt",
    "/usr/local/bin/python3 --version",
    "\u00bfQu\u00e9 tal? \u00a1Bien!",
    "\u0928\u092e\u0938\u094d\u0924\u0947123abc\u4e2d\u6587\U0001F600",
    "'tis 'twas o'clock rock'n'roll",
    "I'M I'm i'M i'm",
    "ca'n't wo'n't",
]

# Random mixtures built from pieces (deterministic seed) for more combinations.
pieces = ["Hello", " ", "  ", "\n", "\r\n", "\t", "123", "4567", "\u4e2d\u6587", "\u65e5\u672c",
          "\U0001F600", "\u00e9", "e\u0301", "'s", "'LL", "<|im_start|>", "<think>", "</think>",
          "<\uff5cUser\uff5c>", "!!", "...", "\u0645\u0631\u062d\u0628\u0627", "x", "\x00", "\u200d",
          "\u3000", "\uff01", "(", ")", "_", "-", "\U0001F1FA\U0001F1F8", "\u0e2a\u0e27\u0e31"]
rng = random.Random(1234)
for _ in range(40):
    corpus.append("".join(rng.choice(pieces) for _ in range(rng.randint(2, 12))))

seen = set()
out = []
for s in corpus:
    if s not in seen:
        seen.add(s)
        out.append(s)
path = os.path.join(ROOT, "tests/data/tokenizer/corpus.jsonl")
with open(path, "w", encoding="utf-8") as f:
    for s in out:
        f.write(json.dumps(s, ensure_ascii=False) + "\n")
print("wrote %d strings to %s" % (len(out), path))

# nfc_corpus.jsonl: every code point with a canonical decomposition or a combining class (in
# this Python's Unicode version), decomposed and precomposed, next to marks of other classes,
# plus Hangul samples: exercises NFC (decomposition, canonical reordering, composition).
import unicodedata  # noqa: E402

nfc = []
for c in range(0x110000):
    if 0xD800 <= c < 0xE000:
        continue
    ch = chr(c)
    d = unicodedata.decomposition(ch)
    if (d and not d.startswith("<")) or unicodedata.combining(ch):
        nfc.append("x" + unicodedata.normalize("NFD", ch) + "\u0316\u0301 " + ch + "\u0301\u0316")
for c in range(0xAC00, 0xD7A4, 97):
    nfc.append(unicodedata.normalize("NFD", chr(c)) + " " + chr(c) + "\u11a8")
path = os.path.join(ROOT, "tests/data/tokenizer/nfc_corpus.jsonl")
with open(path, "w", encoding="utf-8") as f:
    for s in nfc:
        f.write(json.dumps(s, ensure_ascii=False) + "\n")
print("wrote %d strings to %s" % (len(nfc), path))
