use serde_json::json;
use steward_shared::Error;
use steward_shared::ports::items::{Versioned, update};
use steward_shared::ports::{Condition, Item, Query, WriteOp};
use steward_tests::{World, both};

both!(
    get_of_a_missing_item_is_none,
    put_if_absent_creates_once,
    put_if_version_is_optimistic_concurrency,
    delete_with_and_without_a_version,
    query_pages_a_partition_by_prefix_in_both_orders,
    query_all_reads_every_page_of_the_prefix,
    update_changes_the_value_as_stored_after_a_lost_race,
    a_cursor_from_elsewhere_is_refused,
    expired_items_are_gone_for_reads_and_writes,
    batch_write_spans_chunks_and_refuses_duplicates,
    the_secondary_index_is_queried_and_kept_in_step,
    data_round_trips_and_size_is_limited,
);

fn acct() -> String {
    format!("ACCT#{}", ulid::Ulid::new())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn get_of_a_missing_item_is_none(w: &dyn World) {
    let s = &w.services().items;
    assert_eq!(s.get(&acct(), "META").await.unwrap(), None);
}

async fn put_if_absent_creates_once(w: &dyn World) {
    let s = &w.services().items;
    let pk = acct();
    let v = s
        .put_if_absent(Item::new(&pk, "META").with("name", "Acme"))
        .await
        .unwrap();
    assert_eq!(v, 1);
    let again = s
        .put_if_absent(Item::new(&pk, "META").with("name", "Other"))
        .await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
    let got = s.get(&pk, "META").await.unwrap().unwrap();
    assert_eq!(got.data["name"], "Acme");
    assert_eq!(got.version, 1);
}

async fn put_if_version_is_optimistic_concurrency(w: &dyn World) {
    let s = &w.services().items;
    let pk = acct();
    s.put_if_absent(Item::new(&pk, "TPL#1").with("n", 0))
        .await
        .unwrap();
    let v2 = s
        .put_if_version(Item::new(&pk, "TPL#1").with("n", 1), 1)
        .await
        .unwrap();
    assert_eq!(v2, 2);
    // A writer that read version 1 lost the race.
    let stale = s
        .put_if_version(Item::new(&pk, "TPL#1").with("n", 99), 1)
        .await;
    assert!(matches!(stale, Err(Error::Conflict(_))), "{stale:?}");
    // A version condition on a missing item fails too.
    let missing = s.put_if_version(Item::new(&pk, "TPL#2"), 1).await;
    assert!(matches!(missing, Err(Error::Conflict(_))), "{missing:?}");
    let got = s.get(&pk, "TPL#1").await.unwrap().unwrap();
    assert_eq!((got.version, got.data["n"].clone()), (2, json!(1)));
    // An unconditional put stores the version it is given.
    let v = s
        .put(
            Item {
                version: 7,
                ..Item::new(&pk, "TPL#3")
            },
            Condition::None,
        )
        .await
        .unwrap();
    assert_eq!(v, 7);
    assert_eq!(s.get(&pk, "TPL#3").await.unwrap().unwrap().version, 7);
}

async fn delete_with_and_without_a_version(w: &dyn World) {
    let s = &w.services().items;
    let pk = acct();
    s.delete(&pk, "nothing", None).await.unwrap();
    s.put_if_absent(Item::new(&pk, "A")).await.unwrap();
    let wrong = s.delete(&pk, "A", Some(5)).await;
    assert!(matches!(wrong, Err(Error::Conflict(_))), "{wrong:?}");
    assert!(s.get(&pk, "A").await.unwrap().is_some());
    s.delete(&pk, "A", Some(1)).await.unwrap();
    assert!(s.get(&pk, "A").await.unwrap().is_none());
}

async fn collect(w: &dyn World, q: Query) -> Vec<String> {
    let s = &w.services().items;
    let mut out = Vec::new();
    let mut q = q;
    let mut pages = 0;
    loop {
        let page = s.query(&q).await.unwrap();
        assert!(page.items.len() <= q.limit as usize);
        out.extend(page.items.iter().map(|i| i.sk.clone()));
        pages += 1;
        assert!(pages < 100, "paging does not end");
        match page.cursor {
            Some(c) => q = q.after(Some(c)),
            None => return out,
        }
    }
}

async fn query_pages_a_partition_by_prefix_in_both_orders(w: &dyn World) {
    let s = &w.services().items;
    let pk = acct();
    let other = acct();
    let mut ops: Vec<WriteOp> = (0..23)
        .map(|i| WriteOp::Put(Item::new(&pk, format!("RUN#{i:03}")).with("i", i)))
        .collect();
    ops.push(WriteOp::Put(Item::new(&pk, "TPL#x")));
    ops.push(WriteOp::Put(Item::new(&pk, "META")));
    ops.push(WriteOp::Put(Item::new(&other, "RUN#000")));
    s.batch_write(ops).await.unwrap();

    let expected: Vec<String> = (0..23).map(|i| format!("RUN#{i:03}")).collect();
    let asc = collect(w, Query::partition(&pk).prefix("RUN#").limit(10)).await;
    assert_eq!(asc, expected);
    let desc = collect(
        w,
        Query::partition(&pk).prefix("RUN#").limit(7).newest_first(),
    )
    .await;
    let mut rev = expected.clone();
    rev.reverse();
    assert_eq!(desc, rev);
    let first = s
        .query(&Query::partition(&pk).prefix("RUN#").limit(5))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 5);
    assert!(first.cursor.is_some());
    let all = collect(w, Query::partition(&pk)).await;
    assert_eq!(all.len(), 25);
    assert_eq!(all.first().map(String::as_str), Some("META"));
    let bad_limit = s.query(&Query::partition(&pk).limit(0)).await;
    assert!(matches!(bad_limit, Err(Error::Invalid { .. })));
}

