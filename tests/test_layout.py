"""The house rules of the package, checked on the exported code: one place for camera projection, dependencies
pointing down (paper chapters use the core, never the world, the command line or the docs builder)."""
import ast, re
from pathlib import Path
import pytest
from conftest import ROOT

PKG = ROOT/"partlab"
PAPERS = ("textured", "editing", "kd", "vsrd", "genren")
CORE = ("geometry", "meshes", "render", "losses", "nets", "datasets", "io", "notebooks", "train")

def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    "Absolute names of the partlab modules a file imports (relative imports resolved), at any depth of the file."
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import): names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            names |= {mod} | {f"{mod}.{a.name}" for a in node.names}
    return {n for n in names if n.startswith("partlab.")}

def part(module: str) -> str:
    "`partlab.world.scenes` -> `world`."
    return module.split(".")[1]

def paper_modules() -> list[Path]:
    return sorted(p for paper in PAPERS if (PKG/paper).is_dir() for p in (PKG/paper).rglob("*.py"))

def test_there_are_paper_packages():
    assert {p.parent.name for p in paper_modules()} >= {"textured", "vsrd"}

@pytest.mark.parametrize("path", paper_modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_paper_chapters_import_only_the_core(path):
    bad = {m for m in imported_modules(path) if part(m) in ("world", "cli", "docs")}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"

@pytest.mark.parametrize("name", CORE)
def test_the_core_does_not_import_papers_world_or_tools(name):
    files = [PKG/f"{name}.py"] if (PKG/f"{name}.py").exists() else sorted((PKG/name).rglob("*.py"))
    for path in files:
        bad = {m for m in imported_modules(path) if part(m) in (*PAPERS, "world", "cli", "docs")}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"

def test_docs_does_not_import_cli():
    assert not {m for m in imported_modules(PKG/"docs.py") if m.startswith("partlab.cli")}

# a projection through intrinsics or an unprojection written out: K applied to points, or K inverted
PROJECTION = re.compile(r"@\s*K\b|\bK\s*@|\bK(\[[^\]]*\])?\.T\b|\bK(\[[^\]]*\])?\.transpose|inv\(\s*K\b|\binv\(\s*batch\.K")

def test_projection_lives_in_geometry_only():
    offenders = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in sorted(PKG.rglob("*.py")) if p.name != "geometry.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1) if PROJECTION.search(line)]
    assert not offenders, "\n".join(offenders)

THREADS = re.compile(r"\bset_num_threads\(")

def test_the_thread_policy_lives_in_io_only():
    "torch's thread count is set in one place, `partlab.io.cpu_threads`, so --threads and OMP_NUM_THREADS always win."
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in sorted(PKG.rglob("*.py")) if p.name != "io.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1) if THREADS.search(line)]
    assert not offenders, "\n".join(offenders)

def test_the_layout_checks_can_fail(tmp_path):
    bad = tmp_path/"partlab"/"vsrd"/"bad.py"; bad.parent.mkdir(parents=True)
    bad.write_text("from ..world.scenes import render_objects\ndef f():\n    import partlab.cli\n")
    assert {part(m) for m in imported_modules(bad, tmp_path)} == {"world", "cli"}
    assert PROJECTION.search("uv = pts @ K.T") and PROJECTION.search("d = torch.linalg.inv(K) @ p")
    assert not PROJECTION.search("Kb = intrinsic_matrix(1.0, 1.0, 0.0, 0.0)")
    assert THREADS.search("torch.set_num_threads(2)") and not THREADS.search("torch.get_num_threads()")
