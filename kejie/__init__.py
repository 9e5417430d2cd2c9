"""kejie: 科技供需对接 — application wiring (settings and the command line)."""
