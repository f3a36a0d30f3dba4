"""Render a chat template exactly as Hugging Face transformers does (apply_chat_template):
jinja2 ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols]) with transformers' globals raise_exception and strftime_now and its
tojson filter (json.dumps without HTML escaping). Needs Debian's /usr/bin/python3 + jinja2."""
import json
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateError(Exception):
    pass


def _raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt):
    return datetime.now().strftime(fmt)


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


def render(template_src, messages, tools=None, add_generation_prompt=False, special_tokens=None, **extra):
    """Returns the rendered text; raises TemplateError on any template error."""
    env = make_env()
    try:
        tpl = env.from_string(template_src)
        ctx = dict(messages=messages, tools=tools, documents=None, add_generation_prompt=add_generation_prompt)
        ctx.update(special_tokens or {})
        ctx.update(extra)
        return tpl.render(**ctx)
    except Exception as e:  # jinja2 errors and Python TypeErrors alike
        raise TemplateError(f"{type(e).__name__}: {e}")
