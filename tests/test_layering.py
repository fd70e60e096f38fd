"""Imports point down; attention exists once."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bilstm_attn"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "nn").glob("*.py")), ids=lambda p: p.name)
def test_nn_imports_only_torch_and_itself(path):
    for name in imported_modules(path):
        top = name.split(".")[0]
        assert top in {
            "torch",
            "__future__",
            "math",
            "typing",
            "collections",
            "dataclasses",
            "functools",
        } or name.startswith("bilstm_attn.nn"), f"{path.name} imports {name}"


def test_translator_and_classifier_share_the_attention_core():
    for name in ("classifier", "translator"):
        source = (PACKAGE / f"{name}.py").read_text(encoding="utf-8")
        assert "Attention(make_scorer(" in source, name
    assert "from bilstm_attn.nn.attention import Attention" in (
        PACKAGE / "nn" / "decoder.py"
    ).read_text(encoding="utf-8")


LOWER_THAN = {  # module: modules above it that it must not import
    "text": {"training", "classifier", "explain", "render", "cli", "datasets"},
    "training": {"classifier", "explain", "render", "cli", "text"},
    "classifier": {"explain", "render", "cli", "translator"},
    "decoding": {"classifier", "translator", "explain", "render", "cli", "text", "training"},
    "translator": {"classifier", "explain", "cli"},
    "explain": {"cli", "render"},
    "render": {"cli", "classifier", "explain"},
    "datasets": {"classifier", "translator", "explain", "render", "cli", "training", "text"},
    "persistence": {"classifier", "translator", "explain", "render", "cli", "datasets"},
    "word_vectors": {"classifier", "translator", "explain", "render", "cli", "text", "nn"},
    "subword": {"text", "training", "classifier", "translator", "explain", "render", "cli", "nn"},
    "fit_data": {"classifier", "translator", "explain", "render", "cli", "training", "nn"},
    "_checkpoint": {"classifier", "translator", "explain", "render", "cli", "_estimator"},
    "_estimator": {"classifier", "translator", "explain", "render", "cli", "persistence"},
    "_classifier_inference": {"classifier", "translator", "explain", "render", "cli"},
    "_tokenizer_fit": {"classifier", "translator", "explain", "render", "cli", "_estimator"},
    "_loading": {"classifier", "translator", "explain", "render", "cli", "persistence"},
    "_model_dir": {"classifier", "translator", "explain", "render", "cli", "persistence", "text"},
}


def runtime_imports(path: Path) -> set[str]:
    """The modules a file imports when it runs (not those for type hints only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", ["explain", "faithfulness"])
def test_explanations_use_the_classifier_for_type_hints_only(module):
    """Explanations reach the classifier through its public methods, never by import."""
    path = PACKAGE / f"{module}.py"
    assert "bilstm_attn.classifier" in imported_modules(path)  # for the hints
    assert "bilstm_attn.classifier" not in runtime_imports(path)
    source = path.read_text(encoding="utf-8")
    assert "clf._" not in source, f"{module} uses a private member of the classifier"


def test_one_fit_lifecycle():
    """Only the lifecycle runs the epochs, and both estimators are built on it."""
    for name in ("classifier", "translator"):
        source = (PACKAGE / f"{name}.py").read_text(encoding="utf-8")
        assert "PersistenceMixin, TorchEstimator," in source, name
        assert "run_epochs" not in source and "def _train(" not in source, name
        assert "def fit(" in source and "return self._fit(" in source, name
    users = [p.name for p in PACKAGE.rglob("*.py") if "run_epochs(" in p.read_text("utf-8")]
    assert sorted(users) == ["_estimator.py", "training.py"]


# The public API offers clf.explain() and translation.plot(); those methods reach up
# lazily, inside the method, and nowhere else.
LAZY_UPWARD = {
    ("classifier", "explain"),
    ("_classifier_inference", "explain"),
    ("decoding", "render"),
    ("explain", "render"),
}


def module_files(module: str) -> list[Path]:
    """The file of a module, or every file of a package."""
    single = PACKAGE / f"{module}.py"
    return [single] if single.exists() else sorted((PACKAGE / module).glob("*.py"))


@pytest.mark.parametrize(("module", "forbidden"), sorted(LOWER_THAN.items()))
def test_imports_point_down(module, forbidden):
    files = module_files(module)
    assert files, module
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}
        for name in imported_modules(path):
            short = name.removeprefix("bilstm_attn.").split(".")[0]
            if (module, short) in LAZY_UPWARD:
                assert name not in top_level, f"{module} imports {name} at module level"
                continue
            assert short not in forbidden, f"{path.name} of {module} imports {name}"


def test_nothing_imports_cli():
    for path in PACKAGE.rglob("*.py"):
        if path.name != "cli.py" and path.parent.name != "cli":
            names = imported_modules(path)
            assert not any(n.split(".")[:2] == ["bilstm_attn", "cli"] for n in names), path


def test_attention_scoring_and_softmax_live_only_in_the_attention_core():
    core = PACKAGE / "nn" / "attention.py"
    for path in PACKAGE.rglob("*.py"):
        if path == core:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                assert not node.name.endswith(("Attention", "Scorer", "Pooling")), (
                    f"{path.name} defines {node.name}"
                )
            if isinstance(node, ast.Attribute) and node.attr in {"bmm", "masked_fill", "einsum"}:
                raise AssertionError(f"{path.name}:{node.lineno} uses {node.attr}")
            if isinstance(node, ast.Attribute) and "softmax" in node.attr:
                # the only other softmaxes turn output logits into (log-)probabilities
                line = path.read_text(encoding="utf-8").splitlines()[node.lineno - 1]
                assert (
                    path.name in {"_classifier_inference.py", "decoding.py", "explain.py"}
                    and "logits" in line
                ), f"{path.name}:{node.lineno}"
