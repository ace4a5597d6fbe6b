"""A headless Chromium driven over the Chrome DevTools Protocol (CDP), for the browser checks of the docs site,
`report.html` and JupyterLab (tests/test_browser.py). Only `websocket-client` (a Jupyter dependency) is needed in
Python, and Debian's `chromium` package on the machine: `make setup` installs it when it is missing and the user is
root. No selenium, no driver binary.

    with Chromium() as b:
        page = b.open("file:///.../docs/index.html")     # -> PageLoad: console errors, failed requests
        b.evaluate("document.title")
        b.screenshot(path)
"""
from __future__ import annotations
import base64, json, os, shutil, subprocess, tempfile, time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = "chromium (Debian: apt-get install chromium)"

def chromium_binary() -> str | None:
    "The Chromium to drive: $PARTLAB_CHROMIUM, else the first of chromium / chromium-browser / google-chrome on PATH."
    env = os.environ.get("PARTLAB_CHROMIUM")
    if env: return env if shutil.which(env) or Path(env).is_file() else None
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)

@dataclass
class PageLoad:
    "What opening one URL produced: console errors, uncaught exceptions and failed requests (url, why)."
    url: str
    console_errors: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"console: {m}" for m in self.console_errors] + [f"request failed: {u} ({why})" for u, why in self.failed_requests]

class Chromium:
    "One headless Chromium with one page, driven over CDP. A context manager: the browser is killed on exit."
    def __init__(self, width: int = 1280, height: int = 900, binary: str | None = None, timeout: float = 30):
        import websocket
        self.binary = binary or chromium_binary()
        if self.binary is None: raise FileNotFoundError(f"no Chromium found; install {PACKAGES}")
        self.profile = tempfile.mkdtemp(prefix="partlab-chromium-")
        args = [self.binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
                f"--window-size={width},{height}", "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file, t0 = Path(self.profile)/"DevToolsActivePort", time.time()
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.time() - t0 > timeout:
                self.close(); raise RuntimeError(f"{self.binary} did not start (exit status {self.proc.returncode})")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        import urllib.request
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout).read())
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        self.timeout, self.next_id, self.events = timeout, 0, []
        for domain in ("Page", "Runtime", "Log", "Network"): self.send(f"{domain}.enable")

    def __enter__(self): return self
    def __exit__(self, *exc): self.close()

    def close(self) -> None:
        try: self.ws.close()
        except Exception: pass
        if self.proc.poll() is None:
            self.proc.kill(); self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _receive(self, timeout: float) -> dict | None:
        self.ws.settimeout(timeout)
        try: return json.loads(self.ws.recv())
        except Exception as e:
            if type(e).__name__ == "WebSocketTimeoutException": return None
            raise

    def send(self, method: str, wait: float | None = None, **params) -> dict:
        """Call one CDP method and return its result (waiting up to `wait` s, default the browser's timeout); events
        that arrive meanwhile are kept in `self.events`."""
        self.next_id += 1
        my_id, wait = self.next_id, wait or self.timeout
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        t0 = time.time()
        while time.time() - t0 < wait:
            msg = self._receive(wait)
            if msg is None: break
            if msg.get("id") == my_id:
                if "error" in msg: raise RuntimeError(f"{method}: {msg['error'].get('message')} {msg['error'].get('data', '')}")
                return msg.get("result", {})
            if "method" in msg: self.events.append(msg)
        raise TimeoutError(f"{method}: no answer in {wait} s")

    def pump(self, seconds: float) -> None:
        "Collect events for `seconds`."
        t_end = time.time() + seconds
        while (left := t_end - time.time()) > 0:
            msg = self._receive(left)
            if msg and "method" in msg: self.events.append(msg)

    def evaluate(self, expression: str, timeout: float | None = None):
        "The value of a JavaScript expression (promises awaited); a JavaScript exception raises RuntimeError."
        timeout = timeout or self.timeout
        res = self.send("Runtime.evaluate", wait=timeout + 5, expression=expression, awaitPromise=True, returnByValue=True,
                        timeout=int(1000 * timeout))
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise RuntimeError(f"JavaScript error: {d.get('exception', {}).get('description') or d.get('text')}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, every: float = 0.2):
        "Evaluate `expression` until it is truthy; returns its value, or raises TimeoutError naming it."
        t0 = time.time()
        while time.time() - t0 < timeout:
            value = self.evaluate(expression)
            if value: return value
            self.pump(every)
        raise TimeoutError(f"not true after {timeout} s: {expression}")

    def open(self, url: str, settle: float = 0.3, timeout: float = 60) -> PageLoad:
        """Navigate to `url`, wait for its load event and for the network to be quiet for `settle` s; returns what went
        wrong on the way (console errors, uncaught exceptions, failed requests, HTTP status >= 400)."""
        self.events = []
        self.send("Page.navigate", url=url)
        t0, loaded = time.time(), False
        while time.time() - t0 < timeout and not loaded:
            self.pump(0.1)
            loaded = any(e["method"] == "Page.loadEventFired" for e in self.events)
        if not loaded: raise TimeoutError(f"{url} did not finish loading in {timeout} s")
        quiet_since = time.time()            # then until no request starts or ends for `settle` s (a worker's own
        while time.time() - t0 < timeout:     # requests never report their end here, so events count, not pending ones)
            n = len(self.events); self.pump(0.1)
            if any(e["method"].startswith("Network.") for e in self.events[n:]): quiet_since = time.time()
            if time.time() - quiet_since >= settle: break
        return self.report(url)

    def report(self, url: str = "") -> PageLoad:
        "Console errors, exceptions and failed requests among the events collected since the last `open`."
        load = PageLoad(url)
        urls = {}
        for e in self.events:
            m, p = e["method"], e["params"]
            if m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                load.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                load.console_errors.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                load.console_errors.append(f"{p['entry'].get('text')} {p['entry'].get('url', '')}".strip())
            elif m == "Network.requestWillBeSent":
                urls[p["requestId"]] = p["request"]["url"]
            elif m == "Network.loadingFailed" and not p.get("canceled") and urls.get(p["requestId"]) != "about:blank":
                load.failed_requests.append((urls.get(p["requestId"], "?"), p.get("errorText", "")))
            elif m == "Network.responseReceived" and p["response"].get("status", 200) >= 400:
                load.failed_requests.append((p["response"]["url"], f"HTTP {p['response']['status']}"))
        # a failed request is also logged to the console: keep it once, as a failed request
        failed = {u for u, _ in load.failed_requests}
        load.console_errors = [c for c in load.console_errors if not any(u in c for u in failed)]
        return load

    def screenshot(self, path: str | os.PathLike, full_page: bool = False) -> Path:
        "A PNG of the page as it is now (the whole page with `full_page`)."
        params = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 8000), "scale": 1}
        data = base64.b64decode(self.send("Page.captureScreenshot", **params)["data"])
        path = Path(path); path.parent.mkdir(parents=True, exist_ok=True); path.write_bytes(data)
        return path

    def type_text(self, selector: str, text: str) -> None:
        "Focus the element `selector` and type `text` into it as keystrokes would."
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def press(self, key: str, code: str, key_code: int) -> None:
        "Press and release one key (e.g. 'ArrowRight', 'ArrowRight', 39) on the focused element."
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=code, windowsVirtualKeyCode=key_code,
                      nativeVirtualKeyCode=key_code)

