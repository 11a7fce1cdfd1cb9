use bytes::Bytes;
use mail_parser::{MessageParser, MimeHeaders};
use steward_shared::Error;
use steward_shared::ports::{Attachment, Email};
use steward_tests::{World, both};

both!(
    a_report_arrives_with_its_attachment,
    header_injection_is_refused_before_sending,
    an_internationalized_domain_arrives_in_punycode_and_a_non_ascii_local_part_is_refused
);

async fn a_report_arrives_with_its_attachment(w: &dyn World) {
    let subject = format!("Run {} finished", ulid::Ulid::new());
    let csv = "record_id,field,before,after\n1,name,JOHN smith,John Smith\n";
    let email = Email {
        to: vec!["ops@example.com".into(), "vendor@example.org".into()],
        subject: subject.clone(),
        text: "3 records changed.".into(),
        html: Some("<p>3 records changed.</p>".into()),
        attachments: vec![Attachment {
            filename: "steward-run-01JABC.csv".into(),
            content_type: "text/csv".into(),
            bytes: Bytes::from(csv),
        }],
        ..Default::default()
    };
    let id = w.services().mailer.send(&email).await.unwrap();
    assert!(!id.is_empty());
    let raw = w.sent_mail(&subject).await;
    let msg = MessageParser::default().parse(&raw).unwrap();
    let to: Vec<_> = msg
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, vec!["ops@example.com", "vendor@example.org"]);
    assert_eq!(
        msg.body_text(0).as_deref().map(str::trim),
        Some("3 records changed.")
    );
    let att = msg.attachments().next().expect("an attachment");
    assert_eq!(att.attachment_name(), Some("steward-run-01JABC.csv"));
    assert_eq!(att.contents(), csv.as_bytes());
}

async fn header_injection_is_refused_before_sending(w: &dyn World) {
    let email = Email {
        to: vec!["ops@example.com\r\nBcc: everyone@example.com".into()],
        subject: "hello".into(),
        text: "x".into(),
        ..Default::default()
    };
    let r = w.services().mailer.send(&email).await;
    assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
}

async fn an_internationalized_domain_arrives_in_punycode_and_a_non_ascii_local_part_is_refused(
    w: &dyn World,
) {
    let subject = format!("Umlauts {}", ulid::Ulid::new());
    let email = Email {
        to: vec!["ops@bücher.example".into()],
        subject: subject.clone(),
        text: "x".into(),
        ..Default::default()
    };
    w.services().mailer.send(&email).await.unwrap();
    let raw = w.sent_mail(&subject).await;
    let head = String::from_utf8_lossy(&raw);
    let head = head.split("\r\n\r\n").next().unwrap();
    assert!(head.is_ascii(), "{head}");
    assert!(head.contains("<ops@xn--bcher-kva.example>"), "{head}");
    let refused = Email {
        to: vec!["jösé@example.com".into()],
        subject: "x".into(),
        text: "x".into(),
        ..Default::default()
    };
    let r = w.services().mailer.send(&refused).await;
    assert!(
        matches!(&r, Err(Error::Invalid { detail, .. }) if detail.contains("plain ASCII")),
        "{r:?}"
    );
}
