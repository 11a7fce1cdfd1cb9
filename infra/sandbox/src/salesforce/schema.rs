//! The org's sObjects and their fields as describe reports them: what may be queried,
//! created, updated or merged, and each field's type, length and references.

use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    String,
    Email,
    Phone,
    Picklist,
    Date,
    DateTime,
    Currency,
    Double,
    Boolean,
    Reference,
    TextArea,
    Url,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Picklist => "picklist",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Currency => "currency",
            FieldType::Double => "double",
            FieldType::Boolean => "boolean",
            FieldType::Reference => "reference",
            FieldType::TextArea => "textarea",
            FieldType::Url => "url",
        }
    }

    pub fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Date => "xsd:date",
            FieldType::DateTime => "xsd:dateTime",
            FieldType::Currency | FieldType::Double => "xsd:double",
            FieldType::Boolean => "xsd:boolean",
            _ => "xsd:string",
        }
    }

    /// Compared case-insensitively and matched with LIKE, as Salesforce's text fields are.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Picklist
                | FieldType::TextArea
                | FieldType::Url
        )
    }
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: &'static str,
    pub label: &'static str,
    pub ty: FieldType,
    pub length: u32,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub unique: bool,
    pub calculated: bool,
    /// Set by the server on create when the caller leaves it out (so not "required").
    pub defaulted: bool,
    pub name_field: bool,
    pub reference_to: &'static [&'static str],
    pub relationship: Option<&'static str>,
    pub picklist: &'static [&'static str],
    pub default_value: Option<&'static str>,
}

impl FieldDef {
    fn new(name: &'static str, label: &'static str, ty: FieldType) -> Self {
        let length = match ty {
            FieldType::Id | FieldType::Reference => 18,
            FieldType::Phone => 40,
            FieldType::Email => 80,
            FieldType::TextArea => 32_000,
            FieldType::String | FieldType::Picklist | FieldType::Url => 255,
            _ => 0,
        };
        Self {
            name,
            label,
            ty,
            length,
            nillable: true,
            createable: true,
            updateable: true,
            unique: false,
            calculated: false,
            defaulted: false,
            name_field: false,
            reference_to: &[],
            relationship: None,
            picklist: &[],
            default_value: None,
        }
    }

    fn len(mut self, n: u32) -> Self {
        self.length = n;
        self
    }

    /// Maintained by Salesforce: never createable or updateable.
    fn system(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self
    }

    fn required(mut self) -> Self {
        self.nillable = false;
        self
    }

    fn defaulted(mut self) -> Self {
        self.nillable = false;
        self.defaulted = true;
        self
    }

    fn refs(mut self, to: &'static [&'static str], relationship: &'static str) -> Self {
        self.reference_to = to;
        self.relationship = Some(relationship);
        self
    }

    fn picklist(mut self, values: &'static [&'static str], default: Option<&'static str>) -> Self {
        self.picklist = values;
        self.default_value = default;
        if default.is_some() {
            self.defaulted = true;
        }
        self
    }

    fn name_field(mut self) -> Self {
        self.name_field = true;
        self
    }

    /// True when a create must carry this field.
    pub fn required_on_create(&self) -> bool {
        !self.nillable && self.createable && !self.defaulted
    }
}

#[derive(Debug)]
pub struct ObjectDef {
    pub name: &'static str,
    pub label: &'static str,
    pub label_plural: &'static str,
    pub key_prefix: &'static str,
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    pub mergeable: bool,
    /// Child relationships describe lists: (child object, field, relationship name).
    pub children: &'static [(&'static str, &'static str, &'static str)],
    pub fields: Vec<FieldDef>,
}

impl ObjectDef {
    /// Index of a field by name, case-insensitively (as Salesforce matches field names).
    pub fn index(&self, name: &str) -> Option<usize> {
        // Internal callers use canonical names: try an exact match before folding case.
        self.fields.iter().position(|f| f.name == name).or_else(|| {
            self.fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(name))
        })
    }

    #[cfg(test)]
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.index(name).map(|i| &self.fields[i])
    }

    /// Whether records carry `IsDeleted` (User does not: users are deactivated, not deleted).
    pub fn soft_deletes(&self) -> bool {
        self.index("IsDeleted").is_some()
    }
}

