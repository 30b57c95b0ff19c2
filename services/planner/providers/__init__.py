"""Planner providers: the hosted OpenAI-compatible one and the rule-based offline one."""
