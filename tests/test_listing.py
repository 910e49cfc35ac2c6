"""`spyre-hydra list`: the model table, and the README's copy of it kept in sync."""

from __future__ import annotations

import json
import re

import pytest

from spyre_hydra.cli.listing import blocks_text, markdown, rows
from spyre_hydra.cli.main import main

START, END = "<!-- models:start -->", "<!-- models:end -->"


def _markdown(capsys, *extra) -> str:
    assert main(["list", "--format", "markdown", *extra]) == 0
    return capsys.readouterr().out


def test_readme_table_is_the_generated_one(h, capsys):
    readme = (h.repo / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme, (
        f"README.md lacks the {START} / {END} markers around the model table. Fix: paste the "
        "output of `spyre-hydra list --format markdown` between them.")
    pasted = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert pasted == _markdown(capsys).strip(), (
        "README.md's model table is stale. Fix: replace the text between the markers with "
        "`spyre-hydra list --format markdown`.")


def test_markdown_has_every_catalog_model_with_versioned_blocks(capsys):
    from spyre_hydra.catalog.registry import get_model_registry

    text = _markdown(capsys)
    lines = text.strip().splitlines()
    assert lines[0] == ("| option | hf_id | family | tp sizes | modes | platforms | "
                        "device settings |")
    assert lines[1] == "|---|---|---|---|---|---|---|"
    assert len(lines) == 2 + len(get_model_registry().list_options())
    assert ("| granite_8b | ibm-granite/granite-3.3-8b-instruct | granite-8b | 1,2,4 | cb,static "
            "| x86_64,ppc64le,s390x | tp4 blocks: <1.0.3→2080, else 8192; 3 env vars |") in lines
    assert ("| granite_vision_2b | ibm-granite/granite-vision-3.3-2b | granite-vision | 1,2,4 | cb"
            " | x86_64,ppc64le,s390x | tp2 1 env var / tp4 blocks: 8192; 3 env vars |") in lines
    assert "| roberta_large | sentence-transformers/all-roberta-large-v1 | roberta | 1 | static |"\
        " x86_64,ppc64le | - |" in lines


def test_table_follows_the_conf_tree(conf_copy, capsys):
    path = conf_copy / "model" / "roberta_large.yaml"
    text = path.read_text().replace("platforms: [x86_64, ppc64le]", "platforms: [s390x]")
    path.write_text(text + "device_configs:\n  tp1:\n"
                    "    num_gpu_blocks_override: {'>=1.1': 64, default: 32}\n")
    text = _markdown(capsys, "--config-dir", str(conf_copy))
    assert re.search(r"\| roberta_large \|.*\| s390x \| tp1 blocks: >=1\.1→64, else 32 \|", text)


def test_json_rows(capsys):
    assert main(["list", "--format", "json"]) == 0
    data = {r["option"]: r for r in json.loads(capsys.readouterr().out)}
    assert data["granite_8b"]["tp_sizes"] == [1, 2, 4]
    assert data["granite_8b"]["device_configs"]["tp4"]["num_gpu_blocks_override"] == {
        "<1.0.3": 2080, "default": 8192}
    assert data["tiny_granite"]["modes"] == ["cb", "static"]


def test_text_format_is_aligned(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["option", "hf_id", "family", "tp", "sizes", "modes", "platforms",
                                "device", "settings"]
    col = lines[0].index("hf_id")
    assert all(line[col - 2:col] == "  " for line in lines[1:])


@pytest.mark.parametrize("value, text", [
    (8192, "8192"),
    ({"<1.0.3": 2080, "default": 8192}, "<1.0.3→2080, else 8192"),
    ({">=1.0,<1.1": 10, ">=1.1": 20}, ">=1.0,<1.1→10, >=1.1→20"),
])
def test_blocks_text(value, text):
    assert blocks_text(value) == text


def test_markdown_escapes_pipes():
    row = {"option": "x", "hf_id": "a|b", "family": "f", "tp_sizes": [1], "modes": ["cb"],
           "platforms": [], "device_settings": []}
    assert markdown([row]).splitlines()[2] == "| x | a\\|b | f | 1 | cb | all | - |"


def test_rows_are_in_catalog_order(h):
    from spyre_hydra.catalog.registry import get_model_registry

    registry = get_model_registry()
    assert [r["option"] for r in rows(registry)] == registry.list_options()


# -- check and schema: the other read-only tools ------------------------------------------
def test_check_reports_ties_shadows_and_confirmed_shadows(h, capsys):
    assert main(["check", "--hf-configs", str(h.hf_configs)]) == 0
    out = capsys.readouterr().out
    assert "  tie: intfloat/multilingual-e5-large and intfloat/multilingual-e5-large-instruct " \
           "have identical patterns" in out
    assert "  shadow: BAAI/bge-reranker-large refines intfloat/multilingual-e5-large with " \
           "{'max_position_embeddings': 514}" in out
    assert "  ibm-granite/granite-3.3-8b-instruct: matched as ibm-granite/granite-3.3-8b-instruct" \
        in out
    assert out.rstrip().endswith(
        "confirmed shadows: 1\n  shadow: intfloat/multilingual-e5-large's own config.json is "
        "matched as BAAI/bge-reranker-large.")


def test_check_without_hf_configs_prints_only_diagnostics(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("catalog: ") and "HF configs" not in out


def test_schema_documents_every_field(capsys):
    from spyre_hydra.cli.schema_doc import fields

    table = fields()
    assert {"class": "ModelSpec", "field": "platforms", "type": "List[str]",
            "default": "list()", "doc": "CPU architectures the entry is validated on; empty "
            "means all."} in table
    assert {"class": "CBEntry", "field": "tp_size", "type": "int", "default": "??? (required)",
            "doc": "Tensor parallel size (number of Spyre cards) of this continuous-batching "
            "layout."} in table
    assert [r for r in table if not r["doc"]] == []  # the rule: a docstring per field
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert "\nModelSpec\n  hf_id: str = ??? (required)\n      Hugging Face id" in out


def test_schema_reads_attribute_docstrings_from_source():
    from spyre_hydra.cli.schema_doc import fields

    src = ("from dataclasses import dataclass\n@dataclass\nclass A:\n    x: int = 1\n"
           "    '''The x.'''\n    y: str = 'a'\nclass NotData:\n    z: int = 0\n")
    assert fields(src) == [
        {"class": "A", "field": "x", "type": "int", "default": "1", "doc": "The x."},
        {"class": "A", "field": "y", "type": "str", "default": "'a'", "doc": ""}]
