//! The SOAP (partner API) half of the connector: `merge` and `convertLead` envelopes with
//! every value escaped, and a small tree reader over quick-xml for results and faults.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::super::{CrmError, CrmResult, LeadConvert, RecordError};

/// Deepest element nesting accepted from the CRM (its answers are five or six deep).
const MAX_DEPTH: usize = 64;

/// Text for an XML element or attribute: markup characters as entities, and the characters
/// XML 1.0 cannot carry at all (most C0 controls, U+FFFE/U+FFFF) dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A raw CR would be normalised away by the reader.
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A whole envelope around `body`, authorized by the OAuth access token as session id.
pub fn envelope(session_id: &str, body: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/""#,
            r#" xmlns:sf="urn:partner.soap.sforce.com" xmlns:so="urn:sobject.partner.soap.sforce.com""#,
            r#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            "<soapenv:Header><sf:SessionHeader><sf:sessionId>{}</sf:sessionId></sf:SessionHeader></soapenv:Header>",
            "<soapenv:Body>{}</soapenv:Body></soapenv:Envelope>"
        ),
        escape(session_id),
        body
    )
}

/// One merge request: `duplicates` (one or two) merged into `master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    pub master: String,
    pub duplicates: Vec<String>,
}

pub fn merge_body(object: &str, requests: &[MergeRequest]) -> String {
    let mut b = String::from("<sf:merge>");
    for r in requests {
        b.push_str("<sf:request><sf:masterRecord><so:type>");
        b.push_str(&escape(object));
        b.push_str("</so:type><so:Id>");
        b.push_str(&escape(&r.master));
        b.push_str("</so:Id></sf:masterRecord>");
        for d in &r.duplicates {
            b.push_str("<sf:recordToMergeIds>");
            b.push_str(&escape(d));
            b.push_str("</sf:recordToMergeIds>");
        }
        b.push_str("</sf:request>");
    }
    b.push_str("</sf:merge>");
    b
}

/// `convertLead`, fields in the WSDL's sequence order (SOAP servers may insist on it).
pub fn convert_body(converts: &[&LeadConvert]) -> String {
    fn field(b: &mut String, name: &str, value: &str) {
        b.push_str("<sf:");
        b.push_str(name);
        b.push('>');
        b.push_str(&escape(value));
        b.push_str("</sf:");
        b.push_str(name);
        b.push('>');
    }
    let mut b = String::from("<sf:convertLead>");
    for c in converts {
        b.push_str("<sf:leadConverts>");
        if let Some(a) = &c.account_id {
            field(&mut b, "accountId", a);
        }
        if let Some(k) = &c.contact_id {
            field(&mut b, "contactId", k);
        }
        field(&mut b, "convertedStatus", &c.converted_status);
        let skip_opportunity = if c.create_opportunity {
            "false"
        } else {
            "true"
        };
        field(&mut b, "doNotCreateOpportunity", skip_opportunity);
        field(&mut b, "leadId", &c.lead_id);
        field(&mut b, "overwriteLeadSource", "false");
        field(&mut b, "sendNotificationEmail", "false");
        b.push_str("</sf:leadConverts>");
    }
    b.push_str("</sf:convertLead>");
    b
}

/// An element of an answer: local name (prefix dropped), text, children, `xsi:nil`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    pub name: String,
    pub text: String,
    pub nil: bool,
    pub children: Vec<Node>,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// A child's trimmed text; None when absent, nil or empty.
    pub fn value(&self, name: &str) -> Option<String> {
        self.child(name)
            .filter(|c| !c.nil)
            .map(|c| c.text.trim().to_string())
            .filter(|t| !t.is_empty())
    }

    /// The first element named `name` at any depth (this one included).
    pub fn find(&self, name: &str) -> Option<&Node> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_string()
}

fn open(e: &quick_xml::events::BytesStart<'_>) -> Node {
    let nil = e
        .attributes()
        .flatten()
        .any(|a| a.key.local_name().as_ref() == "nil" && a.value.as_ref() == "true");
    Node {
        name: local(e.name().as_ref()),
        nil,
        ..Node::default()
    }
}

/// The document's root element.
pub fn parse(xml: &str) -> Result<Node, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let attach = |stack: &mut Vec<Node>, root: &mut Option<Node>, node: Node| match stack.last_mut()
    {
        Some(parent) => parent.children.push(node),
        None => *root = Some(node),
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("XML error at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                stack.push(open(&e));
            }
            Event::Empty(e) => {
                let node = open(&e);
                attach(&mut stack, &mut root, node);
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("an end tag without a start")?;
                attach(&mut stack, &mut root, node);
            }
            Event::Text(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => resolve_predefined_entity(&r)
                        .ok_or_else(|| format!("unknown entity &{};", &*r))?
                        .to_string(),
                    Err(e) => return Err(format!("bad character reference: {e}")),
                };
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&c);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.ok_or_else(|| "no root element".into())
}

