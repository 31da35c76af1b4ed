"""`NodeSpec`s (cog_collect.launch_support) as launch_ros actions; imported by the launch files only."""

from __future__ import annotations

from collections.abc import Iterable

from cog_collect.launch_support import NodeSpec

SIGTERM_AFTER_S = 15


def node_actions(specs: Iterable[NodeSpec]) -> list:
    """A launch_ros Node per spec, plus a Shutdown of the whole launch when a `shutdown_on_exit` node ends."""
    from launch.actions import EmitEvent, RegisterEventHandler
    from launch.event_handlers import OnProcessExit
    from launch.events import Shutdown
    from launch_ros.actions import Node

    actions = []
    for spec in specs:
        params = [*spec.parameter_files, spec.parameters] if (spec.parameters or spec.parameter_files) else None
        # SIGINT -> SIGTERM after 15 s, not launch's 5: a node's clean stop (the arm's sleep move, the
        # bag's footer, DDS teardown on a loaded machine) may need more; SIGKILL 5 s after that
        node = Node(package=spec.package, executable=spec.executable, name=spec.name, output="screen",
                    parameters=params, remappings=spec.remappings or None, arguments=spec.arguments or None,
                    sigterm_timeout=str(SIGTERM_AFTER_S), sigkill_timeout="5")
        actions.append(node)
        if spec.shutdown_on_exit:
            def on_exit(event, context, name=spec.name):
                how = "finished" if event.returncode == 0 else f"exited with status {event.returncode}"
                return [EmitEvent(event=Shutdown(reason=f"{name} {how}"))]

            actions.append(RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit)))
    return actions
