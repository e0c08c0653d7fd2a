"""Thin async services over the pure core and the storage interfaces: the hub that carries out
the core's effects, the directory (org tree, grants, devices, tokens), the registry of units and
their documents, and the demo province."""
