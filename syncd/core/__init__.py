"""The server's decisions without I/O: live documents, validate-before-apply, the hub's choices
returned as effects, the policy over the org tree, challenge/response, rate limits and limits.

Everything here is plain functions and classes; the async shells in ``syncd.services`` carry out
what it decides (docs/architecture.md).
"""
