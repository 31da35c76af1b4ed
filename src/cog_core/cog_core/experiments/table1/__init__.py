"""The paper's Table 1 (and Figure 10) in the built-in simulator: `config` (scenes, methods, the
paper's numbers, presets), `run` (collect, train, evaluate; resumable), `report` (tables, tests
against the paper, curves)."""
