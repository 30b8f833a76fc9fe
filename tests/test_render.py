"""The template environment: its shortened call path passes what Jinja's would."""

import jinja2
import pytest

from dossier.errors import TemplateFailure
from dossier.render import make_environment


class Helper:
    """Stands in for ``here``: plain methods, and one that asks Jinja for the context."""

    def twice(self, text, sep="-"):
        return f"{text}{sep}{text}"

    @jinja2.pass_context
    def greeting(self, context, name):
        return f"{context['salutation']}, {name}"

    def empty(self):
        raise StopIteration


def render(source: str, **context) -> str:
    env = make_environment({"page.html": source, "macros.html":
                            "{% macro box(x, label='box') %}[{{ label }}:{{ x }}]{% endmacro %}"})
    return env.get_template("page.html").render(helper=Helper(), **context)


def test_methods_get_their_arguments_and_keywords():
    assert render("{{ helper.twice('a') }} {{ helper.twice('b', sep='+') }}") == "a-a b+b"


def test_a_method_that_asks_for_the_context_gets_it():
    assert render("{{ helper.greeting('Ana') }}", salutation="Hola") == "Hola, Ana"


def test_macros_called_in_loops_see_their_arguments_and_autoescape():
    source = ("{% import 'macros.html' as m %}{% for x in xs %}{{ m.box(x) }}"
              "{{ m.box(x, label='<b>') }}{% endfor %}{% macro local(y) %}({{ y }}){% endmacro %}"
              "{{ local(1) }}")
    assert render(source, xs=["<i>", 2]) == \
        "[box:&lt;i&gt;][&lt;b&gt;:&lt;i&gt;][box:2][&lt;b&gt;:2](1)"


def test_a_callable_that_raises_stopiteration_is_undefined_as_in_jinja():
    with pytest.raises(jinja2.UndefinedError):
        render("{{ helper.empty() }}")


def test_a_macro_called_with_an_unknown_keyword_still_fails():
    with pytest.raises((TypeError, TemplateFailure)):
        render("{% import 'macros.html' as m %}{{ m.box(1, colour='red') }}")


