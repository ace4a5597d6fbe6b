"""What people see, checked in a real (headless) browser: every page of the docs site opened from the file system and
from `python -m http.server`, the search box, the API pages, `report.html` of `partlab repro`, and JupyterLab (`make
lab`) running a paper notebook with the project's kernel and moving a slider. Screenshots land in
test-output/browser/. Without Chromium these tests are skipped with one line naming the package, except under
CI=true, where a skip would hide a broken site and is a failure instead."""
import importlib, inspect, json, os, secrets, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from browser import Chromium, PACKAGES, chromium_binary, check_page
from conftest import ROOT

SITE = ROOT/"docs"
SHOTS = ROOT/"test-output"/"browser"

def missing(what: str):
    "Skip with one line, or fail under CI=true (where a skip would pass a broken site)."
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"): pytest.fail(f"{what} (CI=true: a skipped browser check is a failure)")
    pytest.skip(what)

@pytest.fixture(scope="module")
def browser():
    if chromium_binary() is None: missing(f"no Chromium to check pages in: install {PACKAGES}; `make setup` does as root")
    with Chromium(width=1280, height=900) as b: yield b

@pytest.fixture(scope="module")
def site():
    if not (SITE/"index.html").exists(): missing(f"no docs site in {SITE}: build it with `make docs` (make test does, before pytest)")
    return SITE

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def wait_http(url: str, proc: subprocess.Popen, log: Path | None = None, timeout: float = 60) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode}: " + (log.read_text()[-2000:] if log else ""))
        try: urllib.request.urlopen(url, timeout=2); return
        except Exception: time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout} s")

@pytest.fixture(scope="module")
def http_site(site):
    "The site served by `python -m http.server`, as a reader without MkDocs would serve it."
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/index.html", proc); yield f"http://127.0.0.1:{port}"
    finally: proc.kill(); proc.wait()

def site_pages(site: Path, server: bool = False) -> list[str]:
    """Every page of the site (home, chapters, API pages), as paths relative to the site; with `server`, also 404.html,
    which a web server shows for a missing page (its links start at the server's root, so not from the file system)."""
    return sorted(p.relative_to(site).as_posix() for p in [*site.glob("*.html"), *site.glob("api/*.html")]
                  if server or p.name != "404.html")

def check_all(browser, base: str, pages: list[str]) -> tuple[list[str], dict]:
    problems, facts = [], {}
    for rel in pages:
        p, facts[rel] = check_page(browser, f"{base}/{rel}")
        problems += p
    return problems, facts

@pytest.fixture(scope="module")
def file_pass(browser, site):
    "Every page opened from the file system and checked, once: (problems, facts by page)."
    return check_all(browser, site.as_uri(), site_pages(site))

def test_every_page_from_the_file_system(site, file_pass):
    problems, facts = file_pass
    assert "index.html" in facts and any(p.startswith("api/") for p in facts) and len(facts) > 20, list(facts)
    assert not problems, "\n".join(problems)
    assert sum(f["images"] for f in facts.values()) > 20, "the chapters' figures are missing from the site"
    formulas = {p: f["formulas"] for p, f in facts.items() if f["formulas"]}
    assert len(formulas) >= 3, f"formulas typeset on too few pages: {formulas}"

def test_every_page_over_http(browser, http_site, site):
    problems, facts = check_all(browser, http_site, site_pages(site, server=True))
    assert not problems, "\n".join(problems)

def test_screenshots_of_the_home_page_and_a_chapter(browser, site):
    browser.open((site/"index.html").as_uri())
    home = browser.screenshot(SHOTS/"docs_home.png")
    chapter = next(p for p in site_pages(site) if p.endswith("vsrd_model.html"))
    check_page(browser, (site/chapter).as_uri())
    browser.evaluate("(document.querySelector('.MathJax_Display') || document.body).scrollIntoView({block: 'center'})")
    shot = browser.screenshot(SHOTS/"docs_chapter_vsrd_model.png")
    assert home.stat().st_size > 20_000 and shot.stat().st_size > 20_000        # a blank page is a few kB