# ---- checks of one page: each returns a list of problems, empty when the page is fine ----------------------------
_IMAGES = """Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0))
                                  .map(i => i.src.slice(0, 120))"""
_MATHJAX_DONE = """new Promise(r => (window.MathJax && MathJax.Hub && MathJax.Hub.Queue) ? MathJax.Hub.Queue(() => r(true)) : r(true))"""
# the page's visible text without code, as a reader sees it: TeX delimiters left in it are formulas MathJax missed
_RAW_TEX = r"""(() => {
  const main = (document.querySelector('article') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, script, style, .highlight, .MathJax_Preview, .jp-InputArea, .input_area').forEach(e => e.remove());
  const text = main.innerText || main.textContent;
  const found = text.match(/\$\$[^$]+\$\$|(^|[^\\$\w])\$[^$\s][^$\n]{0,200}?\$(?![\w$])|\\\(.{1,200}?\\\)|\\\[[\s\S]{1,400}?\\\]|\\begin\{/g) || [];
  return found.slice(0, 5).map(s => s.trim().slice(0, 80));
})()"""
_TYPESET = "document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_SVG, mjx-container').length"

def check_page(b: Chromium, url: str) -> tuple[list[str], dict]:
    """Open `url` and check it the way a reader would see it: no console error or failed request, every image
    decoded with a non-zero size, MathJax done and no TeX source left in the text. Returns (problems, facts)."""
    load = b.open(url)
    b.evaluate(_MATHJAX_DONE, timeout=60)
    problems = load.problems
    problems += [f"image not shown: {src}" for src in b.evaluate(_IMAGES)]
    problems += [f"formula not typeset: {tex!r}" for tex in b.evaluate(_RAW_TEX)]
    facts = {"images": b.evaluate("document.images.length"), "formulas": b.evaluate(_TYPESET),
             "title": b.evaluate("document.title"), "ids": b.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)")}
    return [f"{url}: {p}" for p in problems], facts
