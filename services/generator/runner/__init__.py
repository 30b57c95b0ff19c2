"""One item's run: cache → slot → create (id stored before waiting) → wait → download → verdict.

``runner.py`` orchestrates the steps and owns cancellation; ``creation.py`` obtains the
prediction (create once, reconcile a lost answer, adopt a tagged webhook); ``waiting.py`` waits
for a terminal status; ``finishing.py`` records the verdict and stores the outputs. The steps
share one ``ItemContext`` (``context.py``); what every runner shares is ``RunnerDeps``
(``deps.py``).
"""
