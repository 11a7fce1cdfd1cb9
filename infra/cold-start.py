#!/usr/bin/env python3
"""Measures Lambda cold start of Steward's function binaries on this machine.

Plays the Lambda Runtime API on a free loopback port, starts a function binary as
Lambda would, and times (1) init: process start to its first `GET .../invocation/next`,
and (2) the first invocation: handing it `events/<event>` to its response. No AWS is
contacted: the functions build their SDK clients at init but send nothing until asked.

Usage: infra/cold-start.py [--runs N] BINARY:EVENT [BINARY:EVENT ...]
  e.g. infra/cold-start.py target/release/auth:health.json target/release/runs:runs-health.json
"""
import argparse, http.server, json, os, socket, statistics, subprocess, sys, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def measure(binary, event):
    state = {"first_next": None, "response": None, "served": False, "body": None}
    done = threading.Event()

    class Api(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path.endswith("/invocation/next"):
                if state["served"]:
                    return  # the function waits here for the next event; we are done
                state["first_next"] = time.perf_counter()
                state["served"] = True
                body = event.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:f")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            state["body"] = self.rfile.read(length)
            state["response"] = time.perf_counter()
            self.send_response(202)
            self.end_headers()
            done.set()

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "steward-coldstart",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "cold", "AWS_SECRET_ACCESS_KEY": "start",
        "AWS_EC2_METADATA_DISABLED": "true",
        "STEWARD_WEB_BASE_URL": "https://steward.example.com",
        "STEWARD_TABLE": "t", "STEWARD_BUCKET": "b", "STEWARD_MAIL_FROM": "steward@example.com",
        "STEWARD_SCHEDULE_GROUP": "g",
        "STEWARD_SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
        "STEWARD_SCHEDULE_TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "STEWARD_SCHEDULE_DLQ_ARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "STEWARD_SECRETS_PREFIX": "steward/",
        "STEWARD_LOG_FORMAT": "json", "RUST_LOG": "warn",
    })
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ok = done.wait(20)
    proc.kill()
    err = proc.communicate()[1].decode(errors="replace")
    server.shutdown()
    if not ok:
        sys.exit(f"{binary}: no response within 20 s; stderr:\n{err}")
    status = json.loads(state["body"]).get("statusCode")
    return (state["first_next"] - start) * 1000, (state["response"] - state["first_next"]) * 1000, status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("targets", nargs="+")
    args = ap.parse_args()
    print(f"{'binary':<28} {'init ms (median)':>17} {'min':>7} {'first invocation ms':>20} {'status':>6}")
    for target in args.targets:
        binary, event_name = target.rsplit(":", 1)
        event = open(os.path.join(ROOT, "events", event_name)).read()
        results = [measure(binary, event) for _ in range(args.runs)]
        inits = [r[0] for r in results]
        firsts = [r[1] for r in results]
        print(f"{os.path.basename(binary):<28} {statistics.median(inits):>17.1f} {min(inits):>7.1f} "
              f"{statistics.median(firsts):>20.1f} {results[0][2]:>6}")


if __name__ == "__main__":
    main()
