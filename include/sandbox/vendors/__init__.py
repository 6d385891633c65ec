"""One module per emulated vendor API; sandbox.registry lists them."""
