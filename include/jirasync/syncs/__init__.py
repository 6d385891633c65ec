"""The sync families: what each reads, how it matches and maps, and how it writes.

A family is Airflow-free: it receives connectors (built by the operators from Airflow
connections) and the engine's state store, and returns frames and a writer.
"""