pub const ACCOUNT: usize = 0;
pub const CONTACT: usize = 1;
pub const LEAD: usize = 2;
pub const OPPORTUNITY: usize = 3;
pub const USER: usize = 4;

/// The one status a lead takes when converted (a LeadStatus with IsConverted = true).
pub const CONVERTED_STATUS: &str = "Closed - Converted";
pub const LEAD_STATUSES: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    CONVERTED_STATUS,
    "Closed - Not Converted",
];
pub const STAGES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];
const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Other",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
];
const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
const ACCOUNT_TYPES: &[&str] = &[
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
];

use FieldType as T;

/// Id first (queries rely on index 0 being Id), then the audit fields every record has.
fn head(mergeable_as: Option<&'static [&'static str]>) -> Vec<FieldDef> {
    let mut f = vec![
        FieldDef::new("Id", "Record ID", T::Id).system().required(),
        FieldDef::new("IsDeleted", "Deleted", T::Boolean)
            .system()
            .defaulted(),
    ];
    if let Some(to) = mergeable_as {
        f.push(
            FieldDef::new("MasterRecordId", "Master Record ID", T::Reference)
                .system()
                .refs(to, "MasterRecord"),
        );
    }
    f
}

fn audit() -> Vec<FieldDef> {
    vec![
        FieldDef::new("OwnerId", "Owner ID", T::Reference)
            .defaulted()
            .refs(&["User"], "Owner"),
        FieldDef::new("CreatedDate", "Created Date", T::DateTime)
            .system()
            .defaulted(),
        FieldDef::new("CreatedById", "Created By ID", T::Reference)
            .system()
            .defaulted()
            .refs(&["User"], "CreatedBy"),
        FieldDef::new("LastModifiedDate", "Last Modified Date", T::DateTime)
            .system()
            .defaulted(),
        FieldDef::new("LastModifiedById", "Last Modified By ID", T::Reference)
            .system()
            .defaulted()
            .refs(&["User"], "LastModifiedBy"),
        FieldDef::new("SystemModstamp", "System Modstamp", T::DateTime)
            .system()
            .defaulted(),
    ]
}

fn account() -> ObjectDef {
    let mut fields = head(Some(&["Account"]));
    fields.extend([
        FieldDef::new("Name", "Account Name", T::String)
            .required()
            .name_field(),
        FieldDef::new("Type", "Account Type", T::Picklist)
            .len(255)
            .picklist(ACCOUNT_TYPES, None),
        FieldDef::new("Industry", "Industry", T::Picklist).picklist(INDUSTRIES, None),
        FieldDef::new("Website", "Website", T::Url),
        FieldDef::new("Phone", "Account Phone", T::Phone),
        FieldDef::new("BillingStreet", "Billing Street", T::TextArea).len(255),
        FieldDef::new("BillingCity", "Billing City", T::String).len(40),
        FieldDef::new("BillingState", "Billing State/Province", T::String).len(80),
        FieldDef::new("BillingPostalCode", "Billing Zip/Postal Code", T::String).len(20),
        FieldDef::new("BillingCountry", "Billing Country", T::String).len(80),
        FieldDef::new("AnnualRevenue", "Annual Revenue", T::Currency),
        FieldDef::new("Description", "Account Description", T::TextArea),
    ]);
    fields.extend(audit());
    ObjectDef {
        name: "Account",
        label: "Account",
        label_plural: "Accounts",
        key_prefix: "001",
        createable: true,
        updateable: true,
        deletable: true,
        mergeable: true,
        children: &[
            ("Contact", "AccountId", "Contacts"),
            ("Opportunity", "AccountId", "Opportunities"),
        ],
        fields,
    }
}

