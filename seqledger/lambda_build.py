"""The Lambda artefact: the handlers' code and the exact runtime they import, in one zip.

What goes in is found, not listed: the import closure of the handler modules picks our packages
(never the CLI or the presentation layers), and the third-party packages that closure imports
are installed from the project's lock (``uv export --frozen``) as manylinux x86_64 / CPython 3.11
wheels, with their own dependencies and nothing else. So the zip carries pyarrow built with S3
and ZSTD (the public AWS SDK for pandas layer has neither) and no pandas, numpy or DuckDB: the
handlers never import them, and without them ``import pyarrow.dataset`` stays fast.

One zip rather than a layer plus code, or a container image: the three functions share it, the
managed python3.11 runtime keeps its security patches, nothing needs Docker or ECR, and what the
tests run from is byte for byte what ``aws cloudformation package`` uploads. Trimmed, it is about
a third of Lambda's 250 MiB unzipped limit; the size is checked on every build.
"""

from __future__ import annotations

import ast
import py_compile
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lake.errors import ConfigError

# The functions' entry points, as infra/seqledger.yaml declares them (a test keeps them equal).
HANDLERS = {
    "dispatcher": "ingest.handlers.on_object_created",
    "recorder": "ingest.handlers.on_job_state_change",
    "compactor": "ingest.handlers.compact_lake",
    "billing-loader": "ingest.handlers.load_billing_exports",
}
FIRST_PARTY = ("lake", "ingest", "pipeline_runner", "analytics", "expectations", "dashboards",
               "seqledger")
# Never in the Lambda: the command line and the presentation layers (DESIGN.md layout).
NOT_IN_LAMBDA = ("analytics", "expectations", "dashboards", "seqledger")

# The runtime the functions run on (infra/seqledger.yaml: Runtime python3.11, x86_64).
PYTHON_VERSION = (3, 11)
WHEEL_PLATFORM = "x86_64-manylinux_2_28"  # Amazon Linux 2023 has glibc 2.34

MIB = 1024 * 1024
ZIPPED_LIMIT = 50 * MIB  # Lambda quota: deployment package, zipped, direct upload
UNZIPPED_LIMIT = 250 * MIB  # Lambda quota: function and all its layers, unzipped

# Parts of the installed wheels no handler loads: tests, headers, Cython sources, Arrow Flight
# (libarrow_flight alone is 29 MiB) and the copies of libarrow_python a wheel carries because it
# cannot hold symlinks (the extensions load it by its soname, libarrow_python.so.<major>).
STRIP_DIRS = frozenset({"__pycache__", "tests", "include", "includes", "src", "bin"})
STRIP_SUFFIXES = (".pyx", ".pxd", ".pxi", ".h", ".hpp", ".cc", ".c", ".pyi")
STRIP_GLOBS = ("pyarrow/_flight*", "pyarrow/libarrow_flight*", "pyarrow/libarrow_python_flight*",
               "pyarrow/_pyarrow_cpp_tests*", "pyarrow/flight.py",
               "pyarrow/libarrow_python.so", "pyarrow/libarrow_python.so.*.*.*",
               "pyarrow/libarrow_python_parquet_encryption.so",
               "pyarrow/libarrow_python_parquet_encryption.so.*.*.*")


# -- what the handlers import ----------------------------------------------------------------------

@dataclass(frozen=True)
class ImportedName:
    """A top-level package one of the handlers' modules imports."""

    name: str
    by: str  # the importing module
    at_import: bool  # imported when the module loads (not inside a function)


@dataclass
class Closure:
    """The first-party modules the handlers reach, and everything else they import."""

    modules: dict[str, Path] = field(default_factory=dict)
    # package -> the first module found importing it
    reached_from: dict[str, str] = field(default_factory=dict)
    external: list[ImportedName] = field(default_factory=list)

    @property
    def packages(self) -> list[str]:
        return sorted({m.split(".")[0] for m in self.modules})

    @property
    def third_party(self) -> list[str]:
        return sorted({i.name for i in self.external})


