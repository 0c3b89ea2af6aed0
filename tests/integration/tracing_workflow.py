"""A one-activity workflow for the tracing test, in a module of its own so the workflow
sandbox re-imports nothing but temporalio."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="tracing_echo")
async def echo(text: str) -> str:
    return text.upper()


@workflow.defn(name="TracingEchoWorkflow")
class EchoWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        return str(await workflow.execute_activity(
            echo, text, start_to_close_timeout=timedelta(seconds=30)))
