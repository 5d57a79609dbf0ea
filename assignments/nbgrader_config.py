# nbgrader configuration of the mlcicd course. Run nbgrader from this folder (assignments/);
# everything is relative to this file, so a copy of the folder works the same way.
import os

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

# --- the course directory ---------------------------------------------------------------------
c.CourseDirectory.course_id = "mlcicd"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# a local exchange folder (git-ignored), so nbgrader does not look for a system-wide one; made
# here so the formgrader finds it (else it warns that it "does not exist and could not be created")
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
# gradebook.db sits beside this file (nbgrader's default, written out so it is easy to find)
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
# never copied into the student versions nor over a submission
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "__pycache__",
    "*.pyc",
    ".DS_Store",
    ".pytest_cache",
    ".mlcicd-cache",
    "feedback",
]

# --- the student versions ---------------------------------------------------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# --- running notebooks (validate, autograde) ----------------------------------------------------
c.Execute.timeout = 60  # seconds per cell; an endless loop is interrupted and fails its cell
c.Execute.kernel_name = "python3"
c.Execute.interrupt_on_timeout = True
# wait longer than the default 4 s for a cell's last output on a loaded machine (nbgrader#1230)
c.Execute.iopub_timeout = 30
# once the last cell has answered, the kernel has nothing left to say: stop it at once instead of
# asking it to shut down and waiting (0.4 s to 3 s a submission, measured); the sandbox's process
# group still kills anything it left running
c.Execute.shutdown_kernel = "immediate"
# Student code runs with limits (memory, CPU time, processes, file size), a scrubbed environment
# and a private working folder: see mlcicd/course/sandbox.py (MLCICD_SANDBOX_* change the limits).
c.Execute.kernel_manager_class = "mlcicd.course.sandbox.SandboxedKernelManager"
# Every kernel is forked from a warm template process that has imported these modules once (and
# never runs notebook code): each submission still gets a new process, without ~2 s of imports.
# A module that fails to import is left to the kernel. `c.SandboxedKernelManager.preload = []`
# turns it off. See mlcicd/course/warm.py and "Grading speed" in README.md.
c.SandboxedKernelManager.preload = [
    "ipykernel.kernelapp",
    "IPython.terminal.interactiveshell",
    "sqlite3",
    "matplotlib_inline.backend_inline",
    "numpy",
    "pandas",
    "scipy.stats",
    "scipy.special",
    "threadpoolctl",
    "sklearn",
    "sklearn.base",
    "sklearn.compose",
    "sklearn.datasets",
    "sklearn.dummy",
    "sklearn.ensemble",
    "sklearn.exceptions",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.tree",
    "mlcicd.files",
    "mlcicd.data",
    "mlcicd.validation",
    "mlcicd.training",
    "mlcicd.evaluation",
    "mlcicd.monitoring",
    "mlcicd.slices",
    "mlcicd.rollout",
    "mlcicd.measure.growth",
    "mlcicd.measure.software_ci",
    "mlcicd.course.hidden",
]

# --- collecting submissions (nbgrader zip_collect) ----------------------------------------------
# One archive per student named <student_id>.zip in downloaded/<assignment>/archive/; the
# notebooks may sit in any folder inside it. Notebooks the assignment does not have (checkpoints,
# renamed copies) are skipped with a warning.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/extracted/(?P<student_id>[^/]+)/(?:[^/]+/)*(?P<file_id>[^/]+\.ipynb)$"
)
c.ZipCollectApp.strict = True

# --- autograde --------------------------------------------------------------------------------
# Test cells a student deleted are put back from the gradebook (edited ones always are), and a
# submission that kills its kernel is graded up to that point instead of stopping the run.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "mlcicd.course.grading.RestoreDeletedCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "mlcicd.course.grading.ResilientExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# --- feedback ---------------------------------------------------------------------------------
# nbgrader's feedback shows hidden tests by default. This removes their code (and the tracebacks
# that would quote it); a failed hidden test still shows its error and the points lost.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "mlcicd.course.grading.FeedbackHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
