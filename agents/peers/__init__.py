"""Peer baselines: other projects' implementations, run on this suite's environments and settings
so that our agents can be checked side by side (report-only: they join the tables, not ``train``)."""
