"""One ConfTree per launch: built at the front door, passed down as one value, and no
process state left holding a user's conf dir once a compose is over."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

import spyre_hydra
from spyre_hydra.conftree.arguments import ArgumentTypeError
from spyre_hydra.conftree.roots import shipped_conf_dir
from spyre_hydra.conftree.searchpath import SpyreUserConfDir, ranked_first, ranked_user_dir
from spyre_hydra.conftree.tree import ConfTree

PACKAGE = Path(spyre_hydra.__file__).parent

MODEL = ("defaults:\n  - family/base@_here_\n  - _self_\nhf_id: org/only-mine\nfamily: tiny\n"
         "architecture: {model_type: granite, hidden_size: 7}\n"
         "continuous_batching_configs:\n  - {tp_size: 1, max_model_len: 512, max_num_seqs: 4}\n")

#: The public API's edge: these take `conf_dir=` (a path, a ConfTree or None) and build the
#: tree once; every other function takes the ConfTree itself.
CONF_DIR_EDGE = {
    "plan/front.py": {"compose", "check_point", "front_door"},
    "conftree/compose.py": {"compose_launch"},
    "conftree/tree.py": {"at", "coerce"},
    "conftree/roots.py": {"search_path"},  # the one validation, behind ConfTree.at
    "catalog/registry.py": {"get_model_registry", "__init__", "empty"},
    "cli/explain.py": {"explain"},
    "deploy/export_serve.py": {"export_serve"},
    "legacy/exporter.py": {"legacy_text", "export_legacy"},
    "legacy/drift.py": {"against_installed"},
    "engine/launchenv.py": {"backend_env"},
}
#: Where a bare list of roots is still a parameter: the implementation of ConfTree itself.
ROOTS_IMPLEMENTATION = {"conftree/roots.py", "conftree/stamp.py", "conftree/defaults.py",
                        "conftree/tree.py", "conftree/backends.py"}


def _functions():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                yield rel, node.name, {a.arg for a in [*args.posonlyargs, *args.args,
                                                       *args.kwonlyargs]}


def test_only_the_api_edge_takes_a_conf_dir():
    found = {(rel, name) for rel, name, params in _functions() if "conf_dir" in params}
    allowed = {(rel, name) for rel, names in CONF_DIR_EDGE.items() for name in names}
    assert found - allowed == set(), "take a ConfTree (`tree`) instead of conf_dir"
    assert allowed - found == set(), "CONF_DIR_EDGE names a function that no longer exists"


def test_only_the_conf_tree_implementation_takes_roots():
    found = {rel for rel, _, params in _functions() if "roots" in params}
    assert found <= ROOTS_IMPLEMENTATION, found - ROOTS_IMPLEMENTATION


@pytest.fixture
def user(tmp_path) -> Path:
    conf = tmp_path / "mine"
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "only_mine.yaml").write_text(MODEL)
    return conf


def test_a_conf_tree_and_its_path_give_the_same_plan_and_registry(user):
    tree = ConfTree.at(user)
    by_path = spyre_hydra.compose(["model=only_mine", "mode=plan"], conf_dir=user)
    by_tree = spyre_hydra.compose(["model=only_mine", "mode=plan"], conf_dir=tree)
    assert by_tree.to_dict() == by_path.to_dict()
    assert by_path.conf_tree == tree and tree.user_dir == user.resolve()
    assert spyre_hydra.get_model_registry(tree) is spyre_hydra.get_model_registry(str(user))


def test_the_tree_answers_what_the_launch_needs(user):
    tree = ConfTree.at(user)
    assert tree.roots == (user.resolve(), shipped_conf_dir())
    assert "only_mine" in tree.options("model") and "granite_8b" in tree.options("model")
    assert tree.find("model", "only_mine") == user.resolve() / "model" / "only_mine.yaml"
    assert tree.find("model/family/base") == shipped_conf_dir() / "model/family/base.yaml"
    before = tree.fingerprint()
    (user / "model" / "only_mine.yaml").write_text(MODEL + "priority: 3\n")
    assert tree.fingerprint() != before
    assert ConfTree.at(None).user_dir is None


def test_no_user_dir_is_left_for_the_next_compose(user):
    spyre_hydra.compose(["model=only_mine", "mode=plan"], conf_dir=user)
    assert ranked_user_dir() is None
    assert not hasattr(SpyreUserConfDir, "user_dir")  # the plugin holds no state of its own
    with pytest.raises(spyre_hydra.UnknownOptionError, match=r"model has no option "
                                                             r"'only_mine'"):
        spyre_hydra.compose(["model=only_mine", "mode=plan"])


def test_a_ranked_dir_is_seen_by_its_own_thread_only(user):
    inside, release, seen = threading.Event(), threading.Event(), {}

    def ranks():
        with ranked_first(ConfTree.at(user)):
            seen["own"] = ranked_user_dir()
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=ranks)
    worker.start()
    inside.wait(10)
    seen["other"] = ranked_user_dir()
    release.set()
    worker.join(10)
    assert seen == {"own": user.resolve(), "other": None}
    assert ranked_user_dir() is None


def test_wrong_conf_dir_values_are_named(tmp_path):
    with pytest.raises(ArgumentTypeError, match=r"get_model_registry\(conf_dir=17\): conf_dir "
                                                r"must be a path"):
        spyre_hydra.get_model_registry(17)
    with pytest.raises(TypeError, match=r"ConfTree.of takes a list of roots, not the path "
                                        r"'mine'; use ConfTree.at\(path\)"):
        ConfTree.of("mine")
    with pytest.raises(spyre_hydra.UnknownOptionError, match=r"conf dir '.*nope' is not a "
                                                             r"directory\. Fix:"):
        ConfTree.at(tmp_path / "nope")


def test_an_abbreviated_config_dir_flag_is_refused(user, capsys):
    """`--config-d DIR` parses as --config-dir in argparse; spyre-launch ranks only a dir it
    read itself, so the short spelling is named rather than searched after the shipped tree."""
    from spyre_hydra.cli.launch import main

    with pytest.raises(SystemExit) as info:
        main(["--config-d", str(user), "model=only_mine", "mode=plan"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"--config-dir '{user}': give it as `--config-dir DIR`" in err
    assert "Traceback" not in err


def test_spyre_launch_ranks_the_users_dir_for_a_plan_and_a_task(user, capsys):
    from spyre_hydra.cli.launch import main

    main(["--config-dir", str(user), "model=only_mine", "mode=plan"])
    assert '"option": "only_mine"' in capsys.readouterr().out
    main(["--config-dir", str(user), "model=only_mine", "mode=plan", "--cfg", "job"])
    assert "hf_id: org/only-mine" in capsys.readouterr().out
    assert ranked_user_dir() is None


@pytest.mark.parametrize("command", [["list"], ["check"], ["explain", "model=granite_8b"]])
def test_spyre_hydra_names_the_flag_for_a_conf_dir_that_is_a_file(command, tmp_path, capsys):
    from spyre_hydra.cli.main import main

    afile = tmp_path / "afile"
    afile.write_text("x: 1\n")
    assert main([*command, "--config-dir", str(afile)]) == 2
    err = capsys.readouterr().err
    assert f"spyre-hydra {command[0]}: error: --config-dir '{afile}' is not a directory. Fix:" \
        in err and "Traceback" not in err


def test_fingerprint_is_over_paths_relative_to_each_root(tmp_path):
    # The fingerprint slices each path after its root instead of building a Path per file;
    # it must stay what plans, results and bundles recorded: relative_to(root), in order.
    import hashlib

    from spyre_hydra.conftree.stamp import catalog_fingerprint, file_hashes

    (tmp_path / "conf" / "model" / "family").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "mine.yaml").write_text(MODEL)
    (tmp_path / "conf" / "model" / "family" / "fam.yaml").write_text("family: fam\n")
    tree = ConfTree.at(tmp_path / "conf")
    hashes = file_hashes(tree.roots)
    digest = hashlib.sha256()
    for index, root in enumerate(tree.roots):
        for path in sorted(p for p in hashes if Path(p).is_relative_to(root)):
            rel = Path(path).relative_to(root).as_posix()
            digest.update(f"{index}:{rel}\0{hashes[path]}\0".encode())
    assert catalog_fingerprint(tree.roots, hashes) == "sha256:" + digest.hexdigest()
    assert tree.fingerprint() == "sha256:" + digest.hexdigest()
