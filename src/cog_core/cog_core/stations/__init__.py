"""Stations (an arm in a scene, sim or hardware) and what drives them: the scripted runner, the
policy loop, one rollout of a policy. The seams are the protocols of `cog_core.stations.base`."""
