"""``JsmHook``: a ``JsmConnector`` from a connection of the Jira provider's ``jira`` type.

JSM is part of the Jira site and uses its credentials, so it reuses the Jira connection as
``JiraCloudHook`` reads it: host = site URL (a base path such as ``http://127.0.0.1:8900/jira``
is kept), login = account email, password = API token, extra ``verify`` = false or a CA bundle.
"""

from __future__ import annotations

from typing import cast

from jirasync.connectors.errors import ApiError
from jirasync.connectors.jsm import JsmConnector
from jirasync.hooks.jira import JiraCloudHook


class JsmHook(JiraCloudHook):
    hook_name = "Jira Service Management (jirasync)"
    connector_class = JsmConnector

    def get_conn(self) -> JsmConnector:
        return cast(JsmConnector, super().get_conn())

    def test_connection(self) -> tuple[bool, str]:
        """List the service desks: proves the URL, the credentials and that JSM is on the site."""
        try:
            desks = list(self.get_conn().service_desks())
        except (ApiError, ValueError) as error:
            return False, str(error)
        return True, f"Connected to Jira Service Management: {len(desks)} service desk(s)."