async fn query_all_reads_every_page_of_the_prefix(w: &dyn World) {
    let s = &w.services().items;
    let pk = acct();
    let mut ops: Vec<WriteOp> = (0..23)
        .map(|i| WriteOp::Put(Item::new(&pk, format!("RUN#{i:03}"))))
        .collect();
    ops.push(WriteOp::Put(Item::new(&pk, "TPL#x")));
    s.batch_write(ops).await.unwrap();
    // Three pages of ten, in order, the other prefix left out.
    let all = s
        .query_all(Query::partition(&pk).prefix("RUN#").limit(10))
        .await
        .unwrap();
    let sks: Vec<String> = all.into_iter().map(|i| i.sk).collect();
    let expected: Vec<String> = (0..23).map(|i| format!("RUN#{i:03}")).collect();
    assert_eq!(sks, expected);
    let none = s
        .query_all(Query::partition(acct()).prefix("RUN#"))
        .await
        .unwrap();
    assert!(none.is_empty());
}

struct Counter {
    n: i64,
    version: u64,
}

impl Versioned for Counter {
    fn version_mut(&mut self) -> &mut u64 {
        &mut self.version
    }
}

/// `update` with another writer getting in once between its first read and its put.
async fn update_changes_the_value_as_stored_after_a_lost_race(w: &dyn World) {
    let s = w.services().items.clone();
    let pk = acct();
    s.put(Item::new(&pk, "C").with("n", 0), Condition::Absent)
        .await
        .unwrap();
    let item_of = |n: i64, version: u64| Item::of(pk.clone(), "C", version, &json!({"n": n}));
    let counter = |i: Item| Counter {
        n: i.data["n"].as_i64().unwrap(),
        version: i.version,
    };
    let add_one = |c: &mut Counter| {
        c.n += 1;
        item_of(c.n, c.version).map(Some)
    };
    let reads = std::sync::atomic::AtomicUsize::new(0);
    let read = || async {
        let read = counter(s.get(&pk, "C").await?.unwrap());
        if reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            let other = item_of(read.n + 10, read.version)?;
            s.put(other, Condition::Version(read.version)).await?;
        }
        Ok(read)
    };
    let done = update(s.as_ref(), 3, read, add_one).await.unwrap().unwrap();
    assert_eq!(
        done.n, 11,
        "the change is made again on what the other writer stored"
    );
    assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
    let stored = counter(s.get(&pk, "C").await.unwrap().unwrap());
    assert_eq!((stored.n, stored.version), (11, done.version));

    // With one try, the lost race is reported and nothing of this writer's is stored.
    reads.store(0, std::sync::atomic::Ordering::SeqCst);
    let lost = update(s.as_ref(), 1, read, add_one).await.unwrap();
    assert!(lost.is_none());
    assert_eq!(counter(s.get(&pk, "C").await.unwrap().unwrap()).n, 21);

    // Nothing to store: the value comes back as read, the item untouched.
    let as_read = update(
        s.as_ref(),
        3,
        || async { Ok(counter(s.get(&pk, "C").await?.unwrap())) },
        |_| Ok(None),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(as_read.n, 21);
}

async fn a_cursor_from_elsewhere_is_refused(w: &dyn World) {
    let s = &w.services().items;
    let (a, b) = (acct(), acct());
    s.batch_write(
        (0..3)
            .map(|i| WriteOp::Put(Item::new(&a, format!("R#{i}"))))
            .collect(),
    )
    .await
    .unwrap();
    let page = s.query(&Query::partition(&a).limit(1)).await.unwrap();
    let foreign = s.query(&Query::partition(&b).after(page.cursor)).await;
    assert!(matches!(foreign, Err(Error::Invalid { .. })), "{foreign:?}");
    let garbage = s
        .query(&Query::partition(&a).after(Some("%%%".into())))
        .await;
    assert!(matches!(garbage, Err(Error::Invalid { .. })), "{garbage:?}");
}

