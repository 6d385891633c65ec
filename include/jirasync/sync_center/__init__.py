"""The Sync Center: what on-call needs to watch and steer the syncs, inside the Airflow UI.

``records`` reads the state store into plain rows; ``app`` serves them, and the page in
``static/``, as a FastAPI app that the plugin in ``plugins/jirasync_status.py`` mounts behind
Airflow's login.
"""
