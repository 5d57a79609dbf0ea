"""Sphinx configuration of the course website (``make site``; see build_site.py).

The pages are the lessons ``make course`` already executed: MyST-NB renders their saved outputs
and never runs a kernel (``nb_execution_mode = "off"``). Everything the pages load is bundled
with the theme, so the build and the site work offline.
"""

project = "mlcicd"
author = "the mlcicd authors"
copyright = "the mlcicd authors, MIT licence"

REPOSITORY = "https://github.com/mlcicd/mlcicd"

extensions = ["myst_nb"]
# the assignments are downloads, not pages
exclude_patterns = ["_build", "**.ipynb_checkpoints", "assignments/*.ipynb"]
root_doc = "index"

# render the outputs make course saved; execute nothing
nb_execution_mode = "off"
# no widget manager from a CDN: widgets were replaced by their last state when the site was staged
nb_ipywidgets_js = {}
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["myst.header"]

html_theme = "sphinx_book_theme"
html_title = "mlcicd: CI/CD for machine learning, measured"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": "HEAD",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "show_navbar_depth": 1,
}
html_last_updated_fmt = None
# a definite colour mode: without one the theme finds none stored on a first visit and logs an
# error to the browser console before falling back to "auto"
html_context = {"default_mode": "light"}