def module_file(root: Path, module: str) -> Path | None:
    """The source file of a module under root (``a/b.py`` or ``a/b/__init__.py``), if any."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _classify_nodes(tree: ast.Module) -> tuple[set[int], set[int]]:
    """Ids of the nodes run at import (outside functions), and of those that never run
    (under ``if TYPE_CHECKING:``)."""
    eager: set[int] = set()
    never: set[int] = set()

    def visit(node: ast.AST, at_import: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            never.update(id(n) for stmt in node.body for n in ast.walk(stmt))
            for child in node.orelse:
                visit(child, at_import)
            return
        if at_import:
            eager.add(id(node))
        inside_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, at_import and not inside_function)

    for stmt in tree.body:
        visit(stmt, True)
    return eager, never


def _imports(module: str, path: Path) -> Iterable[tuple[str, bool]]:
    """(imported module, at import time) for every import statement in one module's source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    eager, never = _classify_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in never:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in eager
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target, id(node) in eager
            # `from pkg import mod` imports the submodule pkg.mod when there is one.
            for alias in node.names:
                yield f"{target}.{alias.name}", id(node) in eager


def import_closure(root: Path, entries: Iterable[str],
                   first_party: Iterable[str] = FIRST_PARTY) -> Closure:
    """Follow the imports of ``entries`` through the project's own modules under ``root``.

    Raises:
        ConfigError: an entry module does not exist.
    """
    ours = set(first_party)
    closure = Closure()
    queue: list[tuple[str, str]] = []
    for entry in entries:
        if module_file(root, entry) is None:
            raise ConfigError(f"entry module {entry} not found under {root}")
        queue.append((entry, "(entry)"))
    seen_external: set[tuple[str, str]] = set()
    while queue:
        module, by = queue.pop()
        if module in closure.modules:
            continue
        path = module_file(root, module)
        if path is None:
            continue  # `from pkg import name` where name is not a module
        closure.modules[module] = path
        closure.reached_from.setdefault(module.split(".")[0], by)
        parts = module.split(".")
        queue += [(".".join(parts[:i]), module) for i in range(1, len(parts))]
        for target, at_import in _imports(module, path):
            top = target.split(".")[0]
            if not top:
                continue
            if top in ours:
                queue.append((target, module))
            elif top not in sys.stdlib_module_names and (top, module) not in seen_external:
                seen_external.add((top, module))
                closure.external.append(ImportedName(top, module, at_import))
    return closure


def handler_problems(root: Path, handlers: Mapping[str, str]) -> list[str]:
    """Handlers whose module or module-level function does not exist."""
    problems = []
    for function, target in handlers.items():
        module, _, name = target.rpartition(".")
        path = module_file(root, module)
        if path is None:
            problems.append(f"{function}: module {module} not found ({target})")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        defined = {n.name for n in tree.body
                   if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        defined |= {t.id for n in tree.body if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name)}
        if name not in defined:
            problems.append(f"{function}: {module} defines no {name} ({target})")
    return problems


def handler_closure(root: Path, handlers: Mapping[str, str] = HANDLERS) -> Closure:
    """The handlers' closure, checked against the layout rules.

    Raises:
        ConfigError: a handler is missing, or the closure reaches a package that must not be in
            the Lambda.
    """
    problems = handler_problems(root, handlers)
    if problems:
        raise ConfigError("cannot package the functions: " + "; ".join(problems))
    closure = import_closure(root, sorted({t.rpartition(".")[0] for t in handlers.values()}))
    forbidden = [p for p in closure.packages if p in NOT_IN_LAMBDA]
    if forbidden:
        raise ConfigError(
            "the handlers import "
            + ", ".join(f"{p} (via {closure.reached_from[p]})" for p in forbidden)
            + "; these packages must not be in the Lambda (DESIGN.md layout)")
    return closure