/// A SOAP fault: `faultcode` without its `sf:` prefix, and `faultstring`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: String,
    pub message: String,
}

pub fn fault(body: &[u8]) -> Option<Fault> {
    let root = parse(std::str::from_utf8(body).ok()?).ok()?;
    let f = root.find("Fault")?;
    let raw = f
        .find("exceptionCode")
        .map(|n| n.text.trim().to_string())
        .filter(|c| !c.is_empty())
        .or_else(|| f.value("faultcode"))?;
    let code = raw.rsplit(':').next().unwrap_or(&raw).to_string();
    Some(Fault {
        code,
        message: f.value("faultstring").unwrap_or_default(),
    })
}

/// `(used, limit)` of the org's daily API requests, when the answer says.
pub type Usage = Option<(u64, u64)>;

/// `(used, limit)` from the `LimitInfoHeader` for API REQUESTS, SOAP's `Sforce-Limit-Info`.
pub fn limit_info(root: &Node) -> Usage {
    let header = root.find("LimitInfoHeader")?;
    header
        .all("limitInfo")
        .find(|l| l.value("type").is_some_and(|t| t == "API REQUESTS"))
        .and_then(|l| {
            Some((
                l.value("current")?.parse().ok()?,
                l.value("limit")?.parse().ok()?,
            ))
        })
}

fn body_of(xml: &[u8]) -> CrmResult<Node> {
    let text = std::str::from_utf8(xml)
        .map_err(|_| CrmError::Protocol("the SOAP answer is not UTF-8".into()))?;
    parse(text).map_err(|e| CrmError::Protocol(format!("the SOAP answer is not XML: {e}")))
}

fn errors(result: &Node) -> Option<RecordError> {
    let e = result.child("errors")?;
    let fields: Vec<String> = e.all("fields").map(|f| f.text.trim().to_string()).collect();
    let mut message = e.value("message").unwrap_or_default();
    if !fields.is_empty() {
        message = format!("{message} (fields: {})", fields.join(", "));
    }
    Some(RecordError {
        code: e.value("statusCode").unwrap_or_else(|| "UNKNOWN".into()),
        message,
    })
}

fn success(result: &Node, what: &str) -> CrmResult<bool> {
    match result.value("success").as_deref() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        other => Err(CrmError::Protocol(format!(
            "a {what} result's success is {other:?}, not true or false"
        ))),
    }
}

