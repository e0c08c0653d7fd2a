"""sotay sync server: automerge-repo protocol v1 over websockets on top of ``automerge.core``.

Layers, each importing only those below it (docs/architecture.md): ``web`` > ``enrolment`` >
``services`` > ``storage`` > ``core`` > ``protocol``.
"""