# -- the runtime they need -------------------------------------------------------------------------

def distributions_for(imports: Iterable[str],
                      installed: Mapping[str, list[str]]) -> dict[str, str]:
    """The distribution that provides each imported top-level name (``dateutil`` ->
    ``python-dateutil``), from ``importlib.metadata.packages_distributions()``.

    Raises:
        ConfigError: an import no installed distribution provides (it is not in the lock).
    """
    found, unknown = {}, []
    for name in sorted(set(imports)):
        dists = installed.get(name)
        if dists:
            found[name] = dists[0]
        else:
            unknown.append(name)
    if unknown:
        raise ConfigError("the handlers import " + ", ".join(unknown) + ", which no locked "
                          "dependency provides: add it to pyproject.toml and run `uv lock`")
    return found


def find_uv(root: Path) -> str:
    """The uv executable: the project's pinned one (.tools/bin/uv), else the one on PATH.

    Raises:
        ConfigError: there is none.
    """
    pinned = root / ".tools" / "bin" / "uv"
    uv = str(pinned) if pinned.is_file() else shutil.which("uv")
    if uv is None:
        raise ConfigError("uv not found (.tools/bin/uv or on PATH): it installs the locked "
                          "runtime wheels into the Lambda package; install uv and retry")
    return uv


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ConfigError(f"{what} failed ({' '.join(cmd[:3])} …): {' | '.join(tail)}")
    return done.stdout


def install_runtime(uv: str, root: Path, distributions: Iterable[str], target: Path) -> None:
    """Install the distributions, at their locked versions, for the Lambda runtime into target.

    Raises:
        ConfigError: the lock is stale or a wheel is not available for manylinux x86_64/cp311.
    """
    constraints = target.parent / "runtime-constraints.txt"
    constraints.write_text(_run([uv, "export", "--frozen", "--no-dev", "--no-hashes",
                                 "--no-emit-project", "--quiet"], root, "uv export"),
                           encoding="utf-8")
    version = ".".join(map(str, PYTHON_VERSION))
    _run([uv, "pip", "install", "--quiet", "--target", str(target), "--python-version", version,
          "--python-platform", WHEEL_PLATFORM, "--only-binary", ":all:", "--no-compile",
          "--constraints", str(constraints), *sorted(distributions)], root,
         "installing the locked runtime wheels")


def strip_tree(target: Path) -> int:
    """Delete what no handler loads (see STRIP_*); returns the bytes removed."""
    doomed: set[Path] = set()
    for path in target.rglob("*"):
        rel = path.relative_to(target)
        in_dist_info = any(p.endswith(".dist-info") for p in rel.parts)
        unused_dir = path.is_dir() and path.name in STRIP_DIRS and not in_dist_info
        if unused_dir or (path.is_file() and path.suffix in STRIP_SUFFIXES):
            doomed.add(path)
    for pattern in STRIP_GLOBS:
        doomed.update(target.glob(pattern))
    removed = 0
    for path in sorted(doomed, key=lambda p: len(p.parts)):
        if not path.exists():
            continue  # inside a directory already removed
        if path.is_dir():
            removed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path)
        else:
            removed += path.stat().st_size
            path.unlink()
    return removed


