"""The sObjects the Salesforce emulator knows: their fields, key prefixes and relationships.

Field names follow Salesforce's object reference (api-contracts §4); ``Synced_Jira_User__c`` is
the custom field a CRM-to-Jira contact sync fills in, ``Jira_Issue_Key__c`` the one a Case linked
to a Jira issue gets. The schema drives describe, field checks
on writes and queries, and parent-relationship lookups such as ``Account.Name``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # id, string, email, phone, textarea, picklist, boolean, datetime, date, reference, base64, int
    label: str
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    length: int = 0
    reference_to: str | None = None
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """Required on create: not nillable, yet something the caller must give (no default)."""
        return self.createable and not self.nillable and self.type not in ("boolean", "picklist")


@dataclass(frozen=True)
class SObject:
    name: str
    label: str
    key_prefix: str
    fields: tuple[Field, ...]

    @property
    def label_plural(self) -> str:
        """Every object here makes its plural with an "s" ("Case Comments")."""
        return self.label + "s"

    def field(self, name: str) -> Field | None:
        """Field names are case-insensitive in SOQL and in write bodies."""
        return _by_name(self).get(name.casefold())

    def relationship(self, name: str) -> Field | None:
        """The reference field behind a relationship name (``Account`` -> ``AccountId``)."""
        wanted = name.casefold()
        return next((f for f in self.fields if (f.relationship_name or "").casefold() == wanted), None)


_INDEX: dict[str, dict[str, Field]] = {}


def _by_name(sobject: SObject) -> dict[str, Field]:
    if sobject.name not in _INDEX:
        _INDEX[sobject.name] = {f.name.casefold(): f for f in sobject.fields}
    return _INDEX[sobject.name]


def _read_only(name: str, type_: str, label: str, **options: object) -> Field:
    return Field(name, type_, label, createable=False, updateable=False, **options)  # type: ignore[arg-type]


def _system_fields() -> tuple[Field, ...]:
    return (
        _read_only("Id", "id", "Record ID", nillable=False, length=18),
        _read_only("IsDeleted", "boolean", "Deleted", nillable=False),
        _read_only("CreatedDate", "datetime", "Created Date", nillable=False),
        _read_only("CreatedById", "reference", "Created By ID", reference_to="User", relationship_name="CreatedBy"),
        _read_only("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
        _read_only(
            "LastModifiedById", "reference", "Last Modified By ID", reference_to="User",
            relationship_name="LastModifiedBy",
        ),
        _read_only("SystemModstamp", "datetime", "System Modstamp", nillable=False),
    )  # fmt: skip


def _owner() -> Field:
    return Field("OwnerId", "reference", "Owner ID", reference_to="User", relationship_name="Owner")


CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CLOSED_STATUSES = frozenset({"Closed"})

USER = SObject(
    "User",
    "User",
    "005",
    (
        *_system_fields(),
        _read_only("Username", "string", "Username", length=80),
        _read_only("Name", "string", "Full Name", length=121),
        _read_only("Email", "email", "Email", length=128),
        _read_only("IsActive", "boolean", "Active"),
    ),
)

ACCOUNT = SObject(
    "Account",
    "Account",
    "001",
    (
        *_system_fields(),
        Field("Name", "string", "Account Name", nillable=False, length=255),
        Field("Website", "string", "Website", length=255),
        Field("Phone", "phone", "Account Phone", length=40),
        Field(
            "Industry", "picklist", "Industry", picklist=("Technology", "Retail", "Manufacturing", "Finance")
        ),
        _owner(),
    ),
)

CONTACT = SObject(
    "Contact",
    "Contact",
    "003",
    (
        *_system_fields(),
        Field("FirstName", "string", "First Name", length=40),
        Field("LastName", "string", "Last Name", nillable=False, length=80),
        _read_only("Name", "string", "Full Name", length=121),
        Field("Email", "email", "Email", length=80),
        Field("Phone", "phone", "Business Phone", length=40),
        Field("MobilePhone", "phone", "Mobile Phone", length=40),
        Field("Title", "string", "Title", length=128),
        Field("Department", "string", "Department", length=80),
        Field("AccountId", "reference", "Account ID", reference_to="Account", relationship_name="Account"),
        _owner(),
        Field("Synced_Jira_User__c", "string", "Synced Jira User", length=255),
    ),
)

CASE = SObject(
    "Case",
    "Case",
    "500",
    (
        *_system_fields(),
        _read_only("CaseNumber", "string", "Case Number", length=30),
        Field("Subject", "string", "Subject", length=255),
        Field("Description", "textarea", "Description", length=32000),
        Field("Status", "picklist", "Status", picklist=CASE_STATUSES),
        Field("Priority", "picklist", "Priority", picklist=("High", "Medium", "Low")),
        Field("Origin", "picklist", "Case Origin", picklist=("Phone", "Email", "Web")),
        Field("Type", "picklist", "Case Type", picklist=("Question", "Problem", "Feature Request")),
        Field(
            "Reason",
            "picklist",
            "Case Reason",
            picklist=("Installation", "Performance", "Breakdown", "Other"),
        ),
        Field("ContactId", "reference", "Contact ID", reference_to="Contact", relationship_name="Contact"),
        Field("AccountId", "reference", "Account ID", reference_to="Account", relationship_name="Account"),
        _owner(),
        Field("SuppliedEmail", "email", "Web Email", length=80),
        Field("SuppliedName", "string", "Web Name", length=80),
        _read_only("ContactEmail", "email", "Contact Email", length=80),
        _read_only("IsClosed", "boolean", "Closed"),
        _read_only("ClosedDate", "datetime", "Closed Date"),
        Field("Jira_Issue_Key__c", "string", "Jira Issue Key", length=64),
    ),
)

CASE_COMMENT = SObject(
    "CaseComment",
    "Case Comment",
    "00a",
    (
        *_system_fields(),
        Field(
            "ParentId", "reference", "Parent Case ID", updateable=False, nillable=False,
            reference_to="Case", relationship_name="Parent",
        ),
        Field("CommentBody", "textarea", "Body", length=4000),
        Field("IsPublished", "boolean", "Published"),
    ),
)  # fmt: skip

ATTACHMENT = SObject(
    "Attachment",
    "Attachment",
    "00P",
    (
        *_system_fields(),
        Field(
            "ParentId", "reference", "Parent ID", updateable=False, nillable=False,
            reference_to="Case", relationship_name="Parent",
        ),
        Field("Name", "string", "File Name", nillable=False, length=255),
        Field("ContentType", "string", "Content Type", length=120),
        _read_only("BodyLength", "int", "Body Length"),
        Field("Body", "base64", "Body", nillable=False),
        Field("Description", "textarea", "Description", length=500),
        Field("IsPrivate", "boolean", "Private"),
    ),
)  # fmt: skip


def _file_fields() -> tuple[Field, ...]:
    """What Salesforce works out from an uploaded file, on the version and on its document."""
    return (
        _read_only("ContentSize", "int", "Size"),
        _read_only("FileType", "string", "File Type", length=20),
        _read_only("FileExtension", "string", "File Extension", length=40),
    )


# Salesforce Files (what Lightning shows on a record): a ContentDocument is the file, each upload of
# its content a ContentVersion, and each ContentDocumentLink shares it with a record or a user.
CONTENT_VERSION = SObject(
    "ContentVersion",
    "Content Version",
    "068",
    (
        *_system_fields(),
        Field("Title", "string", "Title", length=255),
        Field("PathOnClient", "string", "Path On Client", updateable=False, nillable=False, length=500),
        Field("VersionData", "base64", "Version Data", updateable=False, nillable=False),
        *_file_fields(),
        _read_only("Checksum", "string", "Checksum", length=50),
        _read_only("VersionNumber", "string", "Version Number", length=20),
        _read_only("IsLatest", "boolean", "Is Latest"),
        Field(
            "ContentDocumentId", "reference", "ContentDocument ID", updateable=False,
            reference_to="ContentDocument", relationship_name="ContentDocument",
        ),
        Field(
            "FirstPublishLocationId", "reference", "First Publish Location ID", updateable=False,
            reference_to="Case", relationship_name="FirstPublishLocation",
        ),
        Field("Description", "textarea", "Description", length=1000),
        Field("ReasonForChange", "string", "Reason For Change", length=1000),
        _owner(),
    ),
)  # fmt: skip

CONTENT_DOCUMENT = SObject(
    "ContentDocument",
    "Content Document",
    "069",
    (
        *_system_fields(),
        Field("Title", "string", "Title", createable=False, length=255),
        _read_only(
            "LatestPublishedVersionId", "reference", "Latest Published Version ID",
            reference_to="ContentVersion", relationship_name="LatestPublishedVersion",
        ),
        *_file_fields(),
        _owner(),
    ),
)  # fmt: skip

CONTENT_DOCUMENT_LINK = SObject(
    "ContentDocumentLink",
    "Content Document Link",
    "06A",
    (
        _read_only("Id", "id", "Record ID", nillable=False, length=18),
        _read_only("IsDeleted", "boolean", "Deleted", nillable=False),
        _read_only("SystemModstamp", "datetime", "System Modstamp", nillable=False),
        Field(
            "ContentDocumentId", "reference", "ContentDocument ID", updateable=False, nillable=False,
            reference_to="ContentDocument", relationship_name="ContentDocument",
        ),
        Field(
            "LinkedEntityId", "reference", "Linked Entity ID", updateable=False, nillable=False,
            reference_to="Case", relationship_name="LinkedEntity",
        ),
        Field("ShareType", "picklist", "Share Type", picklist=("V", "C", "I")),
        Field("Visibility", "picklist", "Visibility", picklist=("AllUsers", "InternalUsers", "SharedUsers")),
    ),
)  # fmt: skip

# Reference fields that may point at a record of any type; ``reference_to`` names the usual one.
POLYMORPHIC = frozenset(
    {
        ("Attachment", "ParentId"),
        ("ContentVersion", "FirstPublishLocationId"),
        ("ContentDocumentLink", "LinkedEntityId"),
    }
)

SOBJECTS: dict[str, SObject] = {
    s.name.casefold(): s
    for s in (
        USER, ACCOUNT, CONTACT, CASE, CASE_COMMENT, ATTACHMENT,
        CONTENT_VERSION, CONTENT_DOCUMENT, CONTENT_DOCUMENT_LINK,
    )
}  # fmt: skip
BY_KEY_PREFIX: dict[str, SObject] = {s.key_prefix: s for s in SOBJECTS.values()}


def sobject_named(name: str) -> SObject | None:
    return SOBJECTS.get(name.casefold())
