"""``hwsim llm``: serving a language model on the accelerator, prefill and decode with a KV cache
(:func:`.serving.serve`), and its report (:class:`.report.LlmReport`, :data:`.report.LLM_SCHEMA`).
docs/llm.md is the guide."""

from __future__ import annotations

from .report import LLM_SCHEMA, LlmReport
from .serving import pasts, serve

__all__ = ["LLM_SCHEMA", "LlmReport", "serve", "pasts"]
