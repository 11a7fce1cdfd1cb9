//! A stand-in for the Lambda Runtime API on loopback, and a Lambda binary run against it
//! with one event carrying marker secrets, at `RUST_LOG=trace`: what each function's
//! "nothing secret in any log at any level" test feeds and reads.

use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Every secret the marked events and the CRM apps' secret carry starts with this.
pub const MARKER: &str = "MARKER";

/// Serves the Runtime API on `listener`: hands out `event` once (later `next` calls wait
/// forever, as on an idle Lambda), and reports the function's answer (the request line of
/// its `response` or `error` call, then its body).
pub fn serve_one(listener: std::net::TcpListener, event: String) -> oneshot::Receiver<String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let (answered, answer) = oneshot::channel::<String>();
    let answered = Arc::new(Mutex::new(Some(answered)));
    let event = Arc::new(Mutex::new(Some(event)));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (answered, event) = (answered.clone(), event.clone());
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                loop {
                    let mut head = Vec::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if socket.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push(line.trim_end().to_string());
                    }
                    let length = head
                        .iter()
                        .find_map(|h| {
                            h.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    if socket.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let request = head.first().cloned().unwrap_or_default();
                    let reply = if request.starts_with("GET")
                        && request.contains("/invocation/next")
                    {
                        let Some(event) = event.lock().unwrap().take() else {
                            std::future::pending::<()>().await;
                            return;
                        };
                        let deadline = chrono::Utc::now().timestamp_millis() + 120_000;
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             lambda-runtime-aws-request-id: req-1\r\n\
                             lambda-runtime-deadline-ms: {deadline}\r\n\
                             lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:steward\r\n\
                             content-length: {}\r\n\r\n{event}",
                            event.len()
                        )
                    } else {
                        if let Some(tx) = answered.lock().unwrap().take() {
                            let _ =
                                tx.send(format!("{request} {}", String::from_utf8_lossy(&body)));
                        }
                        "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_string()
                    };
                    if socket.get_mut().write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    answer
}

/// An API Gateway (HTTP API) event for `method path?query`, with every secret a request
/// can carry a marker: session and OAuth-binding cookies, CSRF token, a bearer token,
/// the OAuth code and state in the query.
pub fn marked_http_event(method: &str, path: &str) -> String {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "code=MARKER-code&state=MARKER-state",
        "cookies": ["steward_session=MARKER-session", "steward_oauth=MARKER-binding"],
        "headers": {
            "host": "steward.example.com",
            "x-csrf-token": "MARKER-csrf",
            "authorization": "Bearer MARKER-bearer"
        },
        "queryStringParameters": {"code": "MARKER-code", "state": "MARKER-state"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "steward.example.com",
            "domainPrefix": "steward",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "test"
            },
            "requestId": "r1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "03/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1_796_292_000_000_i64
        },
        "isBase64Encoded": false
    })
    .to_string()
}

/// What a Lambda binary did with one event.
pub struct Ran {
    /// The runtime call it answered with: `POST .../response <body>` or `.../error`.
    pub answer: String,
    /// Everything it wrote, stdout then stderr.
    pub logs: String,
}

/// Runs the Lambda binary `exe` on one `event`, with only `env` (and the runtime's own
/// variables) in its environment, at `RUST_LOG=trace` with JSON logs; stops it once it
/// answered. Its CRM apps' client secrets, if it reads them, are markers.
pub async fn run_binary(exe: &str, event: String, env: &[(String, String)]) -> Ran {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = listener.local_addr().unwrap().to_string();
    let answer = serve_one(listener, event);
    let mut child = tokio::process::Command::new(exe)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &at)
        .env("AWS_LAMBDA_FUNCTION_NAME", "steward")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("RUST_LOG", "trace")
        .env("STEWARD_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {exe}: {e}"));
    let answer = tokio::select! {
        a = answer => a.expect("the runtime stub answered"),
        status = child.wait() => {
            let out = child.wait_with_output().await.unwrap();
            panic!(
                "{exe} exited ({status:?}) before answering: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        }
        _ = tokio::time::sleep(std::time::Duration::from_secs(120)) => panic!("{exe}: no answer in 120 s"),
    };
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();
    Ran {
        answer,
        logs: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The environment of a Lambda function of `world`'s stack, its CRM apps' client secrets
/// (markers) in a Secrets Manager secret as on AWS.
pub async fn lambda_env(world: &crate::AwsWorld) -> Vec<(String, String)> {
    let s = &world.settings;
    let secret = world
        .clients
        .secrets
        .create_secret()
        .name(format!("{}apps", s.secrets_prefix))
        .secret_string(
            json!({
                "STEWARD_HUBSPOT_CLIENT_SECRET": "MARKER-hubspot-client-secret",
                "STEWARD_SALESFORCE_CLIENT_SECRET": "MARKER-salesforce-client-secret"
            })
            .to_string(),
        )
        .send()
        .await
        .expect("the CRM apps' secret");
    let pairs = [
        ("AWS_REGION", s.region.clone()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        (
            "STEWARD_AWS_ENDPOINT",
            s.endpoint.clone().unwrap_or_default(),
        ),
        ("STEWARD_WEB_BASE_URL", "https://steward.example.com".into()),
        ("STEWARD_TABLE", s.table.clone()),
        ("STEWARD_BUCKET", s.bucket.clone()),
        ("STEWARD_MAIL_FROM", s.mail_from.clone()),
        ("STEWARD_SCHEDULE_GROUP", s.schedule_group.clone()),
        ("STEWARD_SCHEDULER_ROLE_ARN", s.scheduler_role_arn.clone()),
        ("STEWARD_SCHEDULE_TARGET_ARN", s.schedule_target_arn.clone()),
        (
            "STEWARD_SCHEDULE_DLQ_ARN",
            s.schedule_dead_letter_arn.clone(),
        ),
        ("STEWARD_SECRETS_PREFIX", s.secrets_prefix.clone()),
        ("STEWARD_HUBSPOT_CLIENT_ID", "hubspot-app".into()),
        ("STEWARD_SALESFORCE_CLIENT_ID", "salesforce-app".into()),
        (
            "STEWARD_CRM_APPS_SECRET",
            secret.arn().expect("an ARN").to_string(),
        ),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Runs `exe` on `event` and checks what a CloudWatch reader would see: the function
/// answered, logged at trace (Steward's own lines are there), and no marker anywhere.
pub async fn assert_no_marker_logged(exe: &str, event: String) -> Ran {
    let world = crate::AwsWorld::new().await;
    let env = lambda_env(&world).await;
    let ran = run_binary(exe, event, &env).await;
    assert!(
        ran.answer.contains("/invocation/req-1/response"),
        "{exe} answered: {}\n{}",
        ran.answer,
        ran.logs
    );
    assert!(!ran.logs.trim().is_empty(), "{exe} logged nothing at trace");
    assert!(
        !ran.logs.contains(MARKER),
        "{exe} logged a secret: {}",
        ran.logs
    );
    ran
}

/// The sample stream event `events/<sample>` with a marker in each new image, where a
/// raw-event log would show it.
pub fn marked_stream_event(sample: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(sample);
    let mut event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("a sample stream event");
    for record in event["Records"].as_array_mut().expect("Records") {
        record["dynamodb"]["NewImage"]["data"]["M"]["marker"] = json!({"S": "MARKER-stream"});
    }
    event.to_string()
}
