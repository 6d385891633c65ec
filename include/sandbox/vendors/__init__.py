"""One package per emulated vendor API, so each vendor's emulation is one room; sandbox.registry lists them."""
