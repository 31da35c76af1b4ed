"""The experiments built from every floor below: scripted collection, evaluation, the stages the
one-command runs share (`pipeline`), the demo and the paper's Table 1."""