def compile_tree(tree: Path) -> int:
    """Byte-compile every module for this interpreter; returns how many.

    Unchecked-hash pycs: the function's file system is read-only, so a pyc that Python judged
    stale (zip times are coarse) would be recompiled in memory at every cold start instead.

    Raises:
        ConfigError: this interpreter is not the runtime's Python version.
    """
    if sys.version_info[:2] != PYTHON_VERSION:
        raise ConfigError(f"byte-compiling for python{'.'.join(map(str, PYTHON_VERSION))} needs "
                          f"that interpreter; this is {sys.version.split()[0]}")
    n = 0
    for source in sorted(tree.rglob("*.py")):
        py_compile.compile(str(source), cfile=None, dfile=str(source.relative_to(tree)),
                           doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        n += 1
    return n


def copy_packages(root: Path, packages: Iterable[str], target: Path) -> None:
    """Our packages' files (no caches, no hidden files) into target."""
    for package_name in sorted(packages):
        for path in sorted((root / package_name).rglob("*")):
            rel = path.relative_to(root)
            hidden = any(p.startswith(".") or p == "__pycache__" for p in rel.parts)
            if path.is_file() and not hidden and path.suffix not in (".pyc", ".pyo"):
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / rel)


def tree_files(tree: Path) -> list[tuple[str, Path]]:
    """(name in the zip, file) for every file under tree, in a stable order."""
    return sorted((p.relative_to(tree).as_posix(), p) for p in tree.rglob("*") if p.is_file())


def write_zip(files: Iterable[tuple[str, Path]], out: Path) -> tuple[int, int]:
    """A reproducible zip (fixed times and modes) of files; returns (zipped, unzipped) bytes.

    Fixed times make the zip's hash a function of its content, so ``aws cloudformation package``
    uploads (and Lambda redeploys) only what changed.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.partial")
    unzipped = 0
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, path in files:
            data = path.read_bytes()
            unzipped += len(data)
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            mode = 0o755 if path.suffix == ".so" or ".so." in path.name else 0o644
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(out)
    return out.stat().st_size, unzipped


def size_report(zipped: int, unzipped: int) -> list[str]:
    """Lines comparing the package with Lambda's limits."""
    return [
        f"zipped    {zipped / MIB:8.2f} MiB  (uploaded through S3 by `aws cloudformation "
        f"package`; {100 * zipped / ZIPPED_LIMIT:.1f} % of the {ZIPPED_LIMIT // MIB} MiB "
        "direct-upload quota)",
        f"unzipped  {unzipped / MIB:8.2f} MiB  of {UNZIPPED_LIMIT // MIB} MiB "
        f"({100 * unzipped / UNZIPPED_LIMIT:.1f} %; no layers)",
    ]


@dataclass(frozen=True)
class Built:
    """What ``build`` made."""

    zip_path: Path
    zipped: int
    unzipped: int
    closure: Closure
    distributions: dict[str, str]  # import name -> distribution
    stripped: int
    compiled: int


def build(root: Path, out: Path, uv: str | None = None) -> Built:
    """Build the Lambda zip at ``out`` from the project at ``root``.

    The tree is staged in a temporary folder beside ``out`` (removed afterwards), so nothing but
    ``out`` is written or replaced.

    Raises:
        ConfigError: a handler is missing, the closure breaks the layout, a dependency cannot be
            installed for the runtime, or the result exceeds Lambda's size limit.
    """
    import tempfile
    from importlib.metadata import packages_distributions

    closure = handler_closure(root)
    dists = distributions_for(closure.third_party, packages_distributions())
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.stem}-") as work:
        tree = Path(work) / "tree"
        tree.mkdir()
        install_runtime(uv or find_uv(root), root, dists.values(), tree)
        missing = [name for name in closure.third_party if module_file(tree, name) is None]
        if missing:
            raise ConfigError("the runtime install lacks " + ", ".join(missing))
        stripped = strip_tree(tree)
        copy_packages(root, closure.packages, tree)
        compiled = compile_tree(tree)
        files = tree_files(tree)
        unzipped = sum(path.stat().st_size for _, path in files)
        if unzipped > UNZIPPED_LIMIT:
            raise ConfigError(f"the package is {unzipped / MIB:.1f} MiB unzipped, over Lambda's "
                              f"{UNZIPPED_LIMIT // MIB} MiB limit")
        zipped, unzipped = write_zip(files, out)
    return Built(out, zipped, unzipped, closure, dists, stripped, compiled)
