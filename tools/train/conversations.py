"""Training documents: plain chapters plus chat conversations rendered with DeepSeek-R1's template.

A conversation is rendered the way DeepSeek-R1 is used: the template renders the history and
the generation prompt ("<｜Assistant｜><think>\\n"), then the assistant's reasoning, "</think>",
the answer and "<｜end▁of▁sentence｜>" follow. (The template itself strips "<think>..."
from assistant turns in the history, so earlier turns appear as answers only, as in R1.)
"""

import json
import random
import re

import jinja2

TOPICS = [
    "light", "water", "bread", "wine", "love", "mercy", "peace", "fear", "faith", "hope",
    "king", "fire", "sea", "gold", "silver", "blood", "sheep", "shepherd", "land", "house",
    "temple", "heaven", "earth", "righteousness", "sin", "wisdom", "sword", "prayer", "joy",
    "truth", "life", "death", "servant", "city", "mountain", "river", "tree", "fruit", "word",
    "spirit", "covenant", "law", "prophet", "angel", "children", "father", "mother", "brother",
    "altar", "famine", "wilderness", "glory", "salvation", "judgment", "grace", "night",
]

REF_QUESTIONS = [
    "Recite {ref}.", "What does {ref} say?", "Quote {ref} for me.", "Please give me {ref}.",
    "Can you tell me the words of {ref}?", "{ref}",
]
TOPIC_QUESTIONS = [
    "Give me a verse about {topic}.", "What does the Bible say about {topic}?",
    "Find a passage about {topic}.", "Show me a verse that speaks of {topic}.",
]
PASSAGE_QUESTIONS = ["Recite {ref} through verse {last}.", "Quote {ref} to {last}."]


def load_template(path, from_config=False):
    """A .jinja file, or with from_config the chat_template of a tokenizer_config.json."""
    with open(path, encoding="utf-8") as f:
        source = json.load(f)["chat_template"] if from_config else f.read()
    env = jinja2.Environment(keep_trailing_newline=True)
    return env.from_string(source)


def _with_reasoning(template, history, question, reasoning, answer, bos, eos):
    messages = history + [{"role": "user", "content": question}]
    prompt = template.render(messages=messages, add_generation_prompt=True, bos_token=bos,
                             eos_token=eos)
    # The prompt ends with "<think>\n"; reasoning, "</think>", a blank line, then the answer.
    return prompt + reasoning + "\n</think>\n\n" + answer + eos


def _verse_answer(v):
    return f"{v.ref} {v.text}"


def _ask_reference(rng, verses, chapter_of):
    v = rng.choice(verses)
    if rng.random() < 0.25:
        chapter = chapter_of[(v.book, v.chapter)]
        last_i = min(len(chapter), v.verse + rng.randint(1, 3))
        passage = [chapter[i - 1] for i in range(v.verse, last_i + 1)]
        if len(passage) > 1:
            q = rng.choice(PASSAGE_QUESTIONS).format(ref=v.ref, last=passage[-1].verse)
            reasoning = (f"The user asks for {v.book} chapter {v.chapter}, verses {v.verse} to "
                         f"{passage[-1].verse}. I will quote them in order.")
            answer = "\n".join(f"{p.verse} {p.text}" for p in passage)
            return q, reasoning, f"{v.book} {v.chapter}\n{answer}"
    q = rng.choice(REF_QUESTIONS).format(ref=v.ref)
    reasoning = (f"The user asks for {v.book} chapter {v.chapter}, verse {v.verse}. "
                 f"I will quote it.")
    return q, reasoning, _verse_answer(v)


def _ask_topic(rng, by_topic):
    topic = rng.choice(sorted(by_topic))
    v = rng.choice(by_topic[topic])
    q = rng.choice(TOPIC_QUESTIONS).format(topic=topic)
    reasoning = (f"The user wants a verse about {topic}. {v.ref} speaks of {topic}, "
                 f"so I will quote it.")
    return q, reasoning, _verse_answer(v)


def make_conversations(verses, count, template, bos, eos, seed):
    """count rendered conversations (strings with special-token texts), deterministic in seed."""
    rng = random.Random(seed)
    chapter_of = {}
    for v in verses:
        chapter_of.setdefault((v.book, v.chapter), []).append(v)
    by_topic = {t: [v for v in verses if re.search(rf"\b{t}\b", v.text.lower())] for t in TOPICS}
    by_topic = {t: vs for t, vs in by_topic.items() if vs}
    out = []
    for _ in range(count):
        history = []
        if rng.random() < 0.1:  # a second turn after an answered first one
            q, _, a = _ask_reference(rng, verses, chapter_of)
            history = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        if rng.random() < 0.6:
            q, r, a = _ask_reference(rng, verses, chapter_of)
        else:
            q, r, a = _ask_topic(rng, by_topic)
        out.append(_with_reasoning(template, history, q, r, a, bos, eos))
    return out

