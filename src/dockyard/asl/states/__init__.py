"""One module per kind of state: ``simple`` (Pass, Choice, Wait, Succeed, Fail), ``task``,
``fanout`` (Parallel, Map). Each offers ``KINDS``, the code the engine runs for a type."""
