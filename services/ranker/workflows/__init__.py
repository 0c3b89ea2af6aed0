"""Temporal workflows (deterministic, no I/O), their contracts (the dataclasses the gateway and CLI
import) and activities (I/O through constructor-injected dependencies).

Workflow modules import only contracts; activities may import training, evaluation, registry and
store.
"""