fn contact() -> ObjectDef {
    let mut fields = head(Some(&["Contact"]));
    fields.extend([
        FieldDef::new("AccountId", "Account ID", T::Reference).refs(&["Account"], "Account"),
        FieldDef::new("FirstName", "First Name", T::String).len(40),
        FieldDef::new("LastName", "Last Name", T::String)
            .len(80)
            .required(),
        FieldDef::new("Name", "Full Name", T::String)
            .len(121)
            .system()
            .name_field(),
        FieldDef::new("Email", "Email", T::Email),
        FieldDef::new("Phone", "Business Phone", T::Phone),
        FieldDef::new("MobilePhone", "Mobile Phone", T::Phone),
        FieldDef::new("Title", "Title", T::String).len(128),
        FieldDef::new("Department", "Department", T::String).len(80),
        FieldDef::new("Birthdate", "Birthdate", T::Date),
        FieldDef::new("MailingStreet", "Mailing Street", T::TextArea).len(255),
        FieldDef::new("MailingCity", "Mailing City", T::String).len(40),
        FieldDef::new("MailingState", "Mailing State/Province", T::String).len(80),
        FieldDef::new("MailingPostalCode", "Mailing Zip/Postal Code", T::String).len(20),
        FieldDef::new("MailingCountry", "Mailing Country", T::String).len(80),
        FieldDef::new("LeadSource", "Lead Source", T::Picklist).picklist(LEAD_SOURCES, None),
        FieldDef::new("Description", "Contact Description", T::TextArea),
    ]);
    fields.extend(audit());
    ObjectDef {
        name: "Contact",
        label: "Contact",
        label_plural: "Contacts",
        key_prefix: "003",
        createable: true,
        updateable: true,
        deletable: true,
        mergeable: true,
        children: &[],
        fields,
    }
}

fn lead() -> ObjectDef {
    let mut fields = head(Some(&["Lead"]));
    fields.extend([
        FieldDef::new("FirstName", "First Name", T::String).len(40),
        FieldDef::new("LastName", "Last Name", T::String)
            .len(80)
            .required(),
        FieldDef::new("Name", "Full Name", T::String)
            .len(121)
            .system()
            .name_field(),
        FieldDef::new("Company", "Company", T::String).required(),
        FieldDef::new("Title", "Title", T::String).len(128),
        FieldDef::new("Email", "Email", T::Email),
        FieldDef::new("Phone", "Phone", T::Phone),
        FieldDef::new("MobilePhone", "Mobile Phone", T::Phone),
        FieldDef::new("Website", "Website", T::Url),
        FieldDef::new("Street", "Street", T::TextArea).len(255),
        FieldDef::new("City", "City", T::String).len(40),
        FieldDef::new("State", "State/Province", T::String).len(80),
        FieldDef::new("PostalCode", "Zip/Postal Code", T::String).len(20),
        FieldDef::new("Country", "Country", T::String).len(80),
        FieldDef::new("Industry", "Industry", T::Picklist).picklist(INDUSTRIES, None),
        FieldDef::new("LeadSource", "Lead Source", T::Picklist).picklist(LEAD_SOURCES, None),
        FieldDef::new("Status", "Status", T::Picklist)
            .len(255)
            .picklist(LEAD_STATUSES, Some(LEAD_STATUSES[0])),
        FieldDef::new("Description", "Description", T::TextArea),
        FieldDef::new("IsConverted", "Converted", T::Boolean)
            .system()
            .defaulted(),
        FieldDef::new("ConvertedDate", "Converted Date", T::Date).system(),
        FieldDef::new("ConvertedAccountId", "Converted Account ID", T::Reference)
            .system()
            .refs(&["Account"], "ConvertedAccount"),
        FieldDef::new("ConvertedContactId", "Converted Contact ID", T::Reference)
            .system()
            .refs(&["Contact"], "ConvertedContact"),
        FieldDef::new(
            "ConvertedOpportunityId",
            "Converted Opportunity ID",
            T::Reference,
        )
        .system()
        .refs(&["Opportunity"], "ConvertedOpportunity"),
    ]);
    fields.extend(audit());
    ObjectDef {
        name: "Lead",
        label: "Lead",
        label_plural: "Leads",
        key_prefix: "00Q",
        createable: true,
        updateable: true,
        deletable: true,
        mergeable: true,
        children: &[],
        fields,
    }
}