async fn expired_items_are_gone_for_reads_and_writes(w: &dyn World) {
    let s = &w.services().items;
    let pk = acct();
    s.put(
        Item::new(&pk, "SESSION")
            .with("u", 1)
            .expiring_at(now() - 10),
        Condition::None,
    )
    .await
    .unwrap();
    s.put(
        Item::new(&pk, "LIVE").expiring_at(now() + 3600),
        Condition::None,
    )
    .await
    .unwrap();
    assert_eq!(s.get(&pk, "SESSION").await.unwrap(), None);
    assert!(s.get(&pk, "LIVE").await.unwrap().is_some());
    assert_eq!(collect(w, Query::partition(&pk)).await, vec!["LIVE"]);
    // An expired item counts as absent: the key can be claimed again.
    assert_eq!(
        s.put_if_absent(Item::new(&pk, "SESSION").with("u", 2))
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.get(&pk, "SESSION").await.unwrap().unwrap().data["u"], 2);
}

async fn batch_write_spans_chunks_and_refuses_duplicates(w: &dyn World) {
    let s = &w.services().items;
    let pk = acct();
    let puts = (0..60)
        .map(|i| WriteOp::Put(Item::new(&pk, format!("U#{i:02}"))))
        .collect();
    s.batch_write(puts).await.unwrap();
    assert_eq!(
        collect(w, Query::partition(&pk).limit(1000)).await.len(),
        60
    );
    let deletes = (0..30)
        .map(|i| WriteOp::Delete {
            pk: pk.clone(),
            sk: format!("U#{i:02}"),
        })
        .collect();
    s.batch_write(deletes).await.unwrap();
    let left = collect(w, Query::partition(&pk).limit(1000)).await;
    assert_eq!(left.len(), 30);
    assert_eq!(left[0], "U#30");
    let dup = s
        .batch_write(vec![
            WriteOp::Put(Item::new(&pk, "D")),
            WriteOp::Delete {
                pk: pk.clone(),
                sk: "D".into(),
            },
        ])
        .await;
    assert!(matches!(dup, Err(Error::Invalid { .. })), "{dup:?}");
    assert!(
        s.get(&pk, "D").await.unwrap().is_none(),
        "a refused batch wrote nothing"
    );
}

async fn the_secondary_index_is_queried_and_kept_in_step(w: &dyn World) {
    let s = &w.services().items;
    let (pk, member) = (acct(), format!("MEMBER#{}", ulid::Ulid::new()));
    for i in 0..5 {
        s.put_if_absent(
            Item::new(&pk, format!("RUN#{i}")).indexed(&member, format!("2026-11-0{i}")),
        )
        .await
        .unwrap();
    }
    // Same index sort key on two items: both are listed, once each.
    s.put_if_absent(Item::new(&pk, "RUN#dup").indexed(&member, "2026-11-04"))
        .await
        .unwrap();
    let got = collect(w, Query::partition(&member).on_gsi1().limit(2)).await;
    assert_eq!(got.len(), 6, "{got:?}");
    let newest = s
        .query(&Query::partition(&member).on_gsi1().newest_first().limit(1))
        .await
        .unwrap();
    assert_eq!(newest.items[0].gsi1.as_ref().unwrap().1, "2026-11-04");
    let prefixed = collect(w, Query::partition(&member).on_gsi1().prefix("2026-11-0")).await;
    assert_eq!(prefixed.len(), 6);
    // Re-indexing an item moves it in the index; deleting removes it.
    s.put(
        Item::new(&pk, "RUN#0").indexed("MEMBER#someone-else", "x"),
        Condition::None,
    )
    .await
    .unwrap();
    s.delete(&pk, "RUN#1", None).await.unwrap();
    let got = collect(w, Query::partition(&member).on_gsi1()).await;
    assert_eq!(got.len(), 4, "{got:?}");
}

async fn data_round_trips_and_size_is_limited(w: &dyn World) {
    let s = &w.services().items;
    let pk = acct();
    let data = json!({"name": "Zoë", "n": -3, "big": 9007199254740993u64, "f": 0.25,
        "ok": true, "none": null, "list": [1, "two", {"three": [3]}], "map": {"a": {"b": "c"}}});
    let mut item = Item::new(&pk, "X");
    item.data = data.as_object().unwrap().clone();
    s.put_if_absent(item).await.unwrap();
    let got = s.get(&pk, "X").await.unwrap().unwrap();
    assert_eq!(serde_json::Value::Object(got.data), data);
    let huge = Item::new(&pk, "HUGE").with("blob", "x".repeat(401 * 1024));
    let res = s.put_if_absent(huge).await;
    assert!(matches!(res, Err(Error::Invalid { .. })), "{res:?}");
    let nul = s.put_if_absent(Item::new(&pk, "a\0b")).await;
    assert!(matches!(nul, Err(Error::Invalid { .. })), "{nul:?}");
}
