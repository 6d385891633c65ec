"""The CRM modules and fields the sandbox emulates, and their ``/settings/modules`` and ``/settings/fields`` form.

One table (``MODULES``) drives everything: which modules exist, which fields a read may
ask for, which are mandatory on insert, which are picklists, lookups or read-only, and
the metadata answers, which carry every property Zoho's OpenAPI document marks required.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sandbox.vendors.zoho.api import ADMIN_USER

SYSTEM_FIELDS = ("Owner", "Created_Time", "Modified_Time", "Created_By", "Modified_By")


@dataclass(frozen=True)
class Field:
    api_name: str
    label: str
    data_type: str  # Zoho's: text, email, phone, picklist, lookup, ownerlookup, datetime, date, currency, ...
    mandatory: bool = False
    read_only: bool = False
    custom: bool = False
    picklist: tuple[str, ...] = ()
    lookup_module: str | None = None
    length: int = 255

    @property
    def json_type(self) -> str:
        if self.data_type in ("lookup", "ownerlookup"):
            return "jsonobject"
        if self.data_type == "currency":
            return "double"
        if self.data_type == "boolean":
            return "boolean"
        return "string"


# Every module has these; made once, since seeding asks for a module's fields per record.
_SYSTEM_FIELD_DEFINITIONS = (
    Field("Owner", "Owner", "ownerlookup", lookup_module="users"),
    Field("Created_Time", "Created Time", "datetime", read_only=True),
    Field("Modified_Time", "Modified Time", "datetime", read_only=True),
    Field("Created_By", "Created By", "ownerlookup", read_only=True, lookup_module="users"),
    Field("Modified_By", "Modified By", "ownerlookup", read_only=True, lookup_module="users"),
)


@dataclass(frozen=True)
class Module:
    api_name: str
    singular_label: str
    plural_label: str
    sequence_number: int
    display_field: str
    fields: tuple[Field, ...]
    related_lists: dict[str, str] = field(default_factory=dict)  # related list -> lookup field in the child

    def field(self, api_name: str) -> Field | None:
        return next((f for f in self.all_fields if f.api_name == api_name), None)

    @property
    def all_fields(self) -> tuple[Field, ...]:
        return (*self.fields, *_SYSTEM_FIELD_DEFINITIONS)

    @property
    def id(self) -> str:
        return str(4150868000000002170 + self.sequence_number)


LEAD_SOURCES = ("Advertisement", "Cold Call", "Employee Referral", "Partner", "Web Download", "Trade Show")
DEAL_STAGES = ("Qualification", "Needs Analysis", "Proposal", "Negotiation", "Closed Won", "Closed Lost")

MODULES: dict[str, Module] = {
    module.api_name: module
    for module in (
        Module(
            "Leads",
            "Lead",
            "Leads",
            1,
            "Last_Name",
            (
                Field("First_Name", "First Name", "text", length=40),
                Field("Last_Name", "Last Name", "text", mandatory=True, length=80),
                Field("Full_Name", "Lead Name", "text", read_only=True),
                Field("Email", "Email", "email", length=100),
                Field("Company", "Company", "text", mandatory=True, length=200),
                Field("Phone", "Phone", "phone", length=30),
                Field(
                    "Lead_Status",
                    "Lead Status",
                    "picklist",
                    picklist=("New", "Contacted", "Qualified", "Lost"),
                ),
                Field("Lead_Source", "Lead Source", "picklist", picklist=LEAD_SOURCES),
            ),
        ),
        Module(
            "Contacts",
            "Contact",
            "Contacts",
            2,
            "Last_Name",
            (
                Field("First_Name", "First Name", "text", length=40),
                Field("Last_Name", "Last Name", "text", mandatory=True, length=80),
                Field("Full_Name", "Contact Name", "text", read_only=True),
                Field("Email", "Email", "email", length=100),
                Field("Phone", "Phone", "phone", length=30),
                Field("Title", "Title", "text", length=100),
                Field("Department", "Department", "text", length=30),
                Field("Account_Name", "Account Name", "lookup", lookup_module="Accounts"),
                Field("Lead_Source", "Lead Source", "picklist", picklist=LEAD_SOURCES),
                Field(
                    "Contact_Type", "Contact Type", "picklist", custom=True, picklist=("Staff", "Customer")
                ),
                Field("Synced_Jira_User", "Synced Jira User", "text", custom=True, length=128),
            ),
            {"Deals": "Contact_Name", "Cases": "Related_To"},
        ),
        Module(
            "Accounts",
            "Account",
            "Accounts",
            3,
            "Account_Name",
            (
                Field("Account_Name", "Account Name", "text", mandatory=True, length=200),
                Field("Website", "Website", "website", length=255),
                Field("Phone", "Phone", "phone", length=30),
                Field(
                    "Industry",
                    "Industry",
                    "picklist",
                    picklist=("Technology", "Manufacturing", "Retail", "Finance", "Healthcare"),
                ),
                Field(
                    "Account_Type", "Account Type", "picklist", picklist=("Customer", "Partner", "Prospect")
                ),
            ),
            {"Contacts": "Account_Name", "Deals": "Account_Name", "Cases": "Account_Name"},
        ),
        Module(
            "Deals",
            "Deal",
            "Deals",
            4,
            "Deal_Name",
            (
                Field("Deal_Name", "Deal Name", "text", mandatory=True, length=120),
                Field("Stage", "Stage", "picklist", mandatory=True, picklist=DEAL_STAGES),
                Field("Amount", "Amount", "currency", length=16),
                Field("Closing_Date", "Closing Date", "date"),
                Field("Account_Name", "Account Name", "lookup", lookup_module="Accounts"),
                Field("Contact_Name", "Contact Name", "lookup", lookup_module="Contacts"),
                Field("Jira_Issue_Key", "Jira Issue Key", "text", custom=True, length=64),
            ),
        ),
        Module(
            "Cases",
            "Case",
            "Cases",
            5,
            "Subject",
            (
                Field("Subject", "Subject", "text", mandatory=True, length=255),
                Field("Case_Number", "Case Number", "autonumber", read_only=True),
                Field("Status", "Status", "picklist", picklist=("New", "On Hold", "Escalated", "Closed")),
                Field("Priority", "Priority", "picklist", picklist=("High", "Medium", "Low")),
                Field("Case_Origin", "Case Origin", "picklist", picklist=("Email", "Phone", "Web")),
                Field("Type", "Type", "picklist", picklist=("Problem", "Feature Request", "Question")),
                Field("Description", "Description", "textarea", length=32000),
                Field("Email", "Email", "email", length=100),
                Field("Related_To", "Related To", "lookup", lookup_module="Contacts"),
                Field("Account_Name", "Account Name", "lookup", lookup_module="Accounts"),
                Field("Jira_Issue_Key", "Jira Issue Key", "text", custom=True, length=64),
            ),
        ),
    )
}

# Related lists every record module has besides the lookups above.
COMMON_RELATED_LISTS = ("Notes", "Attachments")


@dataclass(frozen=True)
class OwnList:
    """A related list whose rows are not another module's records found by a lookup: Zoho keeps them
    apart (a deal's stage history) or as a relation (a deal's contacts, each with its role)."""

    api_name: str
    display_label: str
    rows: Module  # the fields its rows have, which a read's ``fields`` may name
    module: str  # the module the metadata names for its rows


STAGE_HISTORY = Module(
    "Stage_History",
    "Stage History",
    "Stage History",
    6,
    "Stage",
    (
        Field("Stage", "Stage", "picklist", picklist=DEAL_STAGES),
        Field("Amount", "Amount", "currency", length=16),
        Field("Closing_Date", "Closing Date", "date"),
        Field("Probability", "Probability (%)", "integer"),
        Field("Expected_Revenue", "Expected Revenue", "currency", length=16),
        Field("Duration_Days", "Stage Duration (Calendar Days)", "integer"),
    ),
)
CONTACT_ROLES = Module(
    "Contact_Roles",
    "Contact Role",
    "Contact Roles",
    7,
    "Full_Name",
    (*MODULES["Contacts"].fields, Field("Contact_Role", "Contact Role", "lookup")),
)
OWN_LISTS: dict[str, dict[str, OwnList]] = {
    "Deals": {
        "Stage_History": OwnList("Stage_History", "Stage History", STAGE_HISTORY, "Stage_History"),
        "Contact_Roles": OwnList("Contact_Roles", "Contact Roles", CONTACT_ROLES, "Contacts"),
    }
}


def stable_id(*parts: str) -> str:
    digest = int(hashlib.blake2b(":".join(parts).encode(), digest_size=6).hexdigest(), 16)
    return str(4150868000000000000 + digest % 1_000_000_000)


def _minified_module(api_name: str | None) -> dict[str, Any]:
    if api_name is None:
        return {"api_name": None, "id": None}
    module = MODULES.get(api_name)
    return {"api_name": api_name, "id": module.id if module else stable_id("module", api_name)}


def field_description(module: Module, spec: Field, sequence: int) -> dict[str, Any]:
    """A field as ``GET /crm/v8/settings/fields`` describes it, with every property the spec requires."""
    field_id = stable_id(module.api_name, spec.api_name)
    lookup = None
    if spec.data_type == "lookup" and spec.lookup_module:
        lookup = {
            "display_label": spec.label,
            "api_name": spec.api_name,
            "module": _minified_module(spec.lookup_module),
            "id": stable_id("lookup", module.api_name, spec.api_name),
            "query_details": {},
            "revalidate_filter_during_edit": False,
            "show_fields": [],
        }
    picklist = [
        {
            "display_value": value,
            "actual_value": value,
            "id": stable_id(module.api_name, spec.api_name, value),
            "sequence_number": index + 1,
            "type": "used",
            "colour_code": None,
            "reference_value": value,
        }
        for index, value in enumerate(spec.picklist)
    ]
    return {
        "associated_module": _minified_module(None),
        "data_type": spec.data_type,
        "operation_type": {
            "web_update": not spec.read_only,
            "api_create": not spec.read_only,
            "web_create": not spec.read_only,
            "api_update": not spec.read_only,
        },
        "system_mandatory": spec.mandatory,
        "webhook": True,
        "sequence_number": sequence,
        "blueprint_supported": not spec.read_only,
        "virtual_field": False,
        "field_read_only": spec.read_only,
        "customizable_properties": [],
        "read_only": spec.read_only,
        "custom_field": spec.custom,
        "businesscard_supported": True,
        "filterable": True,
        "visible": True,
        "available_in_user_layout": True,
        "display_field": spec.api_name == module.display_field,
        "pick_list_values_sorted_lexically": False,
        "sortable": True,
        "layout_associations": [
            {"api_name": "Standard", "name": "Standard", "id": stable_id("layout", module.api_name)}
        ],
        "separator": False,
        "searchable": True,
        "enable_colour_code": False,
        "mass_update": not spec.read_only,
        "json_type": spec.json_type,
        "created_source": "custom" if spec.custom else "default",
        "type": "used",
        "display_label": spec.label,
        "column_name": spec.api_name.upper(),
        "api_name": spec.api_name,
        "display_type": -1,
        "ui_type": 1,
        "colour_code_enabled_by_system": False,
        "length": spec.length,
        "decimal_place": 2 if spec.data_type == "currency" else None,
        "quick_sequence_number": str(sequence),
        "email_parser": {"fields_update_supported": False, "record_operations_supported": False},
        "rollup_summary": None,
        "refer_from_field": {"id": None, "api_name": None},
        "created_time": None,
        "modified_time": None,
        "show_type": 7,
        "category": 0,
        "id": field_id,
        "multi_module_lookup": None,
        "sharing_properties": {
            "scheduler_status": "completed",
            "share_preference_enabled": False,
            "share_permission": "read-write",
        },
        "currency": {"rounding_option": "normal", "precision": 2} if spec.data_type == "currency" else None,
        "file_upolad_optionlist": [],
        "lookup": lookup,
        "profiles": [{"name": "Administrator", "id": "4150868000000026011", "permission_type": "read_write"}],
        "view_type": {
            "view": True,
            "edit": not spec.read_only,
            "quick_create": spec.mandatory,
            "create": True,
        },
        "unique": None,
        "sub_module": _minified_module(None),
        "subform": None,
        "external": {"show": False, "type": None},
        "formula": None,
        "private": {"restricted": False, "type": None, "export": True},
        "convert_mapping": {},
        "multiselectlookup": None,
        "multiuserlookup": {
            "display_label": None,
            "linking_module": _minified_module(None),
            "connected_module": _minified_module(None),
            "lookup_apiname": None,
            "api_name": None,
            "connectedfield_apiname": None,
            "connectedlookup_apiname": None,
            "id": None,
            "record_access": None,
        },
        "autonumber": {"starting_number_length": 0, "prefix": None, "suffix": None, "start_number": None},
        "auto_number": {"prefix": "", "suffix": "", "start_number": 1}
        if spec.data_type == "autonumber"
        else None,
        "pick_list_values": picklist,
        "crypt": {"mode": None, "status": None},
        "tooltip": {"name": "", "value": ""},
        "history_tracking": {"module": {}, "duration_configured_field": _minified_module(None)},
        "association_details": {
            "related_field": _minified_module(None),
            "lookup_field": _minified_module(None),
        },
        "allowed_modules": [],
        "additional_column": None,
        "field_label": spec.label,
        "common.picklist": None,
        "hipaa_compliance_enabled": False,
        "hipaa_compliance": {"restricted_in_export": None, "restricted": None},
        "_update_existing_records": False,
        "number_separator": spec.data_type == "currency",
        "textarea": {"type": "large"} if spec.data_type == "textarea" else {},
        "static_field": False,
    }


def module_description(module: Module) -> dict[str, Any]:
    """A module as ``GET /crm/v8/settings/modules`` describes it, with every property the spec requires."""
    return {
        "common.search_supported": True,
        "deletable": True,
        "description": None,
        "creatable": True,
        "recycle_bin_on_delete": True,
        "inventory_template_supported": False,
        "modified_time": None,
        "plural_label": module.plural_label,
        "presence_sub_menu": False,
        "triggers_supported": True,
        "id": module.id,
        "chart_view": False,
        "isBlueprintSupported": True,
        "visibility": 1,
        "visible": True,
        "convertable": module.api_name == "Leads",
        "editable": True,
        "emailTemplate_support": True,
        "email_parser_supported": False,
        "filter_supported": True,
        "show_as_tab": True,
        "web_link": None,
        "sequence_number": module.sequence_number,
        "singular_label": module.singular_label,
        "viewable": True,
        "api_supported": True,
        "api_name": module.api_name,
        "quick_create": True,
        "generated_type": "default",
        "feeds_required": False,
        "scoring_supported": True,
        "webform_supported": True,
        "arguments": [],
        "module_name": module.plural_label,
        "chart_view_supported": True,
        "profile_count": 1,
        "business_card_field_limit": 5,
        "track_current_data": False,
        "modified_by": dict(ADMIN_USER),
        "profiles": [{"name": "Administrator", "id": "4150868000000026011"}],
        "parent_module": None,
        "activity_badge": None,
        "$field_states": [],
        "business_card_fields": [],
        "per_page": 200,
        "$properties": [],
        "$on_demand_properties": [],
        "search_layout_fields": [module.display_field],
        "kanban_view_supported": True,
        "lookup_field_properties": {
            "fields": [
                {
                    "sequence_number": 1,
                    "api_name": module.display_field,
                    "id": stable_id(module.api_name, module.display_field),
                }
            ]
        },
        "kanban_view": False,
        "related_lists": related_list_descriptions(module),
        "filter_status": True,
        "related_list_properties": {
            "sort_by": {"api_name": None, "id": None},
            "fields": [module.display_field],
            "sort_order": None,
        },
        "display_field": {
            "api_name": module.display_field,
            "id": stable_id(module.api_name, module.display_field),
        },
        "layouts": [{"name": "Standard", "id": stable_id("layout", module.api_name)}],
        "fields": [],
        "custom_view": None,
        "zia_view": False,
        "default_mapping_fields": [],
        "layout_associations": [],
        "status": "visible",
    }


def related_list_descriptions(module: Module) -> list[dict[str, Any]]:
    """The module's related lists as ``GET /crm/v8/settings/related_lists`` describes them: other
    modules' records by lookup, its own lists, then notes and attachments."""
    own = OWN_LISTS.get(module.api_name, {})
    lists = [
        *((name, name.replace("_", " "), name, MODULES[name].display_field) for name in module.related_lists),
        *((o.api_name, o.display_label, o.module, o.rows.display_field) for o in own.values()),
        *((name, name, name, None) for name in COMMON_RELATED_LISTS),
    ]
    return [
        {
            "id": stable_id("related_list", module.api_name, api_name),
            "sequence_number": str(sequence),
            "display_label": label,
            "api_name": api_name,
            "module": _minified_module(rows_module),
            "name": api_name,
            "action": None,
            "href": f"{module.api_name}/{{ID}}/{api_name}",
            "type": "default",
            "visible": True,
            "customize_sort": False,
            "customize_fields": False,
            "customize_display_label": False,
            "sort_by": {"api_name": None, "id": None},
            "sort_order": None,
            "fields": [] if shown is None else [{"api_name": shown, "id": stable_id(rows_module, shown)}],
            "status": "visible",
        }
        for sequence, (api_name, label, rows_module, shown) in enumerate(lists, start=1)
    ]
