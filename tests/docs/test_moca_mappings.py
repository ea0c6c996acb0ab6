"""MoCA's tiles (benchmarks/moca_mappings.py, docs/validation.md): the committed mapping files are what
the script writes, and the layers MoCA's library tiles itself cost, pinned to its tiles on its config,
what the artifact's FireSim log measured for them.

When the first test fails after a change to the networks or the script, rewrite the files:

    .venv/bin/python benchmarks/moca_mappings.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import compile_model
from hwsim.core.config import load_config
from hwsim.simulate import simulate
from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
SILICON = ROOT / "benchmarks" / "silicon"


def _script():
    return load_script("benchmarks/moca_mappings.py")


def test_committed_files_are_the_scripts_output() -> None:
    module = _script()
    for network in module.NETWORKS:
        path = SILICON / f"moca-{network}-mapping.toml"
        assert path.read_text(encoding="utf-8") == module.mapping_file(network), \
            f"stale {path.name}: run .venv/bin/python benchmarks/moca_mappings.py"


#: Medians of the seven repeats in ucb-bar/gemmini-rocc-tests MOCA @ 80b7b9a moca-data/data/uartlog
#: ("<network> repeat i Conv layer j worst cycles"), by hwsim layer name.
MEASURED = {
    "resnet50": {"/conv1/Conv": 3_526_096,                   # Conv layer 0: 7x7/2, 3 channels, pool fused
                 # the matmul path (tiled_matmul_nn_auto_cid), 1x1 layers as GEMMs over their pixels:
                 "/layer1/layer1.1/conv1/Conv": 210_052,     # Conv layer 5: 256 -> 64 over 56x56
                 "/layer3/layer3.1/conv1/Conv": 230_377},    # Conv layer 28: 1024 -> 256 over 14x14
    "squeezenet11": {"/features.3/expand3x3/Conv": 124_931,  # Conv layer 3
                     "/features.4/expand3x3/Conv": 206_482,  # Conv layer 6: pools 3/2, overlapping calls
                     "/features.7/expand3x3/Conv": 211_424,  # Conv layer 12: the same
                     "/classifier.1/Conv": 416_389},         # Conv layer 25: 512 -> 1000 over 13x13, matmul path
    "alexnet": {"/features.6/Conv": 471_385, "/features.8/Conv": 613_309,  # Conv layers 2, 3, 4
                "/features.10/Conv": 409_554},
}


@pytest.mark.parametrize("network", sorted(MEASURED))
def test_moca_tiled_layers_cost_what_was_measured(network: str) -> None:
    module = _script()
    cfg = load_config(SILICON / "gemmini-moca.toml")
    report = simulate(compile_model(module.NETWORKS[network](), cfg,
                                    mapping=SILICON / f"moca-{network}-mapping.toml"))
    cycles = {layer.name: layer.cycles for layer in report.layers}
    for name, measured in MEASURED[network].items():
        assert 0.9 <= cycles[name] / measured <= 1.12, (name, cycles[name], measured)