def test_the_search_box_finds_a_function(browser, http_site):
    "Over http (Material's search runs in a web worker, which a page opened from the file system may not start)."
    browser.open(f"{http_site}/index.html")
    browser.type_text("input[data-md-component='search-query']", "project_points")
    hits = browser.wait_for("""(() => { const a = Array.from(document.querySelectorAll('.md-search-result__item a'));
                                        return a.length ? a.map(x => x.href) : null; })()""", timeout=30)
    assert any("api/partlab.geometry.html" in h for h in hits), hits

def exported_callables(module: str) -> list[str]:
    m = importlib.import_module(module)
    return [n for n in getattr(m, "__all__", []) if (inspect.isfunction(getattr(m, n, None)) or inspect.isclass(getattr(m, n, None)))
            and getattr(getattr(m, n), "__module__", None) == module]

def test_each_api_page_lists_its_exported_functions(file_pass):
    _, facts = file_pass
    api = {Path(rel).stem: set(f["ids"]) for rel, f in facts.items() if rel.startswith("api/")}
    absent = {m: [n for n in exported_callables(m) if f"{m}.{n}" not in ids] for m, ids in api.items()}
    absent = {m: names for m, names in absent.items() if names}
    assert len(api) >= 20 and not absent, absent

def test_a_broken_page_is_caught(browser, tmp_path):
    "The checks fail when they should: a missing image, raw TeX and a console error on one page."
    page = tmp_path/"broken.html"
    page.write_text("<html><body><article><p>energy $E = mc^2$ and \\(a + b\\)</p><img src='nowhere.png'>"
                    "<script>console.error('boom')</script></article></body></html>")
    problems, _ = check_page(browser, page.as_uri())
    text = "\n".join(problems)
    assert "nowhere.png" in text and "image not shown" in text and "E = mc^2" in text and "a + b" in text and "boom" in text, text
    good = tmp_path/"good.html"
    good.write_text("<html><body><article><p>the price is $5 and $6</p><code>$x$</code></article></body></html>")
    assert check_page(browser, good.as_uri())[0] == []

def test_report_html_of_repro(browser, geometry_repro):
    report = geometry_repro/"report.html"
    problems, facts = check_page(browser, report.as_uri())
    assert not problems, "\n".join(problems)
    assert facts["images"] >= 1, "the report shows no figure"
    rows = browser.evaluate("Array.from(document.querySelectorAll('table tr')).map(r => r.innerText)")
    assert any("geometry" in r for r in rows) and len(rows) >= 3, rows
    browser.screenshot(SHOTS/"report.png", full_page=True)


