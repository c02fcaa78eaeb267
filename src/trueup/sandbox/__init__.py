"""Sandbox emulators: small Starlette apps that speak each system's real wire protocol on loopback.

trueup's connectors are tested against them over real HTTP, and `trueup demo` runs on them. Each emulator
keeps its state in memory, can inject faults (see `faults`), and exposes admin endpoints under
`/_sandbox/`. The sandbox imports only `trueup.model` and its own modules, never a connector.
"""
