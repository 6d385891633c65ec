"""Local emulator of every vendor API jirasync talks to, with seed data and fault injection.

Start it with ``python -m sandbox``; see README.md for how a vendor module plugs in.
"""