/// The results of one response element (`mergeResponse`, `convertLeadResponse`), and the
/// usage the header reported.
fn results(xml: &[u8], response: &str, want: usize) -> CrmResult<(Vec<Node>, Usage)> {
    let root = body_of(xml)?;
    let usage = limit_info(&root);
    let resp = root
        .find(response)
        .ok_or_else(|| CrmError::Protocol(format!("the SOAP answer has no {response}")))?;
    let results: Vec<Node> = resp.all("result").cloned().collect();
    if results.len() != want {
        return Err(CrmError::Protocol(format!(
            "{response} holds {} results for {want} requests",
            results.len()
        )));
    }
    Ok((results, usage))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeResult {
    pub merged: Vec<String>,
    pub error: Option<RecordError>,
}

pub fn merge_results(xml: &[u8], want: usize) -> CrmResult<(Vec<MergeResult>, Usage)> {
    let (nodes, usage) = results(xml, "mergeResponse", want)?;
    let out = nodes
        .iter()
        .map(|r| {
            let ok = success(r, "merge")?;
            Ok(MergeResult {
                merged: r
                    .all("mergedRecordIds")
                    .map(|n| n.text.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                error: if ok {
                    None
                } else {
                    Some(errors(r).unwrap_or(RecordError {
                        code: "UNKNOWN".into(),
                        message: "the merge failed without an error".into(),
                    }))
                },
            })
        })
        .collect::<CrmResult<Vec<_>>>()?;
    Ok((out, usage))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertResult {
    pub account_id: Option<String>,
    pub contact_id: Option<String>,
    pub opportunity_id: Option<String>,
    pub error: Option<RecordError>,
}

pub fn convert_results(xml: &[u8], want: usize) -> CrmResult<(Vec<ConvertResult>, Usage)> {
    let (nodes, usage) = results(xml, "convertLeadResponse", want)?;
    let out = nodes
        .iter()
        .map(|r| {
            let ok = success(r, "convertLead")?;
            Ok(ConvertResult {
                account_id: r.value("accountId"),
                contact_id: r.value("contactId"),
                opportunity_id: r.value("opportunityId"),
                error: if ok {
                    None
                } else {
                    Some(errors(r).unwrap_or(RecordError {
                        code: "UNKNOWN".into(),
                        message: "the conversion failed without an error".into(),
                    }))
                },
            })
        })
        .collect::<CrmResult<Vec<_>>>()?;
    Ok((out, usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_illegal_characters() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\td\r\ne"), "abc\td&#13;\ne");
        assert_eq!(escape("Ünïcödé ✓"), "Ünïcödé ✓");
        // What is escaped reads back as it was (less the characters XML cannot carry).
        let nasty = "</sf:sessionId><x>&amp;\"'\r\n";
        let doc = format!("<v>{}</v>", escape(nasty));
        assert_eq!(parse(&doc).unwrap().text, nasty);
    }

    #[test]
    fn a_merge_envelope_reads_back() {
        let body = merge_body(
            "Account",
            &[
                MergeRequest {
                    master: "001A".into(),
                    duplicates: vec!["001B".into(), "001C".into()],
                },
                MergeRequest {
                    master: "001D".into(),
                    duplicates: vec!["001E".into()],
                },
            ],
        );
        let env = envelope("00D!tok<&>", &body);
        let root = parse(&env).unwrap();
        assert_eq!(root.name, "Envelope");
        assert_eq!(root.find("sessionId").unwrap().text, "00D!tok<&>");
        let merge = root.find("merge").unwrap();
        let reqs: Vec<&Node> = merge.all("request").collect();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].find("Id").unwrap().text, "001A");
        assert_eq!(reqs[0].find("type").unwrap().text, "Account");
        assert_eq!(reqs[0].all("recordToMergeIds").count(), 2);
        assert_eq!(reqs[1].value("recordToMergeIds").unwrap(), "001E");
    }

    #[test]
    fn a_convert_envelope_carries_every_field() {
        let c = LeadConvert {
            lead_id: "00QA".into(),
            converted_status: "Closed - Converted & <done>".into(),
            account_id: Some("001A".into()),
            contact_id: None,
            create_opportunity: false,
        };
        let root = parse(&envelope("t", &convert_body(&[&c]))).unwrap();
        let lc = root.find("leadConverts").unwrap();
        assert_eq!(lc.value("leadId").unwrap(), "00QA");
        assert_eq!(
            lc.value("convertedStatus").unwrap(),
            "Closed - Converted & <done>"
        );
        assert_eq!(lc.value("accountId").unwrap(), "001A");
        assert!(lc.child("contactId").is_none());
        assert_eq!(lc.value("doNotCreateOpportunity").unwrap(), "true");
        let names: Vec<&str> = lc.children.iter().map(|c| c.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "WSDL sequence order");
    }

    const MERGE_OK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Header><LimitInfoHeader><limitInfo><current>42</current><limit>15000</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header>
 <soapenv:Body><mergeResponse>
  <result><id>001A</id><mergedRecordIds>001B</mergedRecordIds><mergedRecordIds>001C</mergedRecordIds><success>true</success><updatedRelatedIds>003X</updatedRelatedIds></result>
  <result><errors><fields>Name</fields><message>entity is deleted &amp; gone</message><statusCode>ENTITY_IS_DELETED</statusCode></errors><id xsi:nil="true"/><success>false</success></result>
 </mergeResponse></soapenv:Body></soapenv:Envelope>"#;

    #[test]
    fn merge_results_parse() {
        let (r, usage) = merge_results(MERGE_OK.as_bytes(), 2).unwrap();
        assert_eq!(usage, Some((42, 15000)));
        assert_eq!(r[0].merged, vec!["001B", "001C"]);
        assert_eq!(r[0].error, None);
        let e = r[1].error.as_ref().unwrap();
        assert_eq!(e.code, "ENTITY_IS_DELETED");
        assert_eq!(e.message, "entity is deleted & gone (fields: Name)");
        assert!(matches!(
            merge_results(MERGE_OK.as_bytes(), 3),
            Err(CrmError::Protocol(_))
        ));
        assert!(matches!(
            merge_results(b"<not xml", 1),
            Err(CrmError::Protocol(_))
        ));
        assert!(matches!(
            merge_results(
                b"<a><mergeResponse><result><success>maybe</success></result></mergeResponse></a>",
                1
            ),
            Err(CrmError::Protocol(_))
        ));
    }

    #[test]
    fn convert_results_parse() {
        let xml = r#"<Envelope><Body><convertLeadResponse><result><accountId>001A</accountId><contactId>003A</contactId><leadId>00QA</leadId><opportunityId xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/><success>true</success></result></convertLeadResponse></Body></Envelope>"#;
        let (r, _) = convert_results(xml.as_bytes(), 1).unwrap();
        assert_eq!(
            r[0],
            ConvertResult {
                account_id: Some("001A".into()),
                contact_id: Some("003A".into()),
                opportunity_id: None,
                error: None
            }
        );
    }

    #[test]
    fn faults_parse() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let f = fault(xml.as_bytes()).unwrap();
        assert_eq!(f.code, "INVALID_SESSION_ID");
        assert!(f.message.starts_with("INVALID_SESSION_ID: Invalid"));
        assert_eq!(fault(b"[{\"errorCode\":\"SERVER_ERROR\"}]"), None);
        assert_eq!(fault(MERGE_OK.as_bytes()), None);
    }

    #[test]
    fn hostile_documents_are_refused() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
        assert!(parse("<a>&xxe;</a>").is_err());
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
    }
}