# ---- JupyterLab, the way `make lab` opens it -----------------------------------------------------------------------
LAB_NOTEBOOK = "42_vsrd.ipynb"     # a paper notebook with two sliders, about a minute at the quick profile

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`jupyter lab --no-browser` on nbs/ (as `make lab`), on a free port with a token; autosave off and checkpoints
    elsewhere, so that nbs/ stays as it is."""
    tmp = tmp_path_factory.mktemp("lab")
    settings = tmp/"settings"/"@jupyterlab"
    for ext, name, value in [("docmanager-extension", "plugin", {"autosave": False}),
                             ("notebook-extension", "tracker", {"windowingMode": "none"}),   # every cell in the DOM
                             ("apputils-extension", "notification", {"fetchNews": "false", "checkForUpdates": False})]:
        (settings/ext).mkdir(parents=True, exist_ok=True)
        (settings/ext/f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k not in ("PARTLAB_HEADLESS", "IN_TEST")}   # a person's session: widgets on
    log = tmp/"lab.log"
    cmd = [str(Path(sys.executable).parent/"jupyter"), "lab", "--no-browser", "--notebook-dir", str(ROOT/"nbs"),
           f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
           f"--LabApp.user_settings_dir={tmp/'settings'}", f"--LabApp.workspaces_dir={tmp/'workspaces'}",
           f"--FileCheckpoints.checkpoint_dir={tmp/'checkpoints'}"]                                  # none in nbs/
    if os.geteuid() == 0: cmd.append("--allow-root")                                          # as `make lab` does
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", proc, log)
        yield f"http://127.0.0.1:{port}", token
    finally:
        os.killpg(proc.pid, 15); proc.wait(30)

_CELLS = """(() => { const cells = window.__nb.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) { const c = cells.get(i); if (c.type !== 'code') continue;
    const o = c.outputs.toJSON();
    out.push({index: i, count: c.executionCount, errors: o.filter(x => x.output_type === 'error').map(x => x.ename + ': ' + x.evalue),
              widgets: o.filter(x => x.data && x.data['application/vnd.jupyter.widget-view+json']).length,
              images: o.filter(x => x.data && x.data['image/png']).length}); }
  return out; })()"""
_SLIDER_IMAGE = "(() => {{ const s = document.querySelectorAll('.widget-slider')[{k}]; const box = s.closest('.widget-vbox');" \
                " const img = box && box.querySelector('.widget-output img'); return img ? img.src : null; }})()"

def test_jupyterlab_runs_a_paper_notebook_and_its_slider(lab):
    if chromium_binary() is None: missing(f"no Chromium to drive JupyterLab: install {PACKAGES}; `make setup` does as root")
    url, token = lab
    source, had_checkpoints = (ROOT/"nbs"/LAB_NOTEBOOK).read_bytes(), (ROOT/"nbs"/".ipynb_checkpoints").exists()
    with Chromium(width=1400, height=1000, timeout=60) as b:
        load = b.open(f"{url}/lab?token={token}", settle=1.0, timeout=120)
        assert not [p for p in load.problems if "request failed" in p and "/api/" not in p], load.problems
        b.wait_for("!!(window.jupyterapp && document.querySelector('#jp-main-dock-panel'))", timeout=90)
        kernel = b.evaluate(f"""(async () => {{
            const w = await jupyterapp.commands.execute('docmanager:open', {{path: '{LAB_NOTEBOOK}', factory: 'Notebook',
                                                                             kernel: {{name: 'partlab'}}}});
            window.__nb = w; await w.context.ready; await w.sessionContext.ready;
            return [w.sessionContext.session.kernel.name, w.sessionContext.kernelDisplayName]; }})()""", timeout=120)
        assert kernel[0] == "partlab", kernel                      # the project's kernel, not whatever python3 is
        t0 = time.time()
        ok = b.evaluate("jupyterapp.commands.execute('notebook:run-all-cells')", timeout=900)
        seconds = time.time() - t0
        cells = b.evaluate(_CELLS)
        errors = {c["index"]: c["errors"] for c in cells if c["errors"]}
        assert ok and not errors, errors
        assert all(c["count"] for c in cells), [c["index"] for c in cells if not c["count"]]   # every code cell ran
        assert sum(c["images"] for c in cells) >= 1 and sum(c["widgets"] for c in cells) >= 2, cells   # figures; the two sliders
        b.pump(2)
        b.evaluate("document.querySelector('.widget-slider').scrollIntoView({block: 'center'})"); b.pump(1)
        b.screenshot(SHOTS/"lab_notebook.png")
        # moving the first slider one step with the keyboard shows another picture
        b.wait_for(f"window.__before = {_SLIDER_IMAGE.format(k=0)}", timeout=30)   # kept in the page, not re-sent per poll
        b.evaluate("document.querySelectorAll('.widget-slider')[0].querySelector('.noUi-handle').focus()")
        b.press("ArrowRight", "ArrowRight", 39)
        assert b.wait_for(f"(() => {{ const s = {_SLIDER_IMAGE.format(k=0)}; return !!s && s !== window.__before; }})()", timeout=60)
        assert b.evaluate("document.querySelectorAll('.widget-slider')[0].querySelector('.widget-readout').innerText").strip() == "1"
        b.screenshot(SHOTS/"lab_slider_moved.png")
    assert (ROOT/"nbs"/LAB_NOTEBOOK).read_bytes() == source, "the lab changed the notebook on disk"
    assert had_checkpoints or not (ROOT/"nbs"/".ipynb_checkpoints").exists(), "the lab left checkpoints in nbs/"
    (SHOTS/"lab_run.json").write_text(json.dumps({"notebook": LAB_NOTEBOOK, "kernel": kernel, "run_all_seconds": round(seconds, 1),
                                                  "code_cells": len(cells)}, indent=1))