fn opportunity() -> ObjectDef {
    // Opportunities are not mergeable, so they have no MasterRecordId (as on a real org).
    let mut fields = head(None);
    fields.extend([
        FieldDef::new("AccountId", "Account ID", T::Reference).refs(&["Account"], "Account"),
        FieldDef::new("Name", "Name", T::String)
            .len(120)
            .required()
            .name_field(),
        FieldDef::new("Amount", "Amount", T::Currency),
        FieldDef::new("StageName", "Stage", T::Picklist)
            .required()
            .picklist(STAGES, None),
        FieldDef::new("CloseDate", "Close Date", T::Date).required(),
        FieldDef::new("Probability", "Probability (%)", T::Double),
        FieldDef::new("LeadSource", "Lead Source", T::Picklist).picklist(LEAD_SOURCES, None),
        FieldDef::new("Description", "Description", T::TextArea),
    ]);
    fields.extend(audit());
    ObjectDef {
        name: "Opportunity",
        label: "Opportunity",
        label_plural: "Opportunities",
        key_prefix: "006",
        createable: true,
        updateable: true,
        deletable: true,
        mergeable: false,
        children: &[],
        fields,
    }
}

fn user() -> ObjectDef {
    let fields = vec![
        FieldDef::new("Id", "User ID", T::Id).system().required(),
        FieldDef::new("Username", "Username", T::String)
            .len(80)
            .required(),
        FieldDef::new("FirstName", "First Name", T::String).len(40),
        FieldDef::new("LastName", "Last Name", T::String)
            .len(80)
            .required(),
        FieldDef::new("Name", "Full Name", T::String)
            .len(121)
            .system()
            .name_field(),
        FieldDef::new("Alias", "Alias", T::String).len(8).required(),
        FieldDef::new("Email", "Email", T::Email)
            .len(128)
            .required(),
        FieldDef::new("IsActive", "Active", T::Boolean).defaulted(),
        FieldDef::new("Title", "Title", T::String).len(80),
        FieldDef::new("CreatedDate", "Created Date", T::DateTime)
            .system()
            .defaulted(),
        FieldDef::new("LastModifiedDate", "Last Modified Date", T::DateTime)
            .system()
            .defaulted(),
        FieldDef::new("SystemModstamp", "System Modstamp", T::DateTime)
            .system()
            .defaulted(),
    ];
    // Users are managed in Setup, not through this API's writes.
    let mut u = ObjectDef {
        name: "User",
        label: "User",
        label_plural: "Users",
        key_prefix: "005",
        createable: false,
        updateable: false,
        deletable: false,
        mergeable: false,
        children: &[],
        fields,
    };
    for f in &mut u.fields {
        f.createable = false;
        f.updateable = false;
    }
    u
}

static OBJECTS: LazyLock<Vec<ObjectDef>> =
    LazyLock::new(|| vec![account(), contact(), lead(), opportunity(), user()]);

/// Every sObject of the org; positions are the `ACCOUNT`… constants.
pub fn objects() -> &'static [ObjectDef] {
    &OBJECTS
}

/// An sObject by API name, case-insensitively, with its position.
pub fn object(name: &str) -> Option<(usize, &'static ObjectDef)> {
    objects()
        .iter()
        .enumerate()
        .find(|(_, o)| o.name.eq_ignore_ascii_case(name))
}

/// The sObject an id belongs to, by key prefix.
pub fn object_of_id(id: &str) -> Option<(usize, &'static ObjectDef)> {
    let prefix = super::ids::key_prefix(id);
    objects()
        .iter()
        .enumerate()
        .find(|(_, o)| o.key_prefix == prefix)
}

/// `(table, def)` of a known position (positions come from this module, so always valid).
pub fn def(table: usize) -> &'static ObjectDef {
    objects().get(table).unwrap_or_else(|| &objects()[ACCOUNT])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_first_and_positions_match() {
        for (i, o) in objects().iter().enumerate() {
            assert_eq!(o.fields[0].name, "Id", "{}", o.name);
            assert_eq!(object(o.name).map(|(j, _)| j), Some(i));
        }
        assert_eq!(def(CONTACT).name, "Contact");
        assert_eq!(def(USER).name, "User");
        assert!(
            def(LEAD)
                .field("company")
                .is_some_and(FieldDef::required_on_create)
        );
        assert!(
            !def(LEAD)
                .field("Status")
                .is_some_and(FieldDef::required_on_create)
        );
        assert!(
            !def(CONTACT)
                .field("OwnerId")
                .is_some_and(FieldDef::required_on_create)
        );
    }
}
