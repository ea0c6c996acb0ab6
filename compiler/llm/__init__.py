"""Language models for ``hwsim llm``: a model's shape (:mod:`.spec`, from a Hugging Face
``config.json``), the export-like graph built from it (:mod:`.build`), an ONNX decoder with its KV
cache recognised (:mod:`.model`), what each workload is part of (:mod:`.phases`) and the decode
steps scheduled position by position (:mod:`.decode`). docs/llm.md is the guide.
"""

from __future__ import annotations
