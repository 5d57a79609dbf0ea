"""Build the course website: ``python docs/site/build_site.py`` (what ``make site`` runs).

Stages a Sphinx source folder in ``build/site-src/`` and renders it into ``build/site/``:

- the README as the home page (links to repository files point at GitHub, badges become text, so
  the page loads nothing from the internet);
- every lesson ``make course`` executed (``build/course/*.ipynb``) with its saved outputs and plots,
  a line of links at the top ("open in JupyterLab (Binder)", "download notebook"), and each widget
  replaced by its last state (the plot it showed, the question it asked) with a note that it is
  live in JupyterLab;
- the assignments' student versions (solutions and hidden tests removed by nbgrader's own
  preprocessors) as downloads.

Nothing is executed and nothing is downloaded: MyST-NB runs with ``nb_execution_mode = "off"``.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REPOSITORY = "https://github.com/mlcicd/mlcicd"
BINDER = "https://mybinder.org/v2/gh/mlcicd/mlcicd/HEAD?urlpath="
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
LIVE_NOTE = (
    "Interactive in JupyterLab: this is the widget's last state when the lesson was executed. "
    "Open the lesson in JupyterLab (Binder link above, or <code>make lab</code>) to use it."
)


class SiteError(Exception):
    """Bad input to the site build (missing lessons, a notebook that cannot be read)."""


# --- widgets -> their last state --------------------------------------------------------------


def _models(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _descendants(models: dict, model_id: str) -> list[dict]:
    """The widget and every widget inside it, depth first, as their saved model entries."""
    found, todo, seen = [], [model_id], set()
    while todo:
        current = todo.pop(0)
        if current in seen or current not in models:
            continue
        seen.add(current)
        model = models[current]
        found.append(model)
        children = model.get("state", {}).get("children", [])
        todo[0:0] = [c.removeprefix("IPY_MODEL_") for c in children if isinstance(c, str)]
    return found


def _png(model: dict) -> str | None:
    """The base64 PNG an Image widget showed, if its state was saved."""
    state = model.get("state", {})
    if model.get("model_name") != "ImageModel" or state.get("format", "png") != "png":
        return None
    for buffer in model.get("buffers", []):
        if buffer.get("path") == ["value"] and buffer.get("encoding", "base64") == "base64":
            return buffer["data"] or None
    value = state.get("value")
    return value if isinstance(value, str) and value else None


def static_widget(models: dict, model_id: str) -> list:
    """Outputs standing in for one widget: the note, its texts and choices, and its images."""
    parts, images = [], []
    for model in _descendants(models, model_id):
        state = model.get("state", {})
        name = model.get("model_name", "")
        if name in ("HTMLModel", "LabelModel", "HTMLMathModel") and state.get("value"):
            value = state["value"]
            parts.append(value if name != "LabelModel" else html.escape(value))
        elif state.get("_options_labels"):
            items = "".join(f"<li>{html.escape(o)}</li>" for o in state["_options_labels"])
            parts.append(f"<ul>{items}</ul>")
        elif "description" in state and name.endswith("SliderModel"):
            parts.append(f"{html.escape(state['description'])} {html.escape(str(state['value']))}")
        png = _png(model)
        if png:
            images.append(png)
    note = f'<div class="widget-note">{LIVE_NOTE}</div>'
    body = "".join(f"<div>{p}</div>" for p in parts)
    outputs = [nbformat.v4.new_output("display_data", data={"text/html": note + body})]
    outputs += [nbformat.v4.new_output("display_data", data={"image/png": p}) for p in images]
    return outputs


def freeze_widgets(nb) -> int:
    """Replace every widget output by its last state; returns how many were replaced."""
    models, replaced = _models(nb), 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view:
                outputs += static_widget(models, view.get("model_id", ""))
                replaced += 1
            else:
                outputs.append(output)
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return replaced


# --- lessons ------------------------------------------------------------------------------------


def lesson_links(name: str) -> str:
    binder = BINDER + quote(f"lab/tree/notebooks/{name}", safe="")
    return (
        f'<span class="lesson-links">[Open in JupyterLab (Binder)]({binder}) · '
        f"{{download}}`Download notebook <{name}>`</span>"
    )


def stage_lesson(executed: Path, target: Path) -> None:
    """The executed lesson as a page: links on top, widgets frozen, the injected cell hidden."""
    try:
        nb = nbformat.read(str(executed), as_version=4)
    except Exception as exc:
        raise SiteError(f"{executed}: not a readable notebook ({exc})") from exc
    freeze_widgets(nb)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:  # the build folder's paths; the lesson's own are shown
            cell.metadata["tags"] = [*tags, "remove-cell"]
    links = nbformat.v4.new_markdown_cell(lesson_links(executed.name))
    first = nb.cells[0] if nb.cells else None
    at = 1 if first is not None and first.cell_type == "markdown" and "# " in first.source else 0
    nb.cells.insert(at, links)
    nbformat.write(nb, str(target))


# --- assignments ------------------------------------------------------------------------------


def student_version(source: Path):
    """The notebook a student gets: nbgrader removes solutions, hidden tests and outputs."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    nb = nbformat.read(str(source), as_version=4)
    resources: dict = {}
    for step in (ClearSolutions(), ClearHiddenTests(), ClearOutput()):
        nb, resources = step.preprocess(nb, resources)
    return nb


