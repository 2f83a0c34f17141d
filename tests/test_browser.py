"""The course in a real browser: JupyterLab started the way `make lab` starts it, driven by headless Chromium.

A widget that renders in a unit test can still be dead in JupyterLab (a missing front-end extension, a
comm that never reaches the kernel), so these tests click and press keys the way a student does and read
the result back from the page. The server runs on a copy of the course (autosave never touches the sources)
with a temporary home, and is always stopped together with its kernels.

Screenshots and the server log go to artifacts/browser/ (the path is printed at the start of the run).
Needs Debian's `chromium` (`apt-get install chromium`; `.ci/run` installs it); skips only without it.
"""

import ast
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "artifacts" / "browser"
KERNEL_NAME = "Python 3 (ipykernel)"  # display name of the notebooks' kernelspec "python3"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
# The printed line of the generation explorer, e.g. "kept 12 of 65 tokens · top probability 0.4312 · ..."
KEPT_LINE = re.compile(r"kept (\d+) of (\d+) tokens\s*·\s*top probability (-?[0-9.]+)\s*·\s*entropy (-?[0-9.]+) nats")
# The step-through's line, e.g. "step 3: chose 'e' · p 0.4100 · log P -0.8916 · running log-probability -3.2100 nats"
STEP_LINE = re.compile(r"step (\d+): chose .+? · p [0-9.]+ · log P -?[0-9.]+ · running log-probability (-?[0-9.]+) nats")
# The tokenizer explorer's line, e.g. "characters 51 · UTF-8 bytes 53 · BPE tokens 16 · 3.19 characters per token"
COUNT_LINE = re.compile(r"characters (\d+) · UTF-8 bytes (\d+) · BPE tokens (\d+) · [0-9.-]+ characters per token")
# The attention explorer's line per head, e.g. "layer 2 · head 1 · query 12 'e' · top key 11 ' ' weight 0.8123 · ..."
ATTENTION_LINE = re.compile(r"layer \d+ · head \d+ · query \d+ .+? · top key \d+ .+? weight [0-9.]+ · future [0-9.]+")
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|Cell In\[\d+\], line \d+|^\w*(Error|Exception)\b",
                        re.MULTILINE)
REDRAW_TIMEOUT_S = 60  # one slider move: recompute, draw, sample a continuation
RUN_TIMEOUT_S = 480  # a whole notebook, Run All to the last cell (generous: CI machines are often busy)


