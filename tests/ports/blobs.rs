use bytes::Bytes;
use std::time::Duration;
use steward_shared::Error;
use steward_shared::ports::BlobWriter;
use steward_shared::ports::blobs::MIN_PART_BYTES;
use steward_tests::{World, both};

both!(
    put_get_delete,
    ranges_read_part_of_a_blob,
    a_large_blob_streams_in_parts,
    a_small_blob_through_the_writer_is_one_put,
    an_aborted_upload_publishes_nothing,
    presigned_links_are_bounded_and_name_the_key,
    unsafe_keys_are_refused,
);

fn key(name: &str) -> String {
    format!("runs/hubspot:42/{}-{name}", ulid::Ulid::new())
}

async fn put_get_delete(w: &dyn World) {
    let b = &w.services().blobs;
    let k = key("a.csv");
    assert_eq!(b.get(&k).await.unwrap(), None);
    b.put(&k, Bytes::from_static(b"id,name\n1,Ann\n"), "text/csv")
        .await
        .unwrap();
    let got = b.get(&k).await.unwrap().unwrap();
    assert_eq!(got.bytes, Bytes::from_static(b"id,name\n1,Ann\n"));
    assert_eq!(got.content_type, "text/csv");
    b.put(&k, Bytes::from_static(b"v2"), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        b.get(&k).await.unwrap().unwrap().bytes,
        Bytes::from_static(b"v2")
    );
    b.delete(&k).await.unwrap();
    assert_eq!(b.get(&k).await.unwrap(), None);
    b.delete(&k).await.unwrap();
}

async fn ranges_read_part_of_a_blob(w: &dyn World) {
    let b = &w.services().blobs;
    let k = key("ranged.csv");
    assert_eq!(b.get_range(&k, 0, 10).await.unwrap(), None);
    b.put(&k, Bytes::from_static(b"id,name\r\n1,Ann\r\n"), "text/csv")
        .await
        .unwrap();
    let k = k.as_str();
    let range = |start, len| async move { b.get_range(k, start, len).await.unwrap().unwrap() };
    assert_eq!(range(0, 2).await, Bytes::from_static(b"id"));
    assert_eq!(range(9, 3).await, Bytes::from_static(b"1,A"));
    assert_eq!(
        range(12, 100).await,
        Bytes::from_static(b"nn\r\n"),
        "fewer at the end"
    );
    assert_eq!(range(16, 10).await, Bytes::new(), "none at the end");
    assert_eq!(range(99, 10).await, Bytes::new(), "none past it");
    assert_eq!(range(3, 0).await, Bytes::new());
}

/// Deterministic, non-repeating-ish content so a misplaced part is noticed.
fn content(len: usize) -> Vec<u8> {
    let mut x: u32 = 2463534242;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .collect()
}

async fn a_large_blob_streams_in_parts(w: &dyn World) {
    let b = w.services().blobs.clone();
    let k = key("big.csv");
    let data = content(2 * MIN_PART_BYTES + 123_457);
    let mut writer = BlobWriter::with_part_size(b.clone(), &k, "text/csv", MIN_PART_BYTES).unwrap();
    // Odd-sized writes, as a CSV writer would make.
    for chunk in data.chunks(65_521) {
        writer.write(chunk).await.unwrap();
    }
    assert_eq!(
        b.get(&k).await.unwrap(),
        None,
        "nothing is visible before finish"
    );
    assert_eq!(writer.finish().await.unwrap(), data.len() as u64);
    let got = b.get(&k).await.unwrap().unwrap();
    assert_eq!(got.bytes.len(), data.len());
    assert!(got.bytes == data, "content differs");
    assert_eq!(got.content_type, "text/csv");
}

async fn a_small_blob_through_the_writer_is_one_put(w: &dyn World) {
    let b = w.services().blobs.clone();
    let k = key("small.csv");
    let mut writer = BlobWriter::new(b.clone(), &k, "text/csv").unwrap();
    writer.write(b"a,b\n").await.unwrap();
    writer.write(b"1,2\n").await.unwrap();
    writer.finish().await.unwrap();
    assert_eq!(
        b.get(&k).await.unwrap().unwrap().bytes,
        Bytes::from_static(b"a,b\n1,2\n")
    );
    let empty = key("empty.csv");
    BlobWriter::new(b.clone(), &empty, "text/csv")
        .unwrap()
        .finish()
        .await
        .unwrap();
    assert_eq!(b.get(&empty).await.unwrap().unwrap().bytes.len(), 0);
}

async fn an_aborted_upload_publishes_nothing(w: &dyn World) {
    let b = &w.services().blobs;
    let k = key("aborted.csv");
    let mut up = b.start_upload(&k, "text/csv").await.unwrap();
    up.put_part(Bytes::from(content(MIN_PART_BYTES)))
        .await
        .unwrap();
    up.abort().await.unwrap();
    assert_eq!(b.get(&k).await.unwrap(), None);
}

async fn presigned_links_are_bounded_and_name_the_key(w: &dyn World) {
    let b = &w.services().blobs;
    let k = key("report.csv");
    b.put(&k, Bytes::from_static(b"x"), "text/csv")
        .await
        .unwrap();
    let url = b
        .presigned_get(&k, Duration::from_secs(900), Some("steward-run-01J.csv"))
        .await
        .unwrap();
    assert!(url.starts_with("http"), "{url}");
    assert!(url.contains(k.rsplit('/').next().unwrap()), "{url}");
    for bad in [Duration::ZERO, Duration::from_secs(7 * 24 * 3600 + 1)] {
        let r = b.presigned_get(&k, bad, None).await;
        assert!(matches!(r, Err(Error::Invalid { .. })), "{bad:?}: {r:?}");
    }
}

async fn unsafe_keys_are_refused(w: &dyn World) {
    let b = &w.services().blobs;
    for bad in ["../etc/passwd", "/abs", "a//b", "sp ace"] {
        let r = b.put(bad, Bytes::from_static(b"x"), "text/plain").await;
        assert!(matches!(r, Err(Error::Invalid { .. })), "{bad}: {r:?}");
        assert!(matches!(b.get(bad).await, Err(Error::Invalid { .. })));
    }
}

/// S3's presigned URL is fetched for real from the emulator (the embedded one is fetched
/// through `steward serve` in its own tests).
#[tokio::test]
async fn an_s3_presigned_url_downloads_the_object() {
    let w = steward_tests::AwsWorld::new().await;
    let b = &w.services.blobs;
    let k = key("dl.csv");
    b.put(&k, Bytes::from_static(b"id\n1\n"), "text/csv")
        .await
        .unwrap();
    let url = b
        .presigned_get(&k, Duration::from_secs(60), Some("run.csv"))
        .await
        .unwrap();
    let resp = steward_shared::tls::client()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap(), Bytes::from_static(b"id\n1\n"));
}