def stage_assignments(source: Path, target: Path) -> list[str]:
    """Student versions into ``target/assignments/``; returns the MyST lines listing them."""
    lines = []
    folder = target / "assignments"
    folder.mkdir(parents=True, exist_ok=True)
    for nb_path in sorted(source.glob("*/*.ipynb")):
        nbformat.write(student_version(nb_path), str(folder / nb_path.name))
        lines.append(f"- {{download}}`{nb_path.parent.name} <assignments/{nb_path.name}>`")
    return lines


ASSIGNMENTS_PAGE = """# Assignments

The student versions of the course's nbgrader assignments: solutions and hidden tests removed
by nbgrader's own preprocessors, exactly what `nbgrader generate_assignment` releases. Download
one, open it in JupyterLab, fill in the answers and run the visible tests.

{items}
"""


# --- home page ----------------------------------------------------------------------------------


def home_page(readme: str, pages: list[str]) -> str:
    """The README with links fixed for the site and a navigation tree of ``pages``."""
    readme = re.sub(r"\[!\[([^\]]*)\]\([^)]*\)\]\([^)]*\)", r"", readme)  # badges: nothing to load
    readme = re.sub(r"!\[([^\]]*)\]\((https?:[^)]*)\)", r"\1", readme)

    def fix(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        if re.match(r"(https?:|mailto:|#)", target):
            return match.group(0)
        path = target.split("#")[0]
        if path in pages_files:
            return match.group(0)
        return f"[{text}]({REPOSITORY}/blob/HEAD/{target})"

    pages_files = {p + ".ipynb" for p in pages} | {p + ".md" for p in pages}
    readme = re.sub(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)", fix, readme)
    tree = "\n".join(pages)
    return f"{readme}\n\n```{{toctree}}\n:hidden:\n:caption: The course\n\n{tree}\n```\n"


# --- the build ----------------------------------------------------------------------------------


def stage(course: Path, src: Path, *, readme: Path, assignments: Path | None) -> list[str]:
    """Write the Sphinx source folder ``src``; returns its pages in navigation order."""
    lessons = sorted(course.glob("*.ipynb"))
    if not lessons:
        raise SiteError(f"{course}: no executed lessons (run `make course` first)")
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    shutil.copy(HERE / "conf.py", src / "conf.py")
    shutil.copytree(HERE / "_static", src / "_static")
    pages = []
    for lesson in lessons:
        stage_lesson(lesson, src / "notebooks" / lesson.name)
        pages.append(f"notebooks/{lesson.stem}")
    if assignments is not None and assignments.is_dir():
        items = stage_assignments(assignments, src)
        (src / "assignments.md").write_text(ASSIGNMENTS_PAGE.format(items="\n".join(items)))
        pages.append("assignments")
    (src / "index.md").write_text(home_page(readme.read_text(encoding="utf-8"), pages))
    return pages


def build_site(
    course: Path,
    out: Path,
    *,
    readme: Path = ROOT / "README.md",
    assignments: Path | None = ROOT / "assignments" / "source",
    src: Path | None = None,
) -> Path:
    """Stage and render the site into ``out``; returns ``out / "index.html"``."""
    from sphinx.cmd.build import build_main

    src = src or out.parent / f"{out.name}-src"
    stage(course, src, readme=readme, assignments=assignments)
    if out.exists():
        shutil.rmtree(out)
    code = build_main(["-b", "html", "-q", "-E", "-d", str(src / ".doctrees"), str(src), str(out)])
    if code != 0:
        raise SiteError(f"sphinx-build failed with exit code {code} (staged source in {src})")
    (out / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ and _downloads/ as they are
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build_site.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, default=ROOT / "build" / "course")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args(argv)
    try:
        index = build_site(args.course, args.out)
    except SiteError as exc:
        print(f"build_site: error: {exc}", file=sys.stderr)
        return 2
    print(f"the course website is in {index.parent} (open {index})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