def find_chromium():
    """Debian's chromium (or $GPTLAB_CHROMIUM); Playwright is never allowed to download a browser."""
    candidates = [os.environ.get("GPTLAB_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                  "/usr/bin/chromium"]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (looked for $GPTLAB_CHROMIUM, chromium, chromium-browser): "
           "install Debian's with `apt-get install -y chromium` (.ci/run does this)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the server --------------------------------------------------------------------------------------------

class Lab:
    """A JupyterLab server on 127.0.0.1 with a token, started by `make lab` in a copy of the course."""

    def __init__(self, root, home, log_path):
        self.root, self.port, self.token = root, free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        flags = ["--no-browser", f"--port={self.port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
                 f"--IdentityProvider.token={self.token}"]
        if os.geteuid() == 0:
            flags.append("--allow-root")
        venv = Path(sys.prefix)
        if shutil.which("make"):
            # `-o` keeps make from reinstalling the environment: this test checks how the course opens.
            cmd = ["make", "--no-print-directory", "-o", f"{venv}/.installed", f"VENV={venv}", "lab",
                   "LAB_ARGS=" + " ".join(flags)]
        else:
            cmd = [sys.executable, "-m", "jupyter", "lab", "--ServerApp.root_dir=.", *flags,
                   "notebooks/00_start_here.ipynb"]
        env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
                   JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
                   JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
                   IPYTHONDIR=str(home / ".ipython"), GPTLAB_FAST="1", PYTHONUNBUFFERED="1")
        env.pop("MPLBACKEND", None)
        # matplotlib's font cache is only read; pointing at the existing one saves rebuilding it per run.
        env.setdefault("MPLCONFIGDIR", _matplotlib_config_dir())
        self.runtime_dir = home / ".local/share/jupyter/runtime"  # the kernels' connection files
        windowing = os.environ.get("GPTLAB_LAB_WINDOWING")  # e.g. "full": only the cells in view are on the page
        if windowing:
            settings = home / ".jupyter/lab/user-settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
            settings.parent.mkdir(parents=True, exist_ok=True)
            settings.write_text(json.dumps({"windowingMode": windowing}))
        self.log_path = log_path
        self._log = open(log_path, "w")
        # A session of its own, so stopping the group stops make, the server and everything they started.
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def url(self, path):
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def get_json(self, path):
        with urllib.request.urlopen(self.url(path), timeout=5) as r:
            return json.load(r)

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return self.get_json("/api/status")
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace")[-4000:]

    def processes(self):
        """The server and everything it started (make, jupyter, kernels)."""
        try:
            top = psutil.Process(self.proc.pid)
            return [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kernels(self):
        return [p for p in self.processes() if "ipykernel_launcher" in " ".join(_cmdline(p))]

    def stop(self):
        """SIGTERM (the server shuts its kernels down), then SIGKILL whatever is left, by pid."""
        procs = self.processes()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        _, alive = psutil.wait_procs(procs, timeout=15)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(alive, timeout=5)
        self.proc.wait(timeout=5)
        self._log.close()
        return alive


def _cmdline(p):
    try:
        return p.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _matplotlib_config_dir():
    import matplotlib
    return matplotlib.get_configdir()


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots and server log: {ARTIFACTS}", file=sys.__stderr__)
    return ARTIFACTS


@pytest.fixture(scope="module")
def lab(tmp_path_factory, artifacts):
    if not (NOTEBOOKS / "00_start_here.ipynb").exists():
        pytest.fail(f"{NOTEBOOKS / '00_start_here.ipynb'} is missing: `make lab` opens it")
    root = tmp_path_factory.mktemp("course")
    for name in ("Makefile", "jupyterlab_overrides.json"):
        shutil.copy2(REPO / name, root / name)  # copy2 keeps mtimes: make must not see them as changed
    shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = Lab(root, tmp_path_factory.mktemp("home"), artifacts / "lab.log")
    try:
        server.wait_ready()
        yield server
    finally:
        left = server.stop()
        assert not left, f"processes left after stopping jupyter lab: {[_cmdline(p) for p in left]}"


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright for Python: pip install playwright (no browser download)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, artifacts, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        try:  # the page as the test left it, failed or not
            pg.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
        finally:
            context.close()


# --- driving JupyterLab ------------------------------------------------------------------------------------

def open_notebook(page, lab, name):
    """Open notebooks/<name> and wait until its kernel is really ready.

    The toolbar's execution indicator reads "idle" before any kernel exists, and Run All clicked then does
    nothing; the status bar only says "<kernel> | Idle" once the kernel is connected and idle.
    """
    from playwright.sync_api import expect
    page.goto(lab.url(f"/lab/tree/notebooks/{name}?reset"))
    try:
        expect(page.locator("#jp-main-statusbar")).to_contain_text(f"{KERNEL_NAME} | Idle", timeout=60_000)
    except AssertionError:
        dialogs = page.locator(".jp-Dialog").all_text_contents()  # "Cannot open", "Select Kernel", ...
        raise AssertionError(f"{name} did not open on an idle {KERNEL_NAME} kernel; dialogs: {dialogs}; "
                             f"server log:\n{lab.log()}") from None


def menu(page, name, item):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{name}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{item}$")).click()


def run_all(page):
    """Run > Run All Cells (JupyterLab has no default shortcut for it), then wait for the last cell."""
    from playwright.sync_api import expect
    n_code = page.locator(".jp-Notebook .jp-CodeCell").count()
    assert n_code > 0, "the notebook shows no code cells"
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
    # The course is committed with outputs: clear them, so that what is checked below is this run's.
    menu(page, "Edit", "Clear Outputs of All Cells")
    expect(page.locator(".jp-Notebook .jp-OutputArea-output")).to_have_count(0)
    expect(prompts.last).to_have_text(re.compile(r"^\[ ?\]:$"))
    menu(page, "Run", "Run All Cells")
    status = page.locator("#jp-main-statusbar")
    # Run All stops at the first error; the last prompt only gets its number when every cell ran.
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not (re.fullmatch(r"\[\d+\]:", prompts.last.text_content().strip())
               and f"{KERNEL_NAME} | Idle" in status.inner_text()):
        errors = error_outputs(page)
        assert not errors, f"Run All stopped at an error: {errors}"
        assert time.monotonic() < deadline, f"Run All did not finish within {RUN_TIMEOUT_S} s: {status.inner_text()}"
        time.sleep(0.25)
    texts = prompts.all_text_contents()  # innerText is empty for cells scrolled out of view
    assert all(re.fullmatch(r"\[\d+\]:", t.strip()) for t in texts), f"cells that did not run: {texts}"
    return n_code


def error_outputs(page):
    """Texts of error outputs (tracebacks) on the page; warnings and progress bars on stderr are fine."""
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    return [t for t in stderr.all_text_contents() if ERROR_TEXT.search(t)]


def slider(scope, description):
    """The ipywidgets 8 slider (noUiSlider) whose description is exactly `description`."""
    page = getattr(scope, "page", scope)  # a Locator knows its page; a Page is its own
    label = page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
    return scope.locator(".widget-slider").filter(has=label).first


def readout(s):
    return float(s.locator(".widget-readout").text_content())


def reveal(page, cell):
    """Scroll the notebook until ``cell`` (a Locator) is on the page, then into view.

    JupyterLab renders a long notebook in a window: a cell far from the view may be missing from the page or
    hidden (``windowingMode: full``), or present but not laid out (``contentVisibility``, where innerText is
    empty).
    Scrolling the notebook from the top brings every cell in turn.
    """
    from playwright.sync_api import expect
    scroller = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer").first

    def shown():
        return cell.count() == 1 and cell.is_visible()

    y = 0.0
    while not shown():
        # The cells' heights are estimates until they are rendered: read the height again at every step.
        height, step = scroller.evaluate("el => [el.scrollHeight, el.clientHeight * 0.8]")
        if y > height:
            break
        scroller.evaluate("(el, y) => { el.scrollTop = y; }", y)
        page.wait_for_timeout(150)
        y += step
    expect(cell).to_have_count(1, timeout=30_000)
    cell.scroll_into_view_if_needed()
    return cell


def widget_cell(page, control, shown):
    """The code cell whose output holds ``control`` (a Locator) and shows text matching ``shown``."""
    return reveal(page, page.locator(".jp-Notebook .jp-CodeCell").filter(has=control).filter(has_text=shown).first)


def textarea(scope, description):
    """The ipywidgets Textarea whose description is exactly `description`."""
    page = getattr(scope, "page", scope)
    label = page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
    return scope.locator(".widget-textarea").filter(has=label).first.locator("textarea")


def dropdown(scope, description):
    page = getattr(scope, "page", scope)
    label = page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
    return scope.locator(".widget-dropdown").filter(has=label).first.locator("select")


class WidgetCell:
    """An explorer on the page: the cell holding its controls, and the Output widget they redraw."""

    def __init__(self, page, control, shown):
        from playwright.sync_api import expect
        self.page, self.shown = page, shown
        self.cell = widget_cell(page, control(page), shown)
        expect(control(self.cell)).to_be_visible()
        # The Output widget's element stays while the kernel clears and redraws what is inside it.
        self.output = self.cell.locator(".widget-output").filter(has_text=shown).first.element_handle()
        # Count redraws: every change the kernel sends into the Output widget mutates its DOM.
        self.output.evaluate("""el => {
            el.__redraws = 0; el.__last = performance.now();
            new MutationObserver(() => { el.__redraws++; el.__last = performance.now(); })
                .observe(el, {childList: true, subtree: true, characterData: true});
        }""")

    def text(self):
        return self.output.text_content()

    def redrawn_by(self, action, what):
        """Do ``action`` (a click, keys, typing); wait until the kernel has redrawn the output and gone quiet."""
        before = self.output.evaluate("el => el.__redraws")
        action()
        deadline = time.monotonic() + REDRAW_TIMEOUT_S
        status = self.page.locator("#jp-main-statusbar")
        while True:
            redraws, quiet_ms = self.output.evaluate("el => [el.__redraws, performance.now() - el.__last]")
            if redraws > before and quiet_ms > 700 and f"{KERNEL_NAME} | Idle" in status.inner_text():
                assert not error_outputs(self.page), error_outputs(self.page)
                return self.text()
            assert time.monotonic() < deadline, (
                f"{what} did not redraw the output within {REDRAW_TIMEOUT_S} s (redraws {redraws - before}): "
                "the widget is not connected to the kernel")
            time.sleep(0.1)

    def type_into(self, box, text, what):
        """Type ``text`` into a text box (replacing what is there) and leave it, as a student does."""
        def action():
            box.click()
            box.fill(text)
            box.blur()
        return self.redrawn_by(action, what)

    def press(self, s, *keys, expect_value):
        """Press keys on a slider's handle and wait for the redraw; the slider must read ``expect_value``."""
        def action():
            s.locator(".noUi-handle").first.focus()
            for key in keys:
                self.page.keyboard.press(key)
            value = readout(s)
            assert abs(value - expect_value) < 1e-6, f"slider readout {value} after {keys}, expected {expect_value}"
        self.redrawn_by(action, f"moving the slider to {expect_value}")

    def screenshot(self, path):
        widgets = self.cell.locator(".jp-OutputArea").first
        widgets.scroll_into_view_if_needed()
        widgets.screenshot(path=str(path))


class Explorer(WidgetCell):
    """The generation explorer on the page: its sliders, buttons and the Output widget they redraw."""

    def __init__(self, page):
        super().__init__(page, lambda scope: slider(scope, "temperature"), KEPT_LINE)
        self.temperature, self.top_k, self.top_p, self.min_p, self.penalty = (
            slider(self.cell, d) for d in ("temperature", "top-k", "top-p", "min-p", "repetition penalty"))
        for s in (self.temperature, self.top_k, self.top_p, self.min_p, self.penalty):
            s.wait_for(state="visible")

    def line(self):
        m = KEPT_LINE.search(self.text())
        assert m, f"no 'kept N of V tokens' line in the output: {self.text()!r}"
        return dict(kept=int(m[1]), vocab=int(m[2]), top=float(m[3]), entropy=float(m[4]), text=m[0])

    def press(self, s, *keys, expect_value):
        super().press(s, *keys, expect_value=expect_value)
        return self.line()

    def set_extreme(self, s, key, value):
        """Home/End on the handle; a no-op (and no redraw to wait for) when already there."""
        if abs(readout(s) - value) > 1e-6:
            return self.press(s, key, expect_value=value)
        return self.line()

    def button(self, name):
        return self.cell.locator(".widget-button", has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")).first

    def strategy(self, name):
        return self.cell.locator(".widget-toggle-buttons button", has_text=re.compile(rf"^\s*{name}\s*$")).first


def explorer_in(lab, page, notebook, variable, control, shown):
    """Open and run ``notebook``, find the explorer ``variable`` by a control and the text it shows; returns
    the explorer on the page and a function that reads ``variable.state[key]`` from the kernel."""
    open_notebook(page, lab, notebook)
    run_all(page)
    assert not error_outputs(page), error_outputs(page)
    return WidgetCell(page, control, shown), kernel_state(lab, notebook, variable)


def kernel_state(lab, notebook, variable):
    return lambda key: kernel_value(lab, notebook, f"{variable}.state[{key!r}]")


def kernel_value(lab, notebook, expression):
    """Evaluate ``expression`` in the kernel of ``notebook``, the one the page drives, and return it (via JSON).

    A second client of the same kernel asks through ``user_expressions``: nothing is printed, nothing enters
    the notebook's history or namespace, and the reply waits for whatever the kernel is still doing.
    """
    from jupyter_client import BlockingKernelClient
    session = next(s for s in lab.get_json("/api/sessions") if s["path"].endswith(notebook))
    client = BlockingKernelClient(connection_file=str(lab.runtime_dir / f"kernel-{session['kernel']['id']}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        msg_id = client.execute("", silent=True, store_history=False,
                                user_expressions={"v": f"__import__('json').dumps({expression})"})
        reply = client.get_shell_msg(timeout=REDRAW_TIMEOUT_S)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = client.get_shell_msg(timeout=REDRAW_TIMEOUT_S)
    finally:
        client.stop_channels()
    value = reply["content"]["user_expressions"]["v"]
    assert value["status"] == "ok", f"the kernel could not evaluate {expression}: {value}"
    return json.loads(ast.literal_eval(value["data"]["text/plain"]))


def sharper(a, b, strict=True):
    """Is line `b` a sharper distribution than line `a` (higher top probability, lower entropy)?

    Printed to 4 decimals, a distribution at top probability 1.0000 / entropy 0.0000 cannot go further.
    """
    if not strict:
        return b["top"] >= a["top"] and b["entropy"] <= a["entropy"]
    return (b["top"] > a["top"] or b["top"] == 1.0) and (b["entropy"] < a["entropy"] or b["entropy"] == 0.0)


# --- the tests ---------------------------------------------------------------------------------------------

def test_make_lab_opens_the_course_with_the_environments_kernel(lab, page, artifacts):
    """`make lab` serves the course; 00_start_here opens on the venv's python3 kernel, no news pop-up."""
    open_notebook(page, lab, "00_start_here.ipynb")
    page.locator("#jp-main-statusbar").screenshot(path=str(artifacts / "00_statusbar.png"))
    sessions = lab.get_json("/api/sessions")
    assert [s["kernel"]["name"] for s in sessions] == ["python3"], sessions
    kernels = lab.kernels()
    assert len(kernels) == 1, [_cmdline(k) for k in kernels]
    python = Path(_cmdline(kernels[0])[0])
    assert python.parent == Path(sys.prefix) / "bin", f"the kernel runs {python}, not this environment's python"
    # The settings make installs into the environment reached JupyterLab: no news or update pop-up.
    schema = lab.get_json("/lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]
    defaults = {k: v.get("default") for k, v in schema["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, (
        f"{Path(sys.prefix)}/share/jupyter/lab/settings/overrides.json is not installed (run `make venv`): "
        f"{defaults}")
    # ipywidgets' front end is a prebuilt extension: no build or enable step.
    extensions = lab.get_json("/lab/api/extensions")
    widgets = [e for e in extensions if e["name"].endswith("jupyterlab-manager")]
    assert widgets and widgets[0]["enabled"] and widgets[0]["pkg_type"] == "prebuilt", extensions


def test_generation_sliders_drive_what_is_sampled(lab, page, artifacts):
    """Temperature sharpens the distribution, top-p shrinks the kept set, read from the page."""
    if not (NOTEBOOKS / "05_generation.ipynb").exists():
        pytest.fail(f"{NOTEBOOKS / '05_generation.ipynb'} is missing")
    open_notebook(page, lab, "05_generation.ipynb")
    run_all(page)
    assert not error_outputs(page), error_outputs(page)
    ex = Explorer(page)
    page.screenshot(path=str(artifacts / "05_run_all.png"))

    # No filtering: top-k off (0) and top-p 1.0 keep every token. Temperature from 1.0 (PageDown = 5 steps).
    ex.set_extreme(ex.top_k, "Home", 0)
    ex.set_extreme(ex.top_p, "End", 1.0)
    if readout(ex.temperature) != 1.0:
        ex.set_extreme(ex.temperature, "End", 2.0)
        ex.press(ex.temperature, *["PageDown"] * 4, expect_value=1.0)
    warm = ex.line()
    cold = ex.press(ex.temperature, "PageDown", "PageDown", expect_value=0.5)
    ex.screenshot(artifacts / "05_temperature_0.5.png")
    hot = ex.press(ex.temperature, "End", expect_value=2.0)
    assert hot["kept"] == hot["vocab"], f"top-k 0 and top-p 1.0 must keep every token: {hot}"
    # The line rounds to 4 decimals: a distribution already at top probability 1.0000 cannot rise further.
    assert sharper(hot, warm) and sharper(warm, cold), (
        f"lower temperature must raise the top probability and lower the entropy: 2.0 {hot}, 1.0 {warm}, "
        f"0.5 {cold}")

    # At temperature 2.0 (a flat distribution, many tokens to cut): top-p 1.0 -> 0.5 -> 0.05.
    half = ex.press(ex.top_p, "PageDown", "PageDown", expect_value=0.5)
    tiny = ex.press(ex.top_p, "Home", expect_value=0.05)
    seen = {1.0: hot, 0.5: half, 0.05: tiny}
    assert hot["kept"] >= half["kept"] >= tiny["kept"] and tiny["kept"] < hot["kept"], (
        f"the kept set must shrink as top-p falls: {seen}")
    assert sharper(hot, half, strict=False) and sharper(half, tiny, strict=False), (
        f"fewer kept tokens must not lower the top probability nor raise the entropy: {seen}")
    ex.screenshot(artifacts / "05_top_p_0.05.png")
    assert not error_outputs(page), error_outputs(page)
    check_generation_explorer(lab, page, ex, artifacts)


def check_generation_explorer(lab, page, ex, artifacts):
    """min-p, the repetition penalty, the log scale, a typed prompt, steps and the strategy switch, each read
    back from the page and compared with what the kernel computed."""
    state = kernel_state(lab, "05_generation.ipynb", "explorer")
    ex.set_extreme(ex.top_p, "End", 1.0)
    assert ex.line()["text"] == state("line")
    five = ex.press(ex.top_k, *["ArrowRight"] * 5, expect_value=5)
    assert five["kept"] == 5 and five["text"] == state("line") and state("settings")["top_k"] == 5
    ex.press(ex.top_k, "Home", expect_value=0)
    loose = ex.set_extreme(ex.min_p, "Home", 0.0)
    strict = ex.press(ex.min_p, "End", expect_value=0.5)
    assert strict["kept"] < loose["kept"], f"min-p 0.5 must remove tokens: {loose} -> {strict}"
    assert strict["text"] == state("line") and state("settings")["min_p"] == 0.5
    ex.press(ex.min_p, "Home", expect_value=0.0)

    sample_before = state("continuations")["sample"]["text"]
    ex.press(ex.penalty, "End", expect_value=2.0)
    assert state("settings")["repetition_penalty"] == 2.0 and ex.line()["text"] == state("line")
    assert state("continuations")["sample"]["text"] != sample_before, "the penalty must change the sampled text"
    ex.press(ex.penalty, "Home", expect_value=1.0)

    image = ex.output.query_selector("img").get_attribute("src")
    ex.redrawn_by(lambda: ex.cell.locator(".widget-checkbox input[type=checkbox]").first.check(), "the log scale")
    assert state("log_scale") is True and ex.output.query_selector("img").get_attribute("src") != image

    prompt = "ROMEO:\nBut soft, what light "
    shown = ex.type_into(textarea(ex.cell, "prompt"), prompt, "typing a prompt")
    assert state("prompt") == prompt and f"{prompt}\u2503" in shown.replace("\r", "")
    assert ex.line()["text"] == state("line")
    ex.screenshot(artifacts / "05_prompt.png")

    for n in (1, 2, 3):
        shown = ex.redrawn_by(lambda: ex.button("next token").click(), f"step {n}")
        m = STEP_LINE.search(shown)
        assert m and int(m[1]) == n, f"no 'step {n}: chose ...' line in the output: {shown!r}"
        assert m[0] == state("step_line"), (m[0], state("step_line"))
        assert float(m[2]) == round(state("running_log_prob"), 4)
    assert f"{prompt}\u2503{state('generated')}" in ex.text().replace("\r", "")
    ex.screenshot(artifacts / "05_steps.png")

    ex.redrawn_by(lambda: ex.strategy("greedy").click(), "choosing greedy decoding")
    assert state("strategy") == "greedy" and state("steps") == [] and ex.line()["kept"] == 1
    shown = ex.redrawn_by(lambda: ex.button("next token").click(), "a greedy step")
    assert STEP_LINE.search(shown)[0] == state("step_line") and " p 1.0000 " in state("step_line")
    texts = {td.get_attribute("data-strategy"): td.query_selector(".gptlab-logp").text_content()
             for td in ex.output.query_selector_all(".gptlab-continuation")}
    kernel = state("continuations")
    assert texts == {k: f"{c['log_prob']:.2f}" for k, c in kernel.items()}, (texts, kernel)
    ex.screenshot(artifacts / "05_greedy.png")


def test_tokenizer_explorer_shows_typed_text(lab, page, artifacts):
    """Typing in the tokenizer explorer re-cuts the text; ids, byte pieces and counts are the kernel's."""
    cell, state = explorer_in(lab, page, "01_causal_lm.ipynb", "tokens", lambda scope: textarea(scope, "text"),
                              COUNT_LINE)
    text = "Ophelia, naïve café — \U0001F600!"
    shown = cell.type_into(textarea(cell.cell, "text"), text, "typing text")
    m = COUNT_LINE.search(shown)
    assert m and m[0] == state("line"), (m and m[0], state("line"))
    assert (int(m[1]), int(m[2])) == (len(text), len(text.encode("utf-8")))
    ids = [int(e.get_attribute("data-id")) for e in cell.output.query_selector_all(".gptlab-token")]
    assert ids == state("ids") and len(ids) == int(m[3])
    assert cell.output.query_selector_all(".gptlab-bytes"), "the emoji's bytes are split over tokens"
    rows = cell.output.query_selector_all(".gptlab-non-ascii tr")[1:]
    assert [r.query_selector("td").text_content() for r in rows] == ["ï", "é", "—", "\U0001F600"]
    cell.screenshot(artifacts / "01_tokenizer.png")


def test_attention_explorer_follows_head_query_and_text(lab, page, artifacts):
    """Choosing heads, layers, a query and typing a text redraws the weights; they are the kernel's."""
    cell, state = explorer_in(lab, page, "02_attention.ipynb", "explorer", lambda scope: dropdown(scope, "layer"),
                              ATTENTION_LINE)

    def shown_lines():
        return [m[0] for m in ATTENTION_LINE.finditer(cell.text())]

    def check(heads):
        assert shown_lines() == state("lines") and len(shown_lines()) == heads, (shown_lines(), state("lines"))
        panels = cell.output.query_selector_all(".gptlab-head")
        assert len(panels) == heads
        q, T = state("query"), len(state("tokens"))
        for panel, kernel in zip(panels, state("heads")):
            weights = [float(e.get_attribute("data-weight")) for e in panel.query_selector_all(".gptlab-key")]
            assert weights == [round(w, 4) for w in kernel["weights"]]
            assert len(panel.query_selector_all(".gptlab-future")) == T - 1 - q  # the masked future, greyed

    cell.redrawn_by(lambda: dropdown(cell.cell, "head").select_option(label="all heads"), "choosing all heads")
    check(heads=state("n_head"))
    cell.screenshot(artifacts / "02_all_heads.png")
    other = 1 if state("layer") == 0 else 0
    cell.redrawn_by(lambda: dropdown(cell.cell, "layer").select_option(label=str(other)), "choosing a layer")
    assert state("layer") == other
    check(heads=state("n_head"))
    cell.redrawn_by(lambda: dropdown(cell.cell, "head").select_option(label="1"), "choosing head 1")
    assert state("head") == 1
    check(heads=1)
    query = state("query")
    cell.press(slider(cell.cell, "query"), "ArrowLeft", "ArrowLeft", expect_value=query - 2)
    assert state("query") == query - 2
    check(heads=1)
    cell.type_into(textarea(cell.cell, "text"), "OPHELIA:\nWords, words, words.", "typing a text")
    assert state("tokens") == list("OPHELIA:\nWords, words, words.") and state("query") == 28
    check(heads=1)
    cell.screenshot(artifacts / "02_typed.png")


def test_kv_cache_notebook_runs_to_the_end(lab, page, artifacts):
    if not (NOTEBOOKS / "06_kv_cache.ipynb").exists():
        pytest.fail(f"{NOTEBOOKS / '06_kv_cache.ipynb'} is missing")
    open_notebook(page, lab, "06_kv_cache.ipynb")
    run_all(page)
    page.screenshot(path=str(artifacts / "06_kv_cache.png"), full_page=True)
    assert not error_outputs(page), f"error outputs in 06_kv_cache.ipynb: {error_outputs(page)}"
