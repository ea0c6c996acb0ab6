"""Every report is what hwsim.report.SCHEMA says it is, on every zoo model, preset and dataflow."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from compiler import compile_model, lower_model, schedule_model
from compiler.zoo import MODELS
from hwsim.core.config import DATAFLOWS, preset, preset_names
from hwsim.report import SCHEMA
from hwsim.scalesim import ScaleSimTiming
from hwsim.simulate import simulate

from .conftest import run_hwsim

PINS = {"bert": {"input_ids": (1, 64)}, "gpt": {"input_ids": (1, 64)}, "ocr_det": {"x": (1, 3, 320, 320)},
        "ocr_rec": {"x": (1, 3, 48, 320)}, "ocr_cls": {"x": (1, 3, 48, 192)}}
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_zoo_report_matches_the_schema(name: str):
    lowered = lower_model(MODELS[name](), input_shapes=PINS.get(name))
    for preset_name in preset_names():
        for dataflow in DATAFLOWS:
            report = simulate(schedule_model(lowered, preset(preset_name).replace(dataflow=dataflow))).to_dict()
            VALIDATOR.validate(json.loads(json.dumps(report)))
    scalesim = simulate(schedule_model(lowered, preset("gemmini-like")), scalesim=ScaleSimTiming()).to_dict()
    VALIDATOR.validate(json.loads(json.dumps(scalesim)))


def test_the_schema_rejects_what_the_contract_forbids():
    report = simulate(compile_model(MODELS["resnet18"](), preset("fpga-edge"))).to_dict()
    for broken in ("missing field", "extra field", "negative cycles", "utilization above 1"):
        bad = copy.deepcopy(report)
        layer = bad["layers"][0]
        if broken == "missing field":
            del layer["stall_cycles"]
        elif broken == "extra field":
            bad["totals"]["speed"] = 1.0
        elif broken == "negative cycles":
            layer["cycles"] = -1
        else:
            layer["utilization"] = 1.5
        assert not VALIDATOR.is_valid(bad), broken


def test_the_command_line_report_matches_the_schema(tmp_path):
    out = tmp_path / "r.json"
    assert run_hwsim("estimate", "--preset", "fpga-edge", "--json", str(out)).code == 0
    VALIDATOR.validate(json.loads(out.read_text()))
