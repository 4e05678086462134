"""The one Jinja2 environment, its escaping filters, and rendering plans to file contents."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

import jinja2

from generator import memo
from generator.dockerfile_plan import DockerfilePlan
from generator.errors import GeneratorError, RenderError
from generator.plan import Plan
from generator.stacks import TEMPLATE_DIR, template_dirs
from generator.workflows import Workflow

# A Dockerfile instruction ends at a newline, and a quoted value has no escape for one or for
# any other control character; a lone surrogate is not even UTF-8.
_NOT_IN_DOCKERFILE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Control characters and the Unicode line and paragraph separators: whatever a parser, an
# editor or a diff viewer may take for the end of a line.
_LINE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def hcl_string(value: object) -> str:
    """Quote a value as an HCL string literal; `${` and `%{` are escaped so they stay literal.

    Any text comes back as written, except that bake stores every string in Unicode NFC;
    validation refuses other text where that would change a label or arg.
    """
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = text.replace(raw, escaped)
    return '"' + text.replace("${", "$${").replace("%{", "%%{") + '"'


def hcl_list(values: Iterable[object]) -> str:
    """An HCL list of string literals on one line."""
    return "[" + ", ".join(hcl_string(v) for v in values) + "]"


def exec_form(values: Iterable[str]) -> str:
    """A Dockerfile exec-form (JSON) array, as CMD and HEALTHCHECK need."""
    return json.dumps(list(values))


def dockerfile_value(value: object) -> str:
    """A double-quoted Dockerfile ENV/ARG value with quotes, backslashes and `$` escaped.

    Inside double quotes BuildKit unescapes exactly `\\\\`, `\\"` and `\\$`, so everything else,
    backticks and `'` included, comes back as written. Control characters cannot: refuse them
    rather than let one end the instruction early.
    """
    text = str(value)
    if bad := _NOT_IN_DOCKERFILE.search(text):
        raise RenderError(
            f"{text!r} cannot be a Dockerfile ENV/ARG value: {bad.group()!r} is a control character"
        )
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + text + '"'


def yaml_scalar(value: object) -> str:
    """A YAML scalar that reads back as exactly this value: JSON's string and boolean
    literals are YAML flow scalars, and JSON escapes every character YAML would act on."""
    return json.dumps(value, ensure_ascii=False)


def github_expression(expression: str) -> str:
    """`${{ expression }}` for a workflow: Jinja2 reads `{{` itself, so templates name the
    expression and this filter wraps it."""
    return "${{ " + expression + " }}"


def comment(value: object) -> str:
    """Text for a `#` comment, on one line whatever it holds: a line break would let the rest
    out of the comment. Comments are never parsed back, so a space stands in for it."""
    return _LINE_BREAKS.sub(" ", str(value))


@cache
def environment(template_dirs: tuple[Path, ...] = (TEMPLATE_DIR,)) -> jinja2.Environment:
    """The Jinja2 environment every generated file is rendered with (first dir wins)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        bytecode_cache=memo.template_bytecode(),
    )
    env.filters.update(
        hcl=hcl_string,
        hcl_list=hcl_list,
        exec_form=exec_form,
        dockerfile_value=dockerfile_value,
        comment=comment,
        yaml=yaml_scalar,
        gha=github_expression,
    )
    return env


def _render(template: str, **values: object) -> str:
    try:
        return environment(template_dirs()).get_template(template).render(**values)
    except jinja2.TemplateNotFound as exc:
        raise GeneratorError(
            f"template {exc.name} not found in {TEMPLATE_DIR}: sutrabuild reads templates/ from "
            "its checkout; install it with `pip install -e .` (as `make install` does)"
        ) from None
    except jinja2.TemplateError as exc:
        # A project's own template (a stack folder, a custom service template) that calls
        # what no template defines: one line at the template's line, no traceback.
        raise RenderError(f"{_template_line(exc, template)}: {exc.message}") from None


def _template_line(exc: jinja2.TemplateError, template: str) -> str:
    """FILE:LINE of the template line that failed: Jinja puts it in the traceback."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    where = f"templates/{template}:1"
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def render_dockerfile(df: DockerfilePlan) -> dict[str, str]:
    """A Dockerfile and its .dockerignore."""
    return {
        df.path: _render(df.template, df=df),
        df.dockerignore_path: _render("dockerignore.j2", df=df),
    }


def render_all(plan: Plan, workflows: Iterable[Workflow] = ()) -> Mapping[str, str]:
    """Every generated file, path -> content, in path order."""
    files = {plan.bake.path: _render("docker-bake.hcl.j2", bake=plan.bake)}
    for df in plan.dockerfiles:
        files.update(render_dockerfile(df))
    files.update({w.path: _render(w.template, w=w) for w in workflows})
    return dict(sorted(files.items()))
