"""The chapter template is a working chapter: copied into a project as a new paper's notebook and exported, its
package, its command group and its paper notebook work with nothing else touched (README: "Adding a chapter")."""
import json, os, shutil, subprocess, sys
from pathlib import Path
from conftest import ROOT

def _copy_project(dest: Path) -> None:
    "settings.ini and nbs/ of this checkout, with partlab/ empty but for __init__.py (nbdev_export fills it)."
    shutil.copy(ROOT/"settings.ini", dest/"settings.ini")
    shutil.copytree(ROOT/"nbs", dest/"nbs", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (dest/"partlab").mkdir()
    shutil.copy(ROOT/"partlab"/"__init__.py", dest/"partlab"/"__init__.py")

def _run(dest: Path, *code: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"} | {"PYTHONPATH": str(dest)}
    return subprocess.run([sys.executable, "-c", "\n".join(code)], cwd=dest, env=env, capture_output=True, text=True,
                          timeout=timeout)

def test_a_copied_template_is_a_new_chapter(tmp_path):
    _copy_project(tmp_path)
    nb = json.loads((ROOT/"nbs"/"_chapter_template.ipynb").read_text())
    for cell in nb["cells"]:
        cell["source"] = [line.replace("#| default_exp template", "#| default_exp demo.sphere") for line in cell["source"]]
    (tmp_path/"nbs"/"60_demo_sphere.ipynb").write_text(json.dumps(nb, indent=1))
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}
    res = subprocess.run([str(Path(sys.executable).parent/"nbdev_export")], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path/"partlab"/"demo"/"sphere.py").is_file() and not (tmp_path/"partlab"/"template.py").exists()
    # the CLI's registry finds the new command group without any edit of the CLI
    res = _run(tmp_path, "import sys, partlab.cli as cli", "assert 'partlab.demo.sphere' in cli.command_modules(), cli.command_modules()",
               f"sys.exit(cli.main(['template', 'fit', '--radius', '0.9', '--out', {str(tmp_path/'fit')!r}]))")
    assert res.returncode == 0, res.stderr
    assert abs(json.loads(res.stdout.strip().splitlines()[-1])["radius"] - 0.9) < 0.05
    # `partlab repro --only demo` runs the new paper notebook and reports its metric, on target
    res = _run(tmp_path, "import sys, partlab.cli as cli",
               f"sys.exit(cli.main(['repro', '--only', 'demo', '--out', {str(tmp_path/'runs')!r}, '--no-progress']))")
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((tmp_path/"runs"/"demo_sphere"/"metrics.json").read_text())
    assert metrics["template_radius_rel_error_max"]["value"] <= 0.03
    assert (tmp_path/"runs"/"demo_sphere"/"fit.png").is_file()
